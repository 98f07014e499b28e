package dev.offload.graph;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import dev.offload.OffloadException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A model class's forward order and grouping as data: which module paths run in which order, and
 * which of them are the blocks that stream. Not code per model: a user adds one for their own class
 * with {@link BlockGraphPresets#register} or a JSON file ({@link BlockGraphPresets} says where).
 *
 * <p>JSON form: {@code {"name": NAME, "classes": [CLASS...], "names": [PATH...], "defs": {NAME:
 * [NODE...]}, "order": [NODE...]}}. {@code classes} are the config.json class names it serves;
 * {@code names} (optional) recognise a file without a config: every path listed must begin some
 * tensor's name; {@code name} (optional) is what {@code graph: preset NAME} shows for a file so
 * recognised (else the first class). {@code order} lists the nodes in forward order. A node is
 * <ul>
 *   <li>a string {@code "conv_in"}: the module at that path (its own tensors, or any below it);</li>
 *   <li>{@code {"at": PATH, "order": [NODE...] | "@def", "unit": LIST, "name": BLOCK}}: a path whose
 *       {@code #} segments match any number (instances run in numeric order); {@code order} orders
 *       what is under it (relative paths); {@code unit} makes each instance one block of the block
 *       list {@code LIST}, named by its path, or by {@code name} (consecutive instances with one
 *       {@code name} are one block); {@code "descending": true} runs the instances from the highest
 *       number down (the LDM decoder's {@code up.3} .. {@code up.0});</li>
 *   <li>{@code {"zip": [NODE...]}}: nodes with one {@code #} each, run interleaved by that number:
 *       {@code resnets.0, attentions.0, resnets.1, ...}.</li>
 * </ul>
 * Under a node, tensors no child names run after the named ones, {@code weight} before {@code bias},
 * others by name. Tensors before the first block are the head, after the last the tail; a tensor
 * between blocks outside any block, or outside every top-level node, means the preset does not fit
 * the checkpoint ({@link Mismatch}), and the caller falls back to discovery.
 */
public final class BlockGraphPreset {
    private static final int UNNAMED = 999_999_999;

    /** The checkpoint does not have the layout the preset describes; the message says which tensor shows it. */
    public static final class Mismatch extends RuntimeException {
        Mismatch(String message) {
            super(message, null, false, false);
        }
    }

    record Node(String[] at, List<Node> order, List<Node> zip, String unit, String name, boolean descending) {}

    private final String name;
    private final List<String> classes;
    private final List<String> names;
    private final List<Node> order;

    private BlockGraphPreset(String name, List<String> classes, List<String> names, List<Node> order) {
        this.name = name;
        this.classes = List.copyOf(classes);
        this.names = List.copyOf(names);
        this.order = order;
    }

    /** The preset in this JSON text; {@code what} names it in errors (a file, a class). */
    public static BlockGraphPreset parse(String what, String json) {
        try {
            JsonElement root = JsonParser.parseString(json);
            if (!root.isJsonObject()) throw OffloadException.invalid(what + ": a block graph preset is a JSON object");
            JsonObject o = root.getAsJsonObject();
            List<String> classes = strings(what, o, "classes"), names = strings(what, o, "names");
            if (classes.isEmpty() && names.isEmpty()) throw OffloadException.invalid(what + ": a preset names its classes or the names that show it");
            Map<String, JsonArray> defs = new HashMap<>();
            if (o.has("defs")) o.getAsJsonObject("defs").entrySet().forEach(e -> defs.put(e.getKey(), e.getValue().getAsJsonArray()));
            if (!o.has("order") || !o.get("order").isJsonArray()) throw OffloadException.invalid(what + ": 'order' (an array of nodes) is missing");
            List<Node> order = nodes(what, o.getAsJsonArray("order"), defs, 0);
            String display = o.has("name") ? o.get("name").getAsString() : classes.isEmpty() ? names.get(0) : classes.get(0);
            return new BlockGraphPreset(display, classes, names, order);
        } catch (JsonParseException | IllegalStateException | ClassCastException e) {
            throw OffloadException.invalid(what + ": not a block graph preset: " + e.getMessage());
        }
    }

    private static List<String> strings(String what, JsonObject o, String key) {
        List<String> out = new ArrayList<>();
        if (!o.has(key)) return out;
        for (JsonElement e : o.getAsJsonArray(key)) out.add(e.getAsString());
        return out;
    }

    private static List<Node> nodes(String what, JsonArray array, Map<String, JsonArray> defs, int depth) {
        if (depth > 16) throw OffloadException.invalid(what + ": nodes nest deeper than 16 (a def that uses itself?)");
        List<Node> out = new ArrayList<>();
        for (JsonElement e : array) {
            if (e.isJsonPrimitive()) {
                out.add(new Node(path(what, e.getAsString()), List.of(), null, null, null, false));
                continue;
            }
            JsonObject o = e.getAsJsonObject();
            if (o.has("zip")) {
                List<Node> zip = nodes(what, o.getAsJsonArray("zip"), defs, depth + 1);
                for (Node z : zip) {
                    if (z.zip() != null || count(z.at(), "#") != 1) throw OffloadException.invalid(what + ": a zip's nodes have one '#' each");
                }
                out.add(new Node(new String[0], List.of(), zip, null, null, false));
                continue;
            }
            List<Node> inner = List.of();
            JsonElement ord = o.get("order");
            if (ord != null && ord.isJsonPrimitive()) {
                String def = ord.getAsString();
                JsonArray d = def.startsWith("@") ? defs.get(def.substring(1)) : null;
                if (d == null) throw OffloadException.invalid(what + ": order '" + def + "' names no def (write @NAME of a 'defs' entry)");
                inner = nodes(what, d, defs, depth + 1);
            } else if (ord != null) {
                inner = nodes(what, ord.getAsJsonArray(), defs, depth + 1);
            }
            String unit = o.has("unit") ? o.get("unit").getAsString() : null;
            String block = o.has("name") ? o.get("name").getAsString() : null;
            boolean descending = o.has("descending") && o.get("descending").getAsBoolean();
            out.add(new Node(path(what, o.get("at").getAsString()), inner, null, unit, block, descending));
        }
        return out;
    }

    private static String[] path(String what, String p) {
        if (p.isEmpty() || p.startsWith(".") || p.endsWith(".") || p.contains("..")) throw OffloadException.invalid(what + ": path '" + p + "' is not a dotted module path");
        return p.split("\\.");
    }

    private static int count(String[] at, String s) {
        int n = 0;
        for (String a : at) if (a.equals(s)) n++;
        return n;
    }

    /** Its {@code name}, else the class named first: what {@code graph: preset NAME} shows when no config named a class. */
    public String name() {
        return name;
    }

    public List<String> classes() {
        return classes;
    }

    /** The paths that recognise a file without a config (empty: it serves config classes only). */
    public List<String> names() {
        return names;
    }

    /** Whether every recognising path begins some tensor's name. */
    boolean recognises(List<TensorRef> tensors) {
        if (names.isEmpty()) return false;
        for (String n : names) {
            boolean found = false;
            for (TensorRef t : tensors) {
                if (t.name().equals(n) || t.name().startsWith(n + ".")) {
                    found = true;
                    break;
                }
            }
            if (!found) return false;
        }
        return true;
    }

    /** The graph of these tensors in this preset's order; {@link Mismatch} when the layout is not the preset's. */
    public BlockGraph apply(String what, List<TensorRef> tensors) {
        return apply(what, tensors, name);
    }

    /** As {@link #apply(String, List)}, the graph's source naming {@code className} (the class the config named). */
    public BlockGraph apply(String what, List<TensorRef> tensors, String className) {
        if (tensors.isEmpty()) throw OffloadException.invalid(what + ": no tensors, so there is no block graph to run");
        record Placed(TensorRef ref, String key, String list, String block) {}
        List<Placed> placed = new ArrayList<>(tensors.size());
        for (TensorRef t : tensors) {
            Walk w = new Walk(t.name().split("\\.", -1));
            if (!w.place(order, 0)) throw new Mismatch(what + ": tensor '" + t.name() + "' is under no module of preset " + name);
            placed.add(new Placed(t, w.key.toString(), w.list, w.block));
        }
        placed.sort((a, b) -> a.key().compareTo(b.key()));
        List<TensorRef> head = new ArrayList<>(), tail = new ArrayList<>();
        Map<String, Map<String, List<TensorRef>>> lists = new LinkedHashMap<>();
        String lastList = null, lastBlock = null;
        for (Placed p : placed) {
            if (p.block() == null) {
                (lastBlock == null ? head : tail).add(p.ref());
                continue;
            }
            if (!tail.isEmpty()) {
                throw new Mismatch(what + ": tensor '" + tail.get(0).name() + "' runs between blocks but is in none (preset " + name + ")");
            }
            if (!p.list().equals(lastList) && lists.containsKey(p.list())) {
                throw new Mismatch(what + ": block list '" + p.list() + "' of preset " + name + " is interrupted by '" + lastList + "'");
            }
            Map<String, List<TensorRef>> blocks = lists.computeIfAbsent(p.list(), k -> new LinkedHashMap<>());
            if (!p.block().equals(lastBlock) && blocks.containsKey(p.block())) {
                throw new Mismatch(what + ": block '" + p.block() + "' of preset " + name + " is interrupted by '" + lastBlock + "'");
            }
            blocks.computeIfAbsent(p.block(), k -> new ArrayList<>()).add(p.ref());
            lastList = p.list();
            lastBlock = p.block();
        }
        List<BlockList> built = new ArrayList<>();
        lists.forEach((prefix, blocks) -> {
            List<Block> done = new ArrayList<>();
            blocks.forEach((blockName, members) -> done.add(new Block(prefix, done.size(), members, blockName)));
            built.add(new BlockList(prefix, done));
        });
        return new BlockGraph(head, built, tail, new BlockGraph.Source(className));
    }

    /** One tensor's way down the nodes: its sort key, and the block it falls in. */
    private static final class Walk {
        final String[] seg;
        final StringBuilder key = new StringBuilder();
        String list, block;

        Walk(String[] seg) {
            this.seg = seg;
        }

        boolean place(List<Node> nodes, int from) {
            for (int i = 0; i < nodes.size(); i++) {
                Node n = nodes.get(i);
                if (n.zip() != null) {
                    for (int j = 0; j < n.zip().size(); j++) {
                        Node z = n.zip().get(j);
                        List<Integer> numbers = match(z.at(), from);
                        if (numbers == null) continue;
                        number(i).number(numbers.get(0)).number(j);
                        enter(z, from);
                        return true;
                    }
                    continue;
                }
                List<Integer> numbers = match(n.at(), from);
                if (numbers == null) continue;
                number(i);
                for (int k : numbers) number(n.descending() ? UNNAMED - 1 - k : k);
                enter(n, from);
                return true;
            }
            return false;
        }

        private void enter(Node n, int from) {
            int end = from + n.at().length;
            if (n.unit() != null && block == null) {
                list = n.unit();
                block = n.name() != null ? n.name() : String.join(".", java.util.Arrays.copyOfRange(seg, 0, end));
            }
            if (end < seg.length && !place(n.order(), end)) {
                number(UNNAMED);
                for (int k = end; k < seg.length; k++) {  // segment by segment: weight, bias, numbers in order, others by name
                    String s = seg[k];
                    if (s.equals("weight") || s.equals("bias")) number(s.equals("weight") ? 0 : 1);
                    else if (isNumber(s)) number(2).number(Integer.parseInt(s));
                    else number(3).key.append(s).append('\u0001');
                }
            }
        }

        private static boolean isNumber(String s) {
            return !s.isEmpty() && s.length() <= 9 && s.chars().allMatch(c -> c >= '0' && c <= '9');
        }

        private Walk number(int n) {
            String s = Integer.toString(n);
            key.append((char) ('0' + s.length())).append(s).append('.');
            return this;
        }

        /** The numbers a path's {@code #} segments match at {@code from}, or null when it does not match. */
        private List<Integer> match(String[] at, int from) {
            if (from + at.length > seg.length) return null;
            List<Integer> numbers = new ArrayList<>(2);
            for (int k = 0; k < at.length; k++) {
                String s = seg[from + k];
                if (at[k].equals("#")) {
                    if (!isNumber(s)) return null;
                    numbers.add(Integer.parseInt(s));
                } else if (!at[k].equals(s)) {
                    return null;
                }
            }
            return numbers;
        }
    }
}
