package dev.offload.cli;

import com.google.gson.JsonObject;
import dev.offload.OffloadConfig;
import dev.offload.Size;
import dev.offload.Strategy;
import dev.offload.Timing;
import dev.offload.checkpoint.Checkpoint;
import dev.offload.checkpoint.OpenOptions;
import dev.offload.checkpoint.Pipeline;
import dev.offload.plan.PinPolicy;
import dev.offload.workload.ReferenceWorkload;
import dev.offload.workload.WorkloadRun;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * {@code ./offload run PATH... [--budget SIZE] [--strategy S] [--steps N] [--verify] [--json] ...}:
 * streams a path's component through a workload (mix, linear or none). A path holding several
 * components (a pipeline folder, a bundle) runs them all in turn, {@code --steps} steps each, in one
 * offloader (MODEL_OFFLOAD makes them take turns; JSON gains {@code components}), unless
 * {@code --component NAME} picks one; {@code --variant V} picks a
 * folder's variant files; a component with no tensors is refused, naming it (exit 2). {@code --verify} compares every step's
 * output with the unoffloaded Java reference (bit for bit for mix, within tolerance for linear). JSON fields: strategy, steps, verified
 * (true/false/null), budget_bytes, peak_device_bytes, peak_host_bytes, h2d_bytes, pageable_copies, step_ms_median,
 * overlap_efficiency, source, staging_bytes, disk_read_ms (wall time with a read in flight, all
 * steps), disk_gbps (bytes read over that time), disk_io (buffered, direct or memory), reader_threads,
 * staging_unit_bytes, disk_probe_gbps (when the registration probe ran), and more.
 * {@code --source disk [--staging SIZE] [--disk-io auto|buffered|direct|probe] [--readers N]} streams the
 * weights from the files through a pinned staging ring instead of a pinned copy; {@code --disk-cache DIR}
 * (implies disk) caches a scattered layout packed in DIR (memory/DiskCache), one file per source identity;
 * {@code --disk-cache-max SIZE} bounds DIR's caches (least recently used removed first) and
 * {@code --disk-cache-check content} also compares a sampled hash of the sources. Without {@code --source}
 * the copy is pinned unless it would not fit the available host memory (then disk). {@code --shared-host NAME}
 * keeps the pinned copy in a named region of /dev/shm that other runs of the same model map (JSON
 * {@code shared_host}: created, mapped or rebuilt, and why); {@code --shared-host-remove} has the last one
 * remove it. JSON {@code first_step_ms}: from registering to the first step done. {@code --devices
 * host:0,host:1 [--replicate | --place NAME=DEVICE ...]} runs on several devices (DevicesRun; JSON
 * {@code devices}); {@code --budget} is then per device.
 */
final class RunCommand {
    static final String USAGE = "run PATH... [--budget SIZE] [--strategy " + Strategy.names().replace(", ", "|") + "] [--pin P] [--steps N] [--verify]"
            + " [--blocks-per-group N | --leaf] [--window D] [--tokens N] [--hidden N] [--workload mix|linear|none] [--steps-ahead N]"
            + " [--timing off|step|group] [--trace FILE] [--device NAME] [--variant V] [--component NAME] [--source pinned|disk|lowmem]"
            + " [--staging SIZE] [--disk-io auto|buffered|direct|probe] [--readers N] [--disk-cache DIR] [--disk-cache-max SIZE]"
            + " [--disk-cache-check stamp|content] [--shared-host NAME [--shared-host-remove]]"
            + " [--devices D,D... [--replicate | --place NAME=DEVICE ...]] [--json]";

    private RunCommand() {}

    static int run(List<String> argv, PrintStream out, PrintStream err) {
        Args args = new Args(argv, Set.of("--json", "--verify", "--leaf", "--shared-host-remove", "--replicate"),
                Set.of("--budget", "--strategy", "--steps", "--blocks-per-group", "--window", "--tokens", "--hidden", "--device",
                        "--workload", "--steps-ahead", "--timing", "--variant", "--component", "--trace", "--pin", "--source", "--staging",
                        "--disk-cache", "--disk-io", "--readers", "--disk-cache-max", "--disk-cache-check", "--shared-host", "--devices", "--place"));
        if (args.positional().isEmpty()) throw new UsageException("run needs at least one checkpoint path");
        if (args.flag("--leaf") && args.has("--blocks-per-group")) throw new UsageException("--leaf and --blocks-per-group exclude each other");
        if (args.has("--trace") && args.has("--timing") && Timing.parse(args.option("--timing", "group")) != Timing.GROUP) {
            throw new UsageException("--trace needs --timing group (the default): a timeline is made of per-group events");
        }
        OffloadConfig.Builder config = OffloadConfig.builder()
                .device(args.option("--device", "auto"))
                .deviceBudget(args.has("--budget") ? Size.parse(args.option("--budget", "0")) : 0)
                .strategy(Strategy.parse(args.option("--strategy", "group_offload")))
                .window(Main.parseInt(args.option("--window", "2"), "--window", 1, 1 << 16))
                .stepsAhead(Main.parseInt(args.option("--steps-ahead", "1"), "--steps-ahead", 0, OffloadConfig.MAX_STEPS_AHEAD))
                .timing(Timing.parse(args.option("--timing", "group")))  // run reports per-group figures by default
                .trace(args.has("--trace"))
                .progress(Progress.tasks(err, !args.flag("--json")));  // packing a large model takes a while
        source(args, config);
        sharedHost(args, config);
        DevicesRun.options(args, config);
        if (args.has("--pin")) config.pin(PinPolicy.parse(args.option("--pin", "none")));  // none|first_last|all|count:N|budget
        if (args.flag("--leaf")) config.leafLevel();
        else config.blocksPerGroup(Main.parseInt(args.option("--blocks-per-group", "1"), "--blocks-per-group", 1, 1 << 16));
        int steps = Main.parseInt(args.option("--steps", "5"), "--steps", 1, 1_000_000);
        int tokens = Main.parseInt(args.option("--tokens", "1"), "--tokens", 1, 65536);
        int hidden = Main.parseInt(args.option("--hidden", String.valueOf(ReferenceWorkload.DEFAULT_HIDDEN)), "--hidden", 1, 65536);
        List<Path> paths = args.positional().stream().map(p -> path(p, "checkpoint path")).toList();
        WorkloadRun.Result r;
        OpenOptions options = OpenOptions.defaults().variant(args.option("--variant", null)).component(args.option("--component", null));
        Path traceFile = args.has("--trace") ? traceFile(args.option("--trace", "")) : null;
        try (Pipeline pipeline = Main.openInputs(paths, options)) {
            if (args.has("--devices")) {  // several devices: DevicesRun (mix workload, a thread per device)
                if (!args.option("--workload", "mix").equals("mix")) throw new UsageException("--devices runs the mix workload only");
                return DevicesRun.run(pipeline.components(), pipeline.totalBytes(), config.build(), steps, tokens, hidden, args.flag("--verify"), args.flag("--json"), out,
                        traceFile);
            }
            if (pipeline.components().size() > 1) {
                Progress progress = new Progress(err, "run", steps * pipeline.components().size(), "steps", !args.flag("--json"));
                WorkloadRun.PipelineResult p = WorkloadRun.runPipeline(pipeline, config.build(), args.option("--workload", "mix"), steps, tokens,
                        hidden, args.flag("--verify"), traceFile == null ? null : trace -> trace.writeChromeJson(traceFile),
                        s -> progress.advance(1));
                progress.finish();
                printPipeline(p, args.flag("--json"), args.flag("--verify"), out);
                return Boolean.FALSE.equals(p.verified()) ? 1 : 0;
            }
            Checkpoint checkpoint = pipeline.components().values().iterator().next();
            Progress progress = new Progress(err, "run", steps, "steps", !args.flag("--json"));
            r = WorkloadRun.run(checkpoint, config.build(), args.option("--workload", "mix"), steps, tokens, hidden, args.flag("--verify"),
                    null, traceFile == null ? null : trace -> trace.writeChromeJson(traceFile), s -> progress.advance(1));
            progress.finish();
        }
        if (args.flag("--json")) {
            out.println(toJson(r));
        } else {
            out.print(r.plan());
            out.printf(Locale.ROOT, "%s, workload %s: %d steps, step %s ms (median), compute %s ms (idle %s), copy %s ms (busy %s),"
                            + " H2D %s GB/s, overlap %s, host waits %s per step (%s ms), host %s us per group,"
                            + " peak device %s of %s budget, peak host %s, source %s%s, verified %s%n",
                    r.strategy(), r.workload(), r.steps(), figure(r.stepMsMedian(), 2), figure(r.computeMsMedian(), 2),
                    figure(r.computeIdleMsMedian(), 2), figure(r.copyMsMedian(), 2), figure(r.copyBusyMsMedian(), 2),
                    figure(r.h2dGbps(), 2), figure(r.overlapEfficiency(), 3), figure(r.hostWaitsPerStep(), 2),
                    figure(r.hostBlockedMsMedian(), 2), figure(r.hostUsPerGroup(), 2),
                    Size.format(r.peakDeviceBytes()), Size.format(r.budgetBytes()), Size.format(r.peakHostBytes()), r.source(),
                    !r.source().equals("pinned") ? " (staging " + Size.format(r.stagingBytes()) + ", " + r.disk().io() + " reads by "
                            + r.disk().readerThreads() + " thread(s), " + figure(r.diskGbps(), 2) + " GB/s)" : "",
                    r.verified() == null ? unverified(null, args.flag("--verify")) : r.verified() + (r.verifyNote() != null ? " (" + r.verifyNote() + ")" : ""));
        }
        return Boolean.FALSE.equals(r.verified()) ? 1 : 0;
    }

    /** What "verified" says: the outcome, or why there is none. */
    private static String unverified(Boolean verified, boolean asked) {
        if (verified != null) return verified.toString();
        return asked ? "nothing to verify (workload none computes nothing)" : "no (--verify not given)";
    }

    /** The --trace file, its folder checked before anything runs (the trace is written at the end). */
    static Path traceFile(String text) {
        Path file = path(text, "--trace");
        Path folder = file.toAbsolutePath().getParent();
        if (folder == null || !java.nio.file.Files.isDirectory(folder)) throw new UsageException("--trace " + text + ": the folder " + folder + " does not exist");
        if (java.nio.file.Files.isDirectory(file)) throw new UsageException("--trace " + text + " is a folder; give a file name");
        if (!java.nio.file.Files.isWritable(folder)) throw new UsageException("--trace " + text + ": the folder " + folder + " is not writable");
        return file;
    }

    /**
     * --source, --staging, --disk-io, --readers and --disk-cache (run, demo and plan): a bad value is a
     * usage error naming the flag. The staging options need the source named (--source, or
     * --disk-cache, which means disk): with no source the run may well be pinned, and a flag that
     * would be silently ignored is refused instead.
     */
    static void source(Args args, OffloadConfig.Builder config) {
        dev.offload.HostSource source;
        try {
            source = dev.offload.HostSource.parse(args.option("--source", "pinned"));
        } catch (dev.offload.OffloadException e) {
            throw new UsageException("--source: " + e.getMessage());
        }
        if (args.has("--source")) config.source(source);  // not given: pinned, or disk where a pinned copy would not fit
        if (args.has("--disk-cache")) {
            if (args.has("--source") && source != dev.offload.HostSource.DISK) throw new UsageException("--disk-cache needs --source disk");
            config.source(dev.offload.HostSource.DISK).diskCache(path(args.option("--disk-cache", ""), "--disk-cache"));
            source = dev.offload.HostSource.DISK;
        }
        if (args.has("--disk-cache-max")) {
            if (!args.has("--disk-cache")) throw new UsageException("--disk-cache-max needs --disk-cache DIR");
            long max;
            try {
                max = Size.parse(args.option("--disk-cache-max", ""));
            } catch (dev.offload.OffloadException e) {
                throw new UsageException("--disk-cache-max: " + e.getMessage());
            }
            if (max <= 0) throw new UsageException("--disk-cache-max must be a positive size, got '" + args.option("--disk-cache-max", "") + "'");
            config.diskCacheMaxBytes(max);
        }
        if (args.has("--disk-cache-check")) {
            if (!args.has("--disk-cache")) throw new UsageException("--disk-cache-check needs --disk-cache DIR");
            try {
                config.diskCacheCheck(dev.offload.DiskCacheCheck.parse(args.option("--disk-cache-check", "")));
            } catch (dev.offload.OffloadException e) {
                throw new UsageException("--disk-cache-check: " + e.getMessage());
            }
        }
        if (args.has("--staging")) {
            if (source == dev.offload.HostSource.PINNED) throw new UsageException("--staging needs --source disk or lowmem");
            long staging;
            try {
                staging = Size.parse(args.option("--staging", ""));
            } catch (dev.offload.OffloadException e) {
                throw new UsageException("--staging: " + e.getMessage());
            }
            if (staging <= 0) throw new UsageException("--staging must be a positive size, got '" + args.option("--staging", "") + "'");
            config.stagingBytes(staging);
        }
        boolean named = args.has("--source") || args.has("--disk-cache");
        if (args.has("--disk-io")) {
            if (!named || source != dev.offload.HostSource.DISK) throw new UsageException("--disk-io needs --source disk");
            try {
                config.diskIo(dev.offload.DiskIo.parse(args.option("--disk-io", "")));
            } catch (dev.offload.OffloadException e) {
                throw new UsageException("--disk-io: " + e.getMessage());
            }
        }
        if (args.has("--readers")) {
            if (!named || source == dev.offload.HostSource.PINNED) {
                throw new UsageException("--readers needs --source disk or lowmem");
            }
            config.readerThreads(Main.parseInt(args.option("--readers", ""), "--readers", 1, dev.offload.OffloadConfig.MAX_READER_THREADS));
        }
    }

    /**
     * --shared-host NAME [--shared-host-remove]: the pinned copy in the named region of /dev/shm, mapped
     * by the node's other runs of the same model under that name (OffloadConfig.sharedHost). A bad name,
     * the remove flag alone, or a source other than pinned is a usage error.
     */
    static void sharedHost(Args args, OffloadConfig.Builder config) {
        if (args.flag("--shared-host-remove") && !args.has("--shared-host")) throw new UsageException("--shared-host-remove needs --shared-host NAME");
        if (!args.has("--shared-host")) return;
        if (args.has("--source") && !args.option("--source", "").equalsIgnoreCase("pinned") || args.has("--disk-cache")) {
            throw new UsageException("--shared-host holds a pinned copy: it needs the pinned source, not --source " + args.option("--source", "disk"));
        }
        try {
            dev.offload.SharedHost region = dev.offload.SharedHost.named(args.option("--shared-host", ""));
            config.source(dev.offload.HostSource.PINNED).sharedHost(args.flag("--shared-host-remove") ? region.removedAtClose() : region);
        } catch (dev.offload.OffloadException e) {
            throw new UsageException("--shared-host: " + e.getMessage());
        }
    }

    /**
     * A path given on the command line. The JVM decodes its arguments with the file-name encoding
     * ({@code sun.jnu.encoding}); bytes that are not valid in it (a non-UTF-8 name such as
     * {@code mod\xe9l\xff.safetensors}) become U+FFFD, and no file has the name that is left. That is
     * refused as a usage error naming the encoding (exit 2), never "no such file". A folder holding
     * such a file works: its listing keeps the raw bytes.
     */
    static Path path(String text, String what) {
        if (text.indexOf('\uFFFD') >= 0) {
            throw new UsageException(what + " '" + text + "': the name has bytes that are not valid " + System.getProperty("sun.jnu.encoding",
                    "in the file-name encoding") + " (Java replaced them with U+FFFD), so it cannot name that file; give its folder instead, or rename it");
        }
        try {
            return Path.of(text);
        } catch (java.nio.file.InvalidPathException e) {
            throw new UsageException(what + " '" + text + "' is not a valid path here: " + e.getReason());
        }
    }

    /** A pipeline run: one line per component, then the whole run's peak; or one JSON object with {@code components}. */
    private static void printPipeline(WorkloadRun.PipelineResult p, boolean json, boolean verify, PrintStream out) {
        if (json) {
            JsonObject j = new JsonObject();
            j.addProperty("layout", "pipeline");
            if (p.verified() == null) j.add("verified", com.google.gson.JsonNull.INSTANCE);
            else j.addProperty("verified", p.verified());
            j.addProperty("budget_bytes", p.budgetBytes());
            j.addProperty("peak_device_bytes", p.peakDeviceBytes());
            j.addProperty("peak_host_bytes", p.peakHostBytes());
            j.addProperty("model_bytes", p.modelBytes());
            com.google.gson.JsonArray list = new com.google.gson.JsonArray();
            for (WorkloadRun.Result r : p.components()) list.add(toJson(r));
            for (int i = 0; i < list.size(); i++) {
                JsonObject c = list.get(i).getAsJsonObject();
                String name = p.activations().keySet().stream().skip(i).findFirst().orElseThrow();
                c.addProperty("name", name);
                c.addProperty("activations", p.activations().get(name));
            }
            j.add("components", list);
            out.println(j);
            return;
        }
        out.print(p.plan());
        int i = 0;
        for (WorkloadRun.Result r : p.components()) {
            String name = p.activations().keySet().stream().skip(i++).findFirst().orElseThrow();
            out.printf(Locale.ROOT, "%s: %s, %d steps, step %s ms (median), H2D %s bytes in the last step, brought onto the device %d time(s),"
                            + " verified %s%n", name, r.strategy(), r.steps(), figure(r.stepMsMedian(), 2), r.h2dBytes(),
                    p.activations().get(name), unverified(r.verified(), verify));
        }
        out.printf(Locale.ROOT, "pipeline: peak device %s of %s budget, peak host %s, model %s, verified %s%n", Size.format(p.peakDeviceBytes()),
                Size.format(p.budgetBytes()), Size.format(p.peakHostBytes()), Size.format(p.modelBytes()),
                unverified(p.verified(), verify));
    }

    /** JSON has no NaN: a figure that does not apply (H2D GB/s when nothing streams) is null. */
    static void number(JsonObject json, String key, double value) {
        if (Double.isFinite(value)) json.addProperty(key, value);
        else json.add(key, com.google.gson.JsonNull.INSTANCE);
    }

    /** "12.34", or "-" for a figure that does not apply. */
    static String figure(double value, int decimals) {
        return Double.isFinite(value) ? String.format(Locale.ROOT, "%." + decimals + "f", value) : "-";
    }

    static JsonObject toJson(WorkloadRun.Result r) {
        JsonObject json = new JsonObject();
        json.addProperty("strategy", r.strategy());
        json.addProperty("workload", r.workload());
        json.addProperty("steps", r.steps());
        if (r.verified() == null) json.add("verified", com.google.gson.JsonNull.INSTANCE);
        else json.addProperty("verified", r.verified());
        json.addProperty("budget_bytes", r.budgetBytes());
        json.addProperty("peak_device_bytes", r.peakDeviceBytes());
        json.addProperty("peak_host_bytes", r.peakHostBytes());
        json.addProperty("model_bytes", r.modelBytes());
        json.addProperty("h2d_bytes", r.h2dBytes());
        json.addProperty("pageable_copies", r.pageableCopies());
        number(json, "step_ms_median", r.stepMsMedian());
        number(json, "copy_ms_median", r.copyMsMedian());
        number(json, "compute_ms_median", r.computeMsMedian());
        number(json, "compute_idle_ms", r.computeIdleMsMedian());
        number(json, "copy_busy_ms", r.copyBusyMsMedian());
        number(json, "host_waits_per_step", r.hostWaitsPerStep());
        number(json, "host_blocked_ms", r.hostBlockedMsMedian());
        number(json, "host_us_per_group", r.hostUsPerGroup());
        number(json, "wall_ms_per_step", r.wallMsPerStep());
        number(json, "h2d_gbps", r.h2dGbps());
        number(json, "overlap_efficiency", r.overlapEfficiency());
        json.addProperty("backend", r.backend());
        json.addProperty("groups", r.groups());
        json.addProperty("slots", r.slots());
        json.addProperty("tokens", r.tokens());
        json.addProperty("steps_ahead", r.stepsAhead());
        json.addProperty("source", r.source());
        json.addProperty("staging_bytes", r.stagingBytes());
        number(json, "disk_read_ms", r.diskReadMs());
        number(json, "disk_gbps", r.diskGbps());
        dev.offload.DiskStats disk = r.disk();
        json.addProperty("disk_io", disk.io());
        json.addProperty("reader_threads", disk.readerThreads());
        json.addProperty("staging_unit_bytes", disk.unitBytes());
        if (disk.probeBufferedGbps() > 0 || disk.probeDirectGbps() > 0) {
            JsonObject probe = new JsonObject();
            number(probe, "buffered", disk.probeBufferedGbps());
            number(probe, "direct", disk.probeDirectGbps());
            json.add("disk_probe_gbps", probe);
        }
        number(json, "first_step_ms", r.firstStepMs());
        if (r.sharedHost() != null) json.addProperty("shared_host", r.sharedHost());
        if (r.verifyNote() != null) json.addProperty("verify_note", r.verifyNote());
        return json;
    }
}
