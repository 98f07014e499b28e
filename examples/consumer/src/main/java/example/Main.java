package example;

import dev.offload.DeviceTensor;
import dev.offload.Group;
import dev.offload.OffloadConfig;
import dev.offload.Offloader;
import dev.offload.Step;
import dev.offload.Strategy;
import dev.offload.checkpoint.Checkpoint;
import dev.offload.checkpoint.DType;
import dev.offload.checkpoint.SafetensorsWriter;
import dev.offload.internal.NativeLibrary;
import dev.offload.runtime.HostFunction;
import dev.offload.runtime.PinnedBuffer;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.jar.JarFile;

/**
 * A project using offload through its Maven artifact alone: it writes a small checkpoint, streams it
 * through one step on the host backend (group offloading, two ring slots for four blocks), copies
 * every tensor the step put on the device back into pinned memory in stream order, and compares the
 * copies with the checkpoint's bytes in a host function queued after them on the same stream. Exits 1
 * on any difference, when the native library did not come from the jar, or when that jar does not
 * name its module {@code dev.offload} in its manifest.
 */
public final class Main {
    private Main() {}

    public static void main(String[] args) throws Exception {
        Path dir = Files.createTempDirectory("offload-consumer-");
        Path file = dir.resolve("model.safetensors");
        try {
            System.exit(run(file));
        } finally {
            Files.deleteIfExists(file);
            Files.deleteIfExists(dir);
        }
    }

    /**
     * Null when the jar offload's classes came from names its module {@code dev.offload} in its
     * manifest and carries this platform's liboffload; else what is wrong.
     */
    static String offloadJarProblem() throws Exception {
        Path jar = Path.of(Offloader.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        if (!Files.isRegularFile(jar)) return "offload's classes come from " + jar + ", not from its jar";
        try (JarFile j = new JarFile(jar.toFile())) {
            String name = j.getManifest() == null ? null : j.getManifest().getMainAttributes().getValue("Automatic-Module-Name");
            if (!"dev.offload".equals(name)) return jar + ": manifest Automatic-Module-Name is " + name + ", not dev.offload";
            String library = "native/" + NativeLibrary.platform() + "/" + System.mapLibraryName("offload");
            if (j.getEntry(library) == null) return jar + " has no " + library;
        }
        Module module = Offloader.class.getModule();
        if (module.isNamed() && !module.getName().equals("dev.offload")) return "offload is in module " + module.getName();
        return null;
    }

    static int run(Path file) throws Exception {
        List<SafetensorsWriter.Spec> specs = new ArrayList<>();
        specs.add(new SafetensorsWriter.Spec("model.embed_tokens.weight", DType.BF16, new long[] {64, 32}));
        for (int i = 0; i < 4; i++) {
            specs.add(new SafetensorsWriter.Spec("model.layers." + i + ".self_attn.q_proj.weight", DType.BF16, new long[] {32, 32}));
            specs.add(new SafetensorsWriter.Spec("model.layers." + i + ".mlp.up_proj.weight", DType.F32, new long[] {64, 32}));
        }
        specs.add(new SafetensorsWriter.Spec("lm_head.weight", DType.BF16, new long[] {64, 32}));
        SafetensorsWriter.write(file, specs, Map.of("format", "pt"), (spec, target) -> {
            int seed = spec.name().hashCode();
            for (long j = 0; j < target.byteSize(); j++) target.set(ValueLayout.JAVA_BYTE, j, (byte) (seed + 31 * j));
        });

        String jarProblem = offloadJarProblem();
        if (jarProblem != null) {
            System.err.println("consumer: " + jarProblem);
            return 1;
        }
        String library = NativeLibrary.load();
        if (System.getProperty(NativeLibrary.PROPERTY) != null || library.equals("java.library.path")) {
            System.err.println("consumer: liboffload came from " + library + ", not from the offload jar");
            return 1;
        }
        Map<String, Long> at = new LinkedHashMap<>();  // tensor name -> offset of its copy in `back`
        AtomicInteger compared = new AtomicInteger();
        try (Offloader off = Offloader.open(OffloadConfig.builder().device("host").strategy(Strategy.GROUP_OFFLOAD).build());
             Checkpoint ckpt = Checkpoint.open(file);
             PinnedBuffer back = off.runtime().allocatePinned(ckpt.totalBytes());
             HostFunction compare = new HostFunction("compare with the checkpoint", argument -> {
                 for (Map.Entry<String, Long> e : at.entrySet()) {
                     MemorySegment expected = ckpt.data(ckpt.tensor(e.getKey()));
                     MemorySegment got = back.segment().asSlice(e.getValue(), expected.byteSize());
                     long differs = got.mismatch(expected);
                     if (differs >= 0) throw new AssertionError(e.getKey() + ": byte " + differs + " differs from the checkpoint");
                     compared.incrementAndGet();
                 }
             })) {
            off.register("model", ckpt);
            int groups = 0;
            long offset = 0;
            try (Step s = off.step("model")) {
                for (Group g : s) {
                    groups++;
                    for (DeviceTensor t : g.tensors()) {
                        s.computeStream().copyToHost(t.devicePointer(), back.segment().asSlice(offset, t.byteSize()), t.byteSize());
                        at.put(t.name(), offset);
                        offset += t.byteSize();
                    }
                }
                compare.launch(s.computeStream(), 0);  // after the copies, in stream order
            }
            off.computeStream().synchronize();
            compare.check();
            if (compared.get() != specs.size()) {
                System.err.println("consumer: compared " + compared.get() + " tensors of " + specs.size());
                return 1;
            }
            Module module = Offloader.class.getModule();
            System.out.println("consumer: one step of " + groups + " groups on " + off.deviceInfo().name() + ", " + compared.get()
                    + " tensors equal to the checkpoint's bytes; liboffload from " + library + "; offload in "
                    + (module.isNamed() ? "module " + module.getName() : "the unnamed module (class path)"));
            return 0;
        }
    }
}
