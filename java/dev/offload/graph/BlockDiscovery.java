package dev.offload.graph;

import dev.offload.OffloadException;
import dev.offload.checkpoint.Checkpoint;
import dev.offload.checkpoint.TensorInfo;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Predicate;

/**
 * Finds the block structure of a checkpoint from tensor names.
 *
 * <p>Rules (each can be overridden):
 * <ol>
 *   <li><b>Block lists.</b> A tensor's block is given by the first dot-separated segment of its name
 *       that is a number: {@code model.layers.12.mlp.up.weight} is block 12 of list
 *       {@code model.layers}. A prefix with at least two distinct numbers is a block list; its blocks
 *       run in numeric order, tensors inside a block in name order. Except an {@code nn.Sequential}
 *       of single layers with activations between them: when every tensor of the prefix is a
 *       layer's own parameter ({@code text_embedding.0.weight}, nothing deeper) and the numbers have
 *       gaps (0, 2), it is no block list (Wan's {@code text_embedding} and {@code time_embedding}).</li>
 *   <li><b>Order of lists.</b> Lists whose last prefix segment starts with {@code single} run after
 *       the others (Flux and HunyuanVideo run double-stream blocks, then single-stream ones); lists
 *       whose prefix contains {@code decoder} run after the others (encoders first); ties by prefix
 *       name. {@link #listOrder(List)} replaces this with an explicit order.</li>
 *   <li><b>Head and tail.</b> Tensors outside every list are the tail when a segment of their name is
 *       one of {@value #TAIL_WORDS_TEXT}, or they are a {@code norm} at most three segments deep
 *       ({@code model.norm.weight}); all others are the head. Head and tail are in name order.
 *       {@link #tail(Predicate)} replaces this rule.</li>
 * </ol>
 */
public final class BlockDiscovery {
    static final String TAIL_WORDS_TEXT = "norm_out, proj_out, lm_head, final_layer, final_layernorm, final_layer_norm, final_norm, ln_f, norm_f, output, head";
    private static final Set<String> TAIL_WORDS = Set.of(TAIL_WORDS_TEXT.split(", "));

    private List<String> listOrder;
    private Predicate<String> tail = BlockDiscovery::isTailByDefault;

    /** Explicit order of block lists by prefix; lists not named run after, by the default rule. */
    public BlockDiscovery listOrder(List<String> prefixes) {
        this.listOrder = List.copyOf(prefixes);
        return this;
    }

    /** Which tensors outside every list form the tail (the others form the head). */
    public BlockDiscovery tail(Predicate<String> isTail) {
        this.tail = isTail;
        return this;
    }

    static boolean isTailByDefault(String name) {
        String[] parts = name.split("\\.");
        for (String p : parts) {
            if (TAIL_WORDS.contains(p)) return true;
        }
        return parts.length <= 3 && parts.length >= 2 && parts[parts.length - 2].equals("norm");
    }

    /** The checkpoint's graph; a checkpoint without tensors (valid safetensors) has none, and is refused naming it. */
    public BlockGraph discover(Checkpoint checkpoint) {
        if (checkpoint.tensors().isEmpty()) {
            throw OffloadException.invalid(checkpoint.name() + ": the checkpoint holds no tensors, so there is no block graph to run");
        }
        List<TensorRef> tensors = new ArrayList<>();
        for (TensorInfo info : checkpoint.tensors()) tensors.add(new TensorRef(info.name(), info.dtype(), info.shape(), checkpoint.data(info)));
        return discover(checkpoint.name(), tensors);
    }

    /** The graph of tensors in this order (a checkpoint's, or a component's plus added ones), by the same rules. */
    public BlockGraph discover(String what, List<TensorRef> tensors) {
        if (tensors.isEmpty()) throw OffloadException.invalid(what + ": no tensors, so there is no block graph to run");
        Map<String, TreeMap<Integer, List<TensorRef>>> candidates = new HashMap<>();
        Map<String, TensorRef> refs = new HashMap<>();
        Map<TensorRef, String> prefixOf = new HashMap<>();
        Set<String> nested = new java.util.HashSet<>();
        for (TensorRef ref : tensors) {
            if (refs.containsKey(ref.name())) throw OffloadException.invalid(what + ": tensor '" + ref.name() + "' appears twice");
            refs.put(ref.name(), ref);
            String[] parts = ref.name().split("\\.");
            for (int i = 1; i < parts.length; i++) {
                if (isIndex(parts[i])) {
                    String prefix = String.join(".", java.util.Arrays.copyOfRange(parts, 0, i));
                    candidates.computeIfAbsent(prefix, k -> new TreeMap<>())
                            .computeIfAbsent(Integer.parseInt(parts[i]), k -> new ArrayList<>()).add(ref);
                    prefixOf.put(ref, prefix);
                    if (parts.length - i > 2) nested.add(prefix);
                    break;
                }
            }
        }
        List<BlockList> lists = new ArrayList<>();
        List<TensorRef> loose = new ArrayList<>();
        for (var entry : candidates.entrySet()) {
            TreeMap<Integer, List<TensorRef>> numbered = entry.getValue();
            if (numbered.size() < 2) continue;
            boolean gaps = numbered.lastKey() - numbered.firstKey() + 1 != numbered.size();
            if (gaps && !nested.contains(entry.getKey())) continue;
            List<Block> blocks = new ArrayList<>();
            entry.getValue().forEach((index, members) -> {
                members.sort(Comparator.comparing(TensorRef::name));
                blocks.add(new Block(entry.getKey(), index, members));
            });
            lists.add(new BlockList(entry.getKey(), blocks));
        }
        Set<String> listPrefixes = new java.util.HashSet<>();
        lists.forEach(l -> listPrefixes.add(l.prefix()));
        for (TensorRef ref : refs.values()) {
            String p = prefixOf.get(ref);
            if (p == null || !listPrefixes.contains(p)) loose.add(ref);
        }
        lists.sort(listComparator());
        loose.sort(Comparator.comparing(TensorRef::name));
        List<TensorRef> head = new ArrayList<>();
        List<TensorRef> tailTensors = new ArrayList<>();
        for (TensorRef t : loose) (tail.test(t.name()) ? tailTensors : head).add(t);
        return new BlockGraph(head, lists, tailTensors);
    }

    private Comparator<BlockList> listComparator() {
        Comparator<BlockList> byDefault = Comparator
                .comparing((BlockList l) -> lastSegment(l.prefix()).startsWith("single"))
                .thenComparing(l -> l.prefix().contains("decoder"))
                .thenComparing(BlockList::prefix);
        if (listOrder == null) return byDefault;
        return Comparator.comparingInt((BlockList l) -> {
            int i = listOrder.indexOf(l.prefix());
            return i < 0 ? Integer.MAX_VALUE : i;
        }).thenComparing(byDefault);
    }

    private static String lastSegment(String prefix) {
        int dot = prefix.lastIndexOf('.');
        return dot < 0 ? prefix : prefix.substring(dot + 1);
    }

    private static boolean isIndex(String s) {
        if (s.isEmpty() || s.length() > 9) return false;
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) < '0' || s.charAt(i) > '9') return false;
        }
        return true;
    }
}
