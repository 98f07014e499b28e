package dev.offload.workload;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.offload.Group;
import dev.offload.OffloadConfig;
import dev.offload.Offloader;
import dev.offload.Step;
import dev.offload.Strategy;
import dev.offload.checkpoint.Checkpoint;
import dev.offload.graph.BlockGraph;
import dev.offload.graph.Grouping;
import dev.offload.graph.TensorRef;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * synth --like's scaling, names and config.json; the linear workload's sizes read from it (or
 * inferred without it); and every new operation proven to count: one poisoned element of a norm,
 * gate, bias, key (grouped-query), embedding or lm_head weight fails verification on the host backend.
 */
class TransformerLikeTest {
    static final int TOKENS = 4, STEPS = 2;
    @TempDir
    Path dir;

    @Test
    void scalingKeepsTheRealRatios() {
        TransformerLike.Scaled llama = TransformerLike.scale(TransformerLike.preset("llama"), 256, 16);
        assertEquals(List.of(896, 8, 8016), List.of(llama.intermediate(), llama.headDim(), llama.vocab()));  // 14336/4096 = 3.5
        TransformerLike.Scaled qwen = TransformerLike.scale(TransformerLike.preset("qwen2"), 224, 14);
        assertEquals(List.of(1184, 8, 9504), List.of(qwen.intermediate(), qwen.headDim(), qwen.vocab()));  // 18944/3584 = 37/7
        TransformerLike.Scaled mistral = TransformerLike.scale(TransformerLike.preset("mistral"), 256, 16);
        assertEquals(List.of(896, 8, 2000), List.of(mistral.intermediate(), mistral.headDim(), mistral.vocab()));
        JsonObject c = TransformerLike.config(qwen);
        assertEquals("Qwen2ForCausalLM", c.getAsJsonArray("architectures").get(0).getAsString());
        assertEquals("qwen2", c.get("model_type").getAsString());
        assertEquals(28, c.get("num_attention_heads").getAsInt());
        assertEquals(4, c.get("num_key_value_heads").getAsInt());
        assertEquals(1e-6, c.get("rms_norm_eps").getAsDouble());
    }

    @Test
    void theFolderHasTheRealNamesAndTheWorkloadReadsItsConfig() throws Exception {
        Path folder = dir.resolve("qwen");
        TransformerLikeSuite.Result r = TransformerLikeSuite.cli("synth", folder.toString(), "--like", "qwen2", "--dim", "56", "--blocks", "3",
                "--json");
        assertEquals(0, r.exit(), r.err());
        JsonObject j = JsonParser.parseString(r.out()).getAsJsonObject();
        JsonObject config = JsonParser.parseString(Files.readString(folder.resolve("config.json"))).getAsJsonObject();
        assertEquals(j.getAsJsonObject("config"), config);
        try (Checkpoint c = Checkpoint.open(folder)) {
            assertEquals(j.get("total_bytes").getAsLong(), c.totalBytes());
            for (String name : List.of("model.embed_tokens.weight", "model.layers.2.self_attn.q_proj.bias", "model.layers.2.self_attn.k_proj.weight",
                    "model.layers.2.mlp.gate_proj.weight", "model.layers.2.input_layernorm.weight", "model.layers.2.post_attention_layernorm.weight",
                    "model.norm.weight", "lm_head.weight")) {
                assertNotNull(c.tensor(name));
            }
            assertEquals(List.of(8L, 56L), List.of(c.tensor("model.layers.0.self_attn.k_proj.weight").shape()[0],
                    c.tensor("model.layers.0.self_attn.k_proj.weight").shape()[1]));  // 4 kv heads of 2
            LinearShape s = LinearShape.of(c);
            assertEquals(List.of(56, 296, 28, 4, 2, 7, 2376), List.of(s.hidden(), s.intermediate(), s.heads(), s.kvHeads(), s.headDim(), s.group(),
                    s.vocab()));
            assertEquals(1e-6, s.eps());
            assertTrue(s.source().endsWith("config.json") && s.normed() && s.gated() && s.embedded() && s.hasLmHead(), s.toString());
            BlockGraph graph = BlockGraph.discover(c);
            assertEquals(List.of("model.embed_tokens.weight"), graph.head().stream().map(TensorRef::name).toList());
            // the Qwen2ForCausalLM preset (config.json names the class): the forward's order, the final norm then lm_head
            assertEquals("preset Qwen2ForCausalLM", graph.source().toString());
            assertEquals(List.of("model.norm.weight", "lm_head.weight"), graph.tail().stream().map(TensorRef::name).toList());
            assertEquals(3, graph.blockLists().get(0).blocks().size());
        }
        Files.delete(folder.resolve("config.json"));  // now inferred from the shapes, and said so
        try (Checkpoint c = Checkpoint.open(folder)) {
            LinearShape s = LinearShape.of(c);
            assertEquals(List.of(56, 296, 8, 7), List.of(s.hidden(), s.intermediate(), s.kvWidth(), s.group()));
            assertTrue(s.source().startsWith("no config.json beside ") && s.source().contains("inferred from tensor shapes"), s.source());
        }
    }

    @Test
    void aPoisonedElementOfEveryNewRoleFailsVerification() {
        Path folder = dir.resolve("qwen");
        TransformerLike.write(folder, TransformerLike.scale(TransformerLike.preset("qwen2"), 56, 3), 5);
        try (Checkpoint model = Checkpoint.open(folder); Arena arena = Arena.ofConfined()) {
            LinearShape shape = LinearShape.of(model);
            List<TensorRef> order = BlockGraph.discover(model).tensors();
            OffloadConfig config = OffloadConfig.builder().device("host").strategy(Strategy.GROUP_OFFLOAD).grouping(Grouping.blocks(1)).build();
            try (Offloader off = Offloader.open(config); LinearWorkload w = new LinearWorkload(off, TOKENS, shape, STEPS)) {
                off.register("model", model);
                w.start(order);
                for (int s = 0; s < STEPS; s++) {
                    try (Step step = off.step("model")) {
                        for (Group g : step) w.group(g);
                    }
                    w.snapshot(s);
                }
                assertNull(w.verify(STEPS, order, new Workload.Expected()));
                LinearWorkload.State ref = LinearWorkload.initialReference(TOKENS, shape, 7);
                for (int s = 0; s < STEPS; s++) LinearWorkload.referenceStep(ref, TOKENS, shape, order);
                int rounds = LinearWorkload.roundsPerStep(order, shape) * STEPS;
                double clean = Math.max(LinearTolerance.worstError(w.snapshotOf(STEPS - 1), ref.x(), rounds),
                        LinearTolerance.worstError(w.logitsOf(STEPS - 1), ref.l(), rounds + 1));
                System.out.printf("linear --like qwen2 on host: worst error %.3f of the tolerance%n", clean);
                assertTrue(clean <= 0.5, "the unpoisoned run uses at most half the tolerance, used " + clean);
                for (String name : List.of("model.layers.1.input_layernorm.weight", "model.layers.1.post_attention_layernorm.weight",
                        "model.layers.1.mlp.gate_proj.weight", "model.layers.1.self_attn.q_proj.bias", "model.layers.1.self_attn.k_proj.bias",
                        "model.layers.1.self_attn.k_proj.weight", "model.embed_tokens.weight", "lm_head.weight", "model.norm.weight")) {
                    List<TensorRef> poisoned = new ArrayList<>(order);
                    for (int i = 0; i < poisoned.size(); i++) {
                        TensorRef t = poisoned.get(i);
                        if (!t.name().equals(name)) continue;
                        MemorySegment copy = arena.allocate(t.byteSize());
                        copy.copyFrom(t.data());
                        long element = name.endsWith("embed_tokens.weight") ? (long) ref.ids()[1] * shape.hidden() + 3 : 3;
                        copy.set(ValueLayout.JAVA_SHORT_UNALIGNED, 2 * element, Bf16.fromFloat(8f));
                        poisoned.set(i, new TensorRef(t.name(), t.dtype(), t.shape(), copy));
                    }
                    assertNotNull(w.verify(STEPS, poisoned, new Workload.Expected()), "a poisoned " + name + " must fail verification");
                }
            }
        }
    }

    @Test
    void aConfigThatDisagreesWithTheTensorsIsRefusedNamingBoth() throws Exception {
        Path folder = dir.resolve("llama");
        TransformerLike.write(folder, TransformerLike.scale(TransformerLike.preset("llama"), 64, 2), 5);
        Path config = folder.resolve("config.json");
        String text = Files.readString(config);
        Files.writeString(config, text.replace("\"num_key_value_heads\": 8", "\"num_key_value_heads\": 4"));
        TransformerLikeSuite.Result r = TransformerLikeSuite.cli("run", folder.toString(), "--device", "host", "--workload", "linear", "--steps", "1");
        assertEquals(2, r.exit(), r.err());
        assertTrue(r.err().contains("self_attn.k_proj.weight") && r.err().contains("expected BF16 [8, 64]") && r.err().contains(config.toString()),
                r.err());
        Files.writeString(config, text.replace("\"hidden_size\"", "\"hidden\""));
        r = TransformerLikeSuite.cli("run", folder.toString(), "--device", "host", "--workload", "linear", "--steps", "1");
        assertEquals(2, r.exit(), r.err());
        assertTrue(r.err().contains(config + ": hidden_size is missing"), r.err());
    }
}
