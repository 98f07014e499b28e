package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Several processes, one copy (issue 20), with real second JVMs on the host backend: a second
 * {@code ./offload run --shared-host} maps the first's region; two processes holding the region
 * share its pages (Pss from /proc/PID/smaps, not RSS); a process killed with SIGKILL while packing
 * leaves nothing another will trust; a full /dev/shm is an error naming the region (exit 1). The
 * figures (times to first step, Pss per process) are printed for docs/BENCHMARKS.md.
 */
class SharedHostProcessesTest {
    @TempDir
    Path dir;
    Path shm;
    String name;

    @BeforeAll
    static void findUnshare() throws Exception {
        FullDiskTest.findUnshare();
    }

    @BeforeEach
    void setUp() throws IOException {
        assumeTrue(Files.isDirectory(Path.of("/dev/shm")) && Files.isReadable(Path.of("/proc/self/smaps")), "needs /dev/shm and /proc (Linux)");
        shm = Files.createTempDirectory(Path.of("/dev/shm"), "offload-shared-host-procs-");
        name = "test-" + ProcessHandle.current().pid() + "-" + Long.toHexString(System.nanoTime());
    }

    @AfterEach
    void cleanUp() throws IOException {
        try (Stream<Path> s = Files.walk(shm)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
        try (Stream<Path> s = Files.list(Path.of("/dev/shm"))) {  // the CLI's regions of this test's name
            for (Path p : s.filter(p -> p.getFileName().toString().contains("offload-" + name + ".")).toList()) Files.deleteIfExists(p);
        }
    }

    /** The one region of component "model" under this test's name in {@code folder} (its file name ends in the layout's 8 hex digits). */
    Path regionIn(Path folder) throws IOException {
        try (Stream<Path> s = Files.list(folder)) {
            List<Path> found = s.filter(p -> p.getFileName().toString().matches("offload-" + java.util.regex.Pattern.quote(name)
                    + "\\.model\\.[0-9a-f]{8}")).toList();
            assertEquals(1, found.size(), "one region: " + found);
            return found.get(0);
        }
    }

    Path synth(String... sizes) {
        Path model = dir.resolve("model.safetensors");
        List<String> args = new ArrayList<>(List.of("synth", model.toString()));
        args.addAll(List.of(sizes));
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        assertEquals(0, Main.run(args.toArray(String[]::new), new PrintStream(new ByteArrayOutputStream()), new PrintStream(err)), err.toString());
        return model;
    }

    static List<String> java(String main, String... args) {
        List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow(),
                "--enable-native-access=ALL-UNNAMED", "-Xmx512m", "-cp", System.getProperty("java.class.path"), main));
        command.addAll(List.of(args));
        return command;
    }

    record Run(int exit, JsonObject json, String stderr) {}

    static Run cli(String... args) throws Exception {
        Process p = new ProcessBuilder(java("dev.offload.cli.Main", args)).start();
        var err = new java.util.concurrent.CompletableFuture<String>();
        Thread.ofVirtual().start(() -> {
            try {
                err.complete(new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
            } catch (IOException e) {
                err.complete(e.toString());
            }
        });
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(180, TimeUnit.SECONDS), "the CLI did not finish");
        String last = out.isBlank() ? null : out.strip().lines().reduce((a, b) -> b).orElseThrow();
        return new Run(p.exitValue(), last == null ? null : JsonParser.parseString(last).getAsJsonObject(), err.get());
    }

    @Test
    void aSecondRunMapsTheFirstsRegionAndTheLastRemovesItWhenAsked() throws Exception {
        Path model = synth("--dim", "1024", "--blocks", "6", "--single-blocks", "2");  // about 220 MiB
        String[] run = {"run", model.toString(), "--device", "host", "--steps", "2", "--workload", "mix", "--verify", "--shared-host", name, "--json"};
        Run first = cli(run);
        assertEquals(0, first.exit(), first.stderr());
        Path region = regionIn(Path.of("/dev/shm"));
        assertTrue(first.json().get("shared_host").getAsString().startsWith("created: " + region + " ("), first.json().toString());
        assertTrue(first.json().get("verified").getAsBoolean());
        assertTrue(Files.isRegularFile(region), "left in place by the last process to close it");
        List<String> removing = new ArrayList<>(List.of(run));
        removing.add("--shared-host-remove");
        Run second = cli(removing.toArray(String[]::new));
        assertEquals(0, second.exit(), second.stderr());
        assertTrue(second.json().get("shared_host").getAsString().startsWith("mapped: " + region + " ("), second.json().toString());
        assertTrue(second.json().get("verified").getAsBoolean(), "the mapped copy gives the reference's output bit for bit");
        assertFalse(Files.exists(region), "--shared-host-remove: the last process removed it");
        System.out.printf(Locale.ROOT, "shared host, %d bytes: time to first step created %.0f ms, mapped %.0f ms%n",
                first.json().get("model_bytes").getAsLong(), first.json().get("first_step_ms").getAsDouble(),
                second.json().get("first_step_ms").getAsDouble());
    }

    /** A holder process (SharedHostHolder) and its output's lines. */
    record Holder(Process process, BufferedReader out) {
        static Holder start(String... args) throws IOException {
            Process p = new ProcessBuilder(java("dev.offload.cli.SharedHostHolder", args)).redirectError(ProcessBuilder.Redirect.INHERIT).start();
            return new Holder(p, new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8)));
        }

        String line() throws IOException {
            String l = out.readLine();
            assertTrue(l != null, "the holder ended early (exit " + (process.isAlive() ? "-" : process.exitValue()) + ")");
            return l;
        }

        int release() throws Exception {
            process.getOutputStream().write('\n');
            process.getOutputStream().flush();
            assertTrue(process.waitFor(60, TimeUnit.SECONDS), "the holder did not end");
            return process.exitValue();
        }
    }

    /** Pss in bytes of a process: of the mappings of the file with {@code inode}, and in all ({@code smaps_rollup}). */
    static long[] pss(long pid, long inode) throws IOException {
        long region = 0, total = 0;
        boolean inRegion = false;
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/smaps"))) {
            String[] f = line.trim().split("\\s+");
            if (f.length >= 5 && f[0].matches("[0-9a-f]+-[0-9a-f]+")) {
                inRegion = f[4].equals(Long.toString(inode));
            } else if (f[0].equals("Pss:")) {
                long bytes = Long.parseLong(f[1]) * 1024;
                total += bytes;
                if (inRegion) region += bytes;
            }
        }
        return new long[] {region, total};
    }

    @Test
    void twoProcessesHoldingTheRegionShareOneCopyOfItsPages() throws Exception {
        Path model = synth("--dim", "1024", "--blocks", "4", "--single-blocks", "2");  // about 150 MiB
        Holder a = Holder.start(model.toString(), shm.toString(), name);
        Holder b = null;
        try {
            String ready = a.line();
            assertTrue(ready.startsWith("ready created: "), ready);
            b = Holder.start(model.toString(), shm.toString(), name);
            ready = b.line();
            assertTrue(ready.startsWith("ready mapped: "), ready);
            Path region = regionIn(shm);
            long bytes = Files.size(region), inode = ((Number) Files.getAttribute(region, "unix:ino")).longValue();
            long[] pa = pss(a.process().pid(), inode), pb = pss(b.process().pid(), inode);
            long shared = pa[0] + pb[0];
            System.out.printf(Locale.ROOT, "shared host region %d bytes: Pss of the region %d + %d = %d bytes (%.3fx the region);"
                            + " the rest of each process's Pss (its constant): %.1f MiB, %.1f MiB%n", bytes, pa[0], pb[0], shared,
                    shared / (double) bytes, (pa[1] - pa[0]) / 1048576.0, (pb[1] - pb[0]) / 1048576.0);
            assertTrue(shared <= bytes * 1.05, "one copy: Pss summed over both " + shared + " > 1.05 x " + bytes);
            assertTrue(shared >= bytes * 0.9, "the region's pages are mapped by both: " + shared + " of " + bytes);
            assertTrue(pa[0] > bytes * 0.4 && pb[0] > bytes * 0.4, "each process's share is about half: " + pa[0] + ", " + pb[0]);
            assertEquals(0, b.release());
            assertEquals(0, a.release());
        } finally {
            a.process().destroyForcibly();
            if (b != null) b.process().destroyForcibly();
        }
    }

    @Test
    void aProcessKilledWhilePackingLeavesNoRegionAnotherTrusts() throws Exception {
        Path model = synth("--dim", "256", "--blocks", "4", "--single-blocks", "1");
        Holder killed = Holder.start(model.toString(), shm.toString(), name, "stall");
        try {
            String line = killed.line();
            assertTrue(line.startsWith("packing "), line);
            killed.process().destroyForcibly();  // SIGKILL: no shutdown hook runs
            assertTrue(killed.process().waitFor(60, TimeUnit.SECONDS));
        } finally {
            killed.process().destroyForcibly();
        }
        List<String> left;
        try (Stream<Path> s = Files.list(shm)) {
            left = s.map(p -> p.getFileName().toString()).sorted().toList();
        }
        assertFalse(left.stream().anyMatch(n -> n.startsWith("offload-" + name + ".model.")), "nothing at the region's name: " + left);
        assertTrue(left.stream().anyMatch(n -> n.startsWith(".offload-" + name + ".model.") && n.contains(".offload-tmp-")), "its temporary: " + left);
        Holder next = Holder.start(model.toString(), shm.toString(), name);
        try {
            String ready = next.line();
            Path region = regionIn(shm);
            assertTrue(ready.startsWith("ready created: " + region + " ("), "packed again, not mapped: " + ready);
            try (Stream<Path> s = Files.list(shm)) {
                String file = region.getFileName().toString();
                assertEquals(List.of("." + file + ".lock", file),
                        s.map(p -> p.getFileName().toString()).sorted().toList(), "the killed writer's temporary was removed");
            }
            assertEquals(0, next.release());
        } finally {
            next.process().destroyForcibly();
        }
    }

    @Test
    void badSharedHostOptionsAreUsageErrors() {
        Path model = synth("--dim", "64", "--blocks", "1", "--single-blocks", "0");
        String[][] cases = {
                {"--shared-host-remove"}, {"--shared-host", ".hidden"}, {"--shared-host", "a/b"},
                {"--shared-host", "x", "--source", "disk"}, {"--shared-host", "x", "--disk-cache", dir.toString()}};
        String[] expected = {"--shared-host-remove needs --shared-host NAME", "--shared-host: shared host region name '.hidden': use 1 to 100",
                "--shared-host: shared host region name 'a/b'", "--shared-host holds a pinned copy: it needs the pinned source, not --source disk",
                "--shared-host holds a pinned copy"};
        for (int i = 0; i < cases.length; i++) {
            List<String> args = new ArrayList<>(List.of("run", model.toString(), "--device", "host", "--steps", "1"));
            args.addAll(List.of(cases[i]));
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            int exit = Main.run(args.toArray(String[]::new), new PrintStream(new ByteArrayOutputStream()), new PrintStream(err));
            assertEquals(2, exit, String.join(" ", cases[i]) + ": " + err);
            assertTrue(err.toString().contains(expected[i]), err.toString());
        }
    }

    @Test
    void aFullDevShmIsAnErrorNamingTheRegionAndLeavesNoTemporary() throws Exception {
        assumeTrue(FullDiskTest.unshare != null, "no private mount namespace here (unshare -m and unshare --user both failed)");
        Path model = synth("--dim", "512", "--blocks", "2", "--single-blocks", "1");  // a few MiB: more than the 1 MiB tmpfs
        Path stderr = dir.resolve("stderr.txt");
        StringBuilder cli = new StringBuilder();
        for (String a : java("dev.offload.cli.Main", "run", model.toString(), "--device", "host", "--steps", "1", "--shared-host", "full")) {
            cli.append(" '").append(a.replace("'", "'\\''")).append('\'');
        }
        String script = "mount -t tmpfs -o size=1m tmpfs /dev/shm || exit 97\n" + cli + " >/dev/null 2>\"$ERR\"\necho \"exit=$?\"\nls -A /dev/shm\n";
        List<String> command = new ArrayList<>(FullDiskTest.unshare);
        command.addAll(List.of("sh", "-c", script));
        ProcessBuilder pb = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT);
        pb.environment().put("ERR", stderr.toString());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(180, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        List<String> lines = List.of(out.strip().split("\n"));
        assertEquals("exit=1", lines.get(0), Files.readString(stderr));
        String error = Files.readString(stderr).strip();
        assertTrue(error.matches("offload: cannot write the shared host region 'full' of component 'model' /dev/shm/offload-full\\.model\\.[0-9a-f]{8}:"
                + " no space left on device"), error);
        assertEquals(1, lines.size() - 1, "no region, no temporary: " + lines);
        assertTrue(lines.get(1).matches("\\.offload-full\\.model\\.[0-9a-f]{8}\\.lock"), "only its lock file: " + lines);
    }
}
