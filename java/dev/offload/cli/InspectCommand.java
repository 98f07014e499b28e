package dev.offload.cli;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.offload.Size;
import dev.offload.checkpoint.Checkpoint;
import dev.offload.checkpoint.DType;
import dev.offload.checkpoint.OpenOptions;
import dev.offload.checkpoint.Pipeline;
import dev.offload.checkpoint.TensorInfo;
import dev.offload.graph.BlockGraph;
import dev.offload.graph.BlockList;
import dev.offload.graph.GroupSpec;
import dev.offload.graph.Grouping;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * {@code ./offload inspect PATH... [--variant V] [--tensors] [--groups] [--json]}: the components of a path
 * ({@link Pipeline}: a file, a folder, a pipeline folder, a bundle), their tensors, dtypes, bytes and
 * discovered block lists. JSON fields, totals over every component: {@code tensors} (count),
 * {@code total_bytes}, {@code block_lists} (array of {@code {prefix, count, bytes_per_block,
 * component}}), {@code dtypes} (bytes by dtype), {@code head}, {@code tail} (tensor counts), plus
 * {@code layout} (single, pipeline, bundle) and {@code components} (array of {@code {name, files,
 * tensors, total_bytes, block_lists}}, with {@code bundle_prefixes} for a bundle's). With
 * {@code --tensors}, {@code tensor_list}: each tensor's {@code name} (as in its file), {@code dtype},
 * {@code shape} and {@code component}. A component with no tensors has no block lists.
 *
 * <p>Each component says where its graph's order came from ({@code graph_source}: {@code preset CLASS}
 * or {@code discovered}, {@link BlockGraph#source()}). With {@code --groups}, each component's groups
 * at one block per group, in forward order, each with its tensors in the order the forward uses
 * them ({@code groups}: {@code [{name, tensors: [names as in the component]}]}).
 */
final class InspectCommand {
    static final String USAGE = "inspect PATH... [--variant V] [--tensors] [--groups] [--json]";

    private InspectCommand() {}

    static int run(List<String> argv, PrintStream out) {
        Args args = new Args(argv, Set.of("--json", "--tensors", "--groups"), Set.of("--variant"));
        if (args.positional().isEmpty()) throw new UsageException("inspect needs at least one checkpoint path");
        List<Path> paths = args.positional().stream().map(p -> RunCommand.path(p, "checkpoint path")).toList();
        OpenOptions options = OpenOptions.defaults().variant(args.option("--variant", null));
        try (Pipeline pipeline = Main.openInputs(paths, options)) {
            Map<String, BlockGraph> graphs = new LinkedHashMap<>();
            Map<DType, long[]> dtypes = new EnumMap<>(DType.class);
            int head = 0, tail = 0;
            for (var e : pipeline.components().entrySet()) {
                Checkpoint c = e.getValue();
                for (TensorInfo t : c.tensors()) {
                    long[] n = dtypes.computeIfAbsent(t.dtype(), k -> new long[2]);
                    n[0]++;
                    n[1] += t.byteSize();
                }
                if (c.tensors().isEmpty()) continue;
                BlockGraph g = BlockGraph.discover(c);
                graphs.put(e.getKey(), g);
                head += g.head().size();
                tail += g.tail().size();
            }
            if (args.flag("--json")) {
                out.println(json(pipeline, graphs, dtypes, head, tail, args.flag("--tensors"), args.flag("--groups")));
            } else {
                text(out, pipeline, graphs, dtypes, head, tail, args.flag("--tensors"), args.flag("--groups"));
            }
        }
        return 0;
    }

    private static JsonObject json(Pipeline pipeline, Map<String, BlockGraph> graphs, Map<DType, long[]> dtypes, int head, int tail,
                                   boolean tensors, boolean groups) {
        JsonObject json = new JsonObject();
        json.addProperty("tensors", pipeline.tensorCount());
        json.addProperty("total_bytes", pipeline.totalBytes());
        JsonArray allLists = new JsonArray();
        graphs.forEach((name, g) -> {
            for (JsonObject o : lists(g)) {
                o.addProperty("component", name);
                allLists.add(o);
            }
        });
        json.add("block_lists", allLists);
        JsonObject dt = new JsonObject();
        dtypes.forEach((k, v) -> dt.addProperty(k.name(), v[1]));
        json.add("dtypes", dt);
        json.addProperty("head", head);
        json.addProperty("tail", tail);
        json.addProperty("layout", pipeline.layout().name().toLowerCase(Locale.ROOT));
        JsonArray components = new JsonArray();
        JsonArray tensorList = new JsonArray();
        for (var e : pipeline.components().entrySet()) {
            Checkpoint c = e.getValue();
            JsonObject o = new JsonObject();
            o.addProperty("name", e.getKey());
            JsonArray files = new JsonArray();
            c.files().forEach(f -> files.add(f.toString()));
            o.add("files", files);
            o.addProperty("tensors", c.tensors().size());
            o.addProperty("total_bytes", c.totalBytes());
            JsonArray lists = new JsonArray();
            BlockGraph graph = graphs.get(e.getKey());
            if (graph != null) lists(graph).forEach(lists::add);
            o.add("block_lists", lists);
            if (graph != null) o.addProperty("graph_source", graph.source().toString());
            if (groups && graph != null) {
                JsonArray gs = new JsonArray();
                for (GroupSpec spec : graph.groups(Grouping.blocks(1))) {
                    JsonObject go = new JsonObject();
                    go.addProperty("name", spec.name());
                    JsonArray names = new JsonArray();
                    spec.tensors().forEach(t -> names.add(t.name()));
                    go.add("tensors", names);
                    gs.add(go);
                }
                o.add("groups", gs);
            }
            List<String> prefixes = pipeline.bundlePrefixes(e.getKey());
            if (!prefixes.isEmpty()) {
                JsonArray p = new JsonArray();
                prefixes.forEach(p::add);
                o.add("bundle_prefixes", p);
            }
            components.add(o);
            if (tensors) {
                for (TensorInfo t : c.tensors()) {
                    JsonObject to = new JsonObject();
                    to.addProperty("name", pipeline.nameInFile(e.getKey(), t));
                    to.addProperty("dtype", t.dtype().name());
                    JsonArray shape = new JsonArray();
                    for (long d : t.shape()) shape.add(d);
                    to.add("shape", shape);
                    to.addProperty("component", e.getKey());
                    tensorList.add(to);
                }
            }
        }
        json.add("components", components);
        if (tensors) json.add("tensor_list", tensorList);
        return json;
    }

    private static List<JsonObject> lists(BlockGraph g) {
        List<JsonObject> out = new ArrayList<>();
        for (BlockList l : g.blockLists()) {
            JsonObject o = new JsonObject();
            o.addProperty("prefix", l.prefix());
            o.addProperty("count", l.blocks().size());
            o.addProperty("bytes_per_block", l.bytesPerBlock());
            out.add(o);
        }
        return out;
    }

    private static void text(PrintStream out, Pipeline pipeline, Map<String, BlockGraph> graphs, Map<DType, long[]> dtypes, int head,
                             int tail, boolean tensors, boolean groups) {
        out.printf(Locale.ROOT, "%s: %d tensors, %s (%d bytes), %s, %d component%s%n", pipeline.name(), pipeline.tensorCount(),
                Size.format(pipeline.totalBytes()), pipeline.totalBytes(), pipeline.layout().name().toLowerCase(Locale.ROOT),
                pipeline.components().size(), pipeline.components().size() == 1 ? "" : "s");
        dtypes.forEach((k, v) -> out.printf(Locale.ROOT, "  %-8s %6d tensors %12s%n", k, v[0], Size.format(v[1])));
        out.printf(Locale.ROOT, "head: %d tensors; tail: %d tensors%n", head, tail);
        for (var e : pipeline.components().entrySet()) {
            Checkpoint c = e.getValue();
            List<String> prefixes = pipeline.bundlePrefixes(e.getKey());
            out.printf(Locale.ROOT, "component %s: %d tensors, %s%s, files %s%n", e.getKey(), c.tensors().size(),
                    Size.format(c.totalBytes()), prefixes.isEmpty() ? "" : ", prefix " + String.join(" ", prefixes), c.files());
            BlockGraph g = graphs.get(e.getKey());
            if (g != null) {
                out.printf(Locale.ROOT, "  graph: %s%n", g.source());
                for (BlockList l : g.blockLists()) {
                    out.printf(Locale.ROOT, "  block list %-40s %4d blocks x %s%n", l.prefix(), l.blocks().size(), Size.format(l.bytesPerBlock()));
                }
                if (groups) {
                    for (GroupSpec spec : g.groups(Grouping.blocks(1))) {
                        out.printf(Locale.ROOT, "  group %s: %d tensors, %s%n", spec.name(), spec.tensors().size(), Size.format(spec.byteSize()));
                        for (var t : spec.tensors()) out.printf(Locale.ROOT, "    %s%n", t.name());
                    }
                }
            }
            if (tensors) {
                for (TensorInfo t : c.tensors()) {
                    out.printf(Locale.ROOT, "    %s %s%s%n", pipeline.nameInFile(e.getKey(), t), t.dtype(), java.util.Arrays.toString(t.shape()));
                }
            }
        }
    }
}
