package dev.offload.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.OffloadException;
import dev.offload.Status;
import dev.offload.workload.SyntheticModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Issue 16: a model_index.json listing components whose folders are missing. */
class PipelineIndexTest {
    @TempDir
    Path dir;

    /** The WARNING records of the checkpoint logger (System.Logger goes to java.util.logging here) while {@code body} runs. */
    static List<String> warnings(Runnable body) {
        Logger logger = Logger.getLogger("dev.offload.checkpoint");
        List<String> seen = new ArrayList<>();
        Handler handler = new Handler() {
            @Override
            public void publish(LogRecord r) {
                if (r.getLevel().intValue() >= Level.WARNING.intValue()) {
                    seen.add(java.text.MessageFormat.format(r.getMessage(), r.getParameters()));
                }
            }
            @Override public void flush() {}
            @Override public void close() {}
        };
        logger.addHandler(handler);
        try {
            body.run();
        } finally {
            logger.removeHandler(handler);
        }
        return seen;
    }

    Path pipeline(String index) throws Exception {
        Path p = dir.resolve("pipe");
        SyntheticModel.write(Files.createDirectories(p.resolve("transformer")).resolve("diffusion_pytorch_model.safetensors"), 64, 1, 0, 1);
        Files.createDirectories(p.resolve("scheduler"));
        Files.writeString(p.resolve("scheduler").resolve("scheduler_config.json"), "{}");
        Files.writeString(p.resolve("model_index.json"), index);
        return p;
    }

    @Test
    void missingComponentFoldersAreAWarningNamingEachAndTheRestOpen() throws Exception {
        Path p = pipeline("{\"_class_name\": \"P\", \"text_encoder\": [\"transformers\", \"T5\"], \"transformer\": [\"diffusers\", \"D\"],"
                + " \"vae\": [\"diffusers\", \"AutoencoderKL\"], \"scheduler\": [\"diffusers\", \"S\"], \"safety_checker\": [null, null]}");
        List<String> warned = warnings(() -> {
            try (Pipeline opened = Pipeline.open(p)) {
                assertEquals(List.of("transformer"), List.copyOf(opened.components().keySet()));
            }
        });
        assertEquals(1, warned.size(), warned.toString());
        String w = warned.get(0);
        assertTrue(w.startsWith(p.resolve("model_index.json") + " lists 2 component(s) whose folders are missing: 'text_encoder' ("
                + p.resolve("text_encoder") + "), 'vae' (" + p.resolve("vae") + ")"), w);
        assertTrue(!w.contains("safety_checker") && !w.contains("scheduler"), w);  // [null, null]; a folder without weights
        // Choosing the present component says nothing; choosing a missing one is refused naming it.
        assertEquals(List.of(), warnings(() -> Pipeline.open(p, OpenOptions.defaults().component("transformer")).close()));
        OffloadException e = assertThrows(OffloadException.class, () -> Pipeline.open(p, OpenOptions.defaults().component("vae")));
        assertEquals(Status.INVALID_ARGUMENT, e.status());
        assertTrue(e.getMessage().contains("lists component 'vae' but its folder " + p.resolve("vae") + " is missing"), e.getMessage());
    }

    @Test
    void noComponentLeftIsRefusedNamingTheIndexAndTheMissing() throws Exception {
        Path p = pipeline("{\"text_encoder\": [\"transformers\", \"T5\"], \"vae\": [\"diffusers\", \"AutoencoderKL\"]}");
        OffloadException e = assertThrows(OffloadException.class, () -> Pipeline.open(p));
        assertEquals(Status.INVALID_ARGUMENT, e.status());
        assertEquals(p.resolve("model_index.json") + ": names no component folder holding .safetensors weights; the folders of 'text_encoder' ("
                + p.resolve("text_encoder") + "), 'vae' (" + p.resolve("vae") + ") are missing", e.getMessage());
    }

    /** The CLI (a JVM of its own, its logging as ./offload sets it) prints the warning on stderr and goes on. */
    @Test
    void theCliPrintsTheWarningOnStderr() throws Exception {
        Path p = pipeline("{\"transformer\": [\"diffusers\", \"D\"], \"vae\": [\"diffusers\", \"AutoencoderKL\"]}");
        var r = dev.offload.internal.NativeLibraryTest.cli(List.of("-Djava.util.logging.SimpleFormatter.format=offload: %4$s: %5$s%n"),
                "inspect", p.toString());
        assertEquals(0, r.exit(), r.stderr());
        assertTrue(r.stderr().contains("offload: WARNING: " + p.resolve("model_index.json") + " lists 1 component(s) whose folders are missing: 'vae' ("
                + p.resolve("vae") + ")"), r.stderr());
    }
}
