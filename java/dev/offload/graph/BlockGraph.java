package dev.offload.graph;

import dev.offload.OffloadException;
import dev.offload.checkpoint.Checkpoint;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A component's weights in execution order: the head tensors, the blocks of each block list in
 * order, then the tail tensors. {@link #discover(Checkpoint)} finds it from tensor names
 * ({@link BlockDiscovery} documents the rules); {@link #builder()} builds one explicitly.
 * {@link #groups(Grouping)} cuts it into groups without changing the order of tensors.
 */
public final class BlockGraph {
    private final List<TensorRef> head;
    private final List<BlockList> lists;
    private final List<TensorRef> tail;
    private final Source source;

    /** Where a graph's order came from: a preset for the model's class, or discovery from names. */
    public record Source(String preset) {
        public static final Source DISCOVERED = new Source(null);

        public boolean isPreset() {
            return preset != null;
        }

        /** {@code preset CLASS} or {@code discovered}, as inspect prints it. */
        @Override
        public String toString() {
            return preset == null ? "discovered" : "preset " + preset;
        }
    }

    BlockGraph(List<TensorRef> head, List<BlockList> lists, List<TensorRef> tail) {
        this(head, lists, tail, Source.DISCOVERED);
    }

    BlockGraph(List<TensorRef> head, List<BlockList> lists, List<TensorRef> tail, Source source) {
        this.source = source;
        this.head = List.copyOf(head);
        this.lists = List.copyOf(lists);
        this.tail = List.copyOf(tail);
        Set<String> names = new HashSet<>();
        for (TensorRef t : tensors()) {
            if (!names.add(t.name())) throw OffloadException.invalid("block graph: tensor '" + t.name() + "' appears twice");
        }
        if (names.isEmpty()) throw OffloadException.invalid("block graph: no tensors");
    }

    /**
     * The checkpoint's graph: by the preset for the model class its folder's {@code config.json}
     * names (or that its names show, for original single-file layouts), else discovered from names
     * ({@link BlockGraphPresets} documents the choice).
     */
    public static BlockGraph discover(Checkpoint checkpoint) {
        return BlockGraphPresets.graphOf(checkpoint);
    }

    /** The graph of these tensors by BlockDiscovery's rules ({@code what} names them in errors). */
    public static BlockGraph discover(String what, List<TensorRef> tensors) {
        return new BlockDiscovery().discover(what, tensors);
    }

    /** Whether a preset or discovery gave this graph its order. */
    public Source source() {
        return source;
    }

    public List<TensorRef> head() {
        return head;
    }

    public List<BlockList> blockLists() {
        return lists;
    }

    public List<TensorRef> tail() {
        return tail;
    }

    /** Every tensor in execution order. */
    public List<TensorRef> tensors() {
        List<TensorRef> all = new ArrayList<>(head);
        for (BlockList l : lists) for (Block b : l.blocks()) all.addAll(b.tensors());
        all.addAll(tail);
        return all;
    }

    public long totalBytes() {
        long sum = 0;
        for (TensorRef t : tensors()) sum += t.byteSize();
        return sum;
    }

    public List<GroupSpec> groups(Grouping grouping) {
        List<GroupSpec> out = new ArrayList<>();
        if (grouping instanceof Grouping.Leaf) {
            for (TensorRef t : tensors()) out.add(new GroupSpec(t.name(), List.of(t), GroupSpec.Role.LEAF));
            return out;
        }
        int n = ((Grouping.Blocks) grouping).perGroup();
        if (!head.isEmpty()) out.add(new GroupSpec("head", head, GroupSpec.Role.HEAD));
        for (BlockList l : lists) {
            List<Block> blocks = l.blocks();
            for (int i = 0; i < blocks.size(); i += n) {
                List<Block> chunk = blocks.subList(i, Math.min(i + n, blocks.size()));
                List<TensorRef> tensors = new ArrayList<>();
                chunk.forEach(b -> tensors.addAll(b.tensors()));
                Block first = chunk.get(0), last = chunk.get(chunk.size() - 1);
                String name = chunk.size() == 1 ? first.name()
                        : first.numberedName() && last.numberedName() ? l.prefix() + "." + first.index() + "-" + last.index()
                        : first.name() + "-" + last.name();
                out.add(new GroupSpec(name, tensors));
            }
        }
        if (!tail.isEmpty()) out.add(new GroupSpec("tail", tail, GroupSpec.Role.TAIL));
        return out;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Builds a graph by hand: head tensors, blocks appended to named lists, tail tensors. */
    public static final class Builder {
        private final List<TensorRef> head = new ArrayList<>();
        private final Map<String, List<Block>> lists = new LinkedHashMap<>();
        private final List<TensorRef> tail = new ArrayList<>();

        public Builder head(TensorRef... tensors) {
            head.addAll(List.of(tensors));
            return this;
        }

        /** Appends the next block of list {@code prefix}; lists run in the order first named. */
        public Builder block(String prefix, List<TensorRef> tensors) {
            List<Block> blocks = lists.computeIfAbsent(prefix, k -> new ArrayList<>());
            blocks.add(new Block(prefix, blocks.size(), tensors));
            return this;
        }

        public Builder tail(TensorRef... tensors) {
            tail.addAll(List.of(tensors));
            return this;
        }

        public BlockGraph build() {
            List<BlockList> built = new ArrayList<>();
            lists.forEach((prefix, blocks) -> built.add(new BlockList(prefix, blocks)));
            return new BlockGraph(head, built, tail);
        }
    }
}
