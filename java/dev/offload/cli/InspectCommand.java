package dev.offload.cli;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.offload.Size;
import dev.offload.checkpoint.Checkpoint;
import dev.offload.checkpoint.TensorInfo;
import dev.offload.graph.BlockGraph;
import dev.offload.graph.BlockList;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * {@code ./offload inspect PATH... [--json]}: tensors, dtypes, bytes and the discovered block lists.
 * JSON fields: {@code tensors} (count), {@code total_bytes}, {@code block_lists} (array of
 * {@code {prefix, count, bytes_per_block}}), plus {@code dtypes}, {@code head}, {@code tail}.
 */
final class InspectCommand {
    static final String USAGE = "inspect PATH... [--json]";

    private InspectCommand() {}

    static int run(List<String> argv, PrintStream out) {
        Args args = new Args(argv, Set.of("--json"), Set.of());
        if (args.positional().isEmpty()) throw new UsageException("inspect needs at least one checkpoint path");
        List<Path> paths = args.positional().stream().map(Path::of).toList();
        try (Checkpoint checkpoint = Checkpoint.open(paths)) {
            BlockGraph graph = BlockGraph.discover(checkpoint);
            Map<dev.offload.checkpoint.DType, long[]> dtypes = new EnumMap<>(dev.offload.checkpoint.DType.class);
            for (TensorInfo t : checkpoint.tensors()) {
                long[] c = dtypes.computeIfAbsent(t.dtype(), k -> new long[2]);
                c[0]++;
                c[1] += t.byteSize();
            }
            if (args.flag("--json")) {
                JsonObject json = new JsonObject();
                json.addProperty("tensors", checkpoint.tensors().size());
                json.addProperty("total_bytes", checkpoint.totalBytes());
                JsonArray lists = new JsonArray();
                for (BlockList l : graph.blockLists()) {
                    JsonObject o = new JsonObject();
                    o.addProperty("prefix", l.prefix());
                    o.addProperty("count", l.blocks().size());
                    o.addProperty("bytes_per_block", l.bytesPerBlock());
                    lists.add(o);
                }
                json.add("block_lists", lists);
                JsonObject dt = new JsonObject();
                dtypes.forEach((k, v) -> dt.addProperty(k.name(), v[1]));
                json.add("dtypes", dt);
                json.addProperty("head", graph.head().size());
                json.addProperty("tail", graph.tail().size());
                out.println(json);
            } else {
                out.printf(Locale.ROOT, "%s: %d tensors, %s (%d bytes)%n", checkpoint.name(), checkpoint.tensors().size(),
                        Size.format(checkpoint.totalBytes()), checkpoint.totalBytes());
                dtypes.forEach((k, v) -> out.printf(Locale.ROOT, "  %-8s %6d tensors %12s%n", k, v[0], Size.format(v[1])));
                out.printf(Locale.ROOT, "head: %d tensors; tail: %d tensors%n", graph.head().size(), graph.tail().size());
                for (BlockList l : graph.blockLists()) {
                    out.printf(Locale.ROOT, "block list %-40s %4d blocks x %s%n", l.prefix(), l.blocks().size(), Size.format(l.bytesPerBlock()));
                }
            }
        }
        return 0;
    }
}
