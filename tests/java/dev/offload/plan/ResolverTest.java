package dev.offload.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.OffloadException;
import dev.offload.Status;
import dev.offload.Strategy;
import dev.offload.checkpoint.DType;
import dev.offload.graph.BlockGraph;
import dev.offload.graph.Grouping;
import dev.offload.graph.TensorRef;
import java.lang.foreign.Arena;
import java.util.List;
import org.junit.jupiter.api.Test;

/** AUTO: the size rules, the budget shares of a pipeline, the choice from a compute profile, the host check. */
class ResolverTest {
    static final Arena ARENA = Arena.ofAuto();
    static final long K = 1024, M = 1024 * 1024;

    static TensorRef tensor(String name, long bytes) {
        return new TensorRef(name, DType.U8, new long[] {bytes}, ARENA.allocate(bytes));
    }

    /** head, n blocks of blockBytes, tail. */
    static BlockGraph graph(String name, long headBytes, int blocks, long blockBytes, long tailBytes) {
        BlockGraph.Builder b = BlockGraph.builder().head(tensor(name + ".head", headBytes));
        for (int i = 0; i < blocks; i++) b.block("blocks", List.of(tensor(name + ".blocks." + i + ".w", blockBytes)));
        return b.tail(tensor(name + ".tail", tailBytes)).build();
    }

    static Resolver.Facts facts(long device) {
        return new Resolver.Facts(device, java.util.OptionalLong.empty(), 1.0, 0.0, 0);
    }

    static Resolver.Choice only(List<Resolver.Choice> choices) {
        assertEquals(1, choices.size());
        return choices.get(0);
    }

    @Test
    void weightsThatFitWithHeadroomAreNotOffloaded() {
        BlockGraph g = graph("m", 64 * K, 4, 256 * K, 64 * K);  // ~1.1 MiB
        Resolver.Choice c = only(Resolver.resolve(List.of(new Resolver.Input("m", g, null)), facts(2 * M)));
        assertEquals(Strategy.NO_OFFLOAD, c.setup().strategy());
        assertTrue(c.reasons().get(0).contains("x 1.5 fit"), c.reasons().toString());
        // 1.1 MiB x 1.5 does not fit 1.5 MiB: streamed, and 4 blocks < 8 is GROUP_OFFLOAD
        Resolver.Choice tight = only(Resolver.resolve(List.of(new Resolver.Input("m", g, null)), facts(3 * M / 2)));
        assertEquals(Strategy.GROUP_OFFLOAD, tight.setup().strategy());
        assertTrue(tight.reasons().get(0).contains("4 repeated blocks < 8"), tight.reasons().toString());
    }

    @Test
    void manyRepeatedBlocksGetBlockPinWithTheBudgetFilled() {
        BlockGraph g = graph("m", 64 * K, 12, 256 * K, 64 * K);  // ~3.1 MiB
        Resolver.Choice c = only(Resolver.resolve(List.of(new Resolver.Input("m", g, null)), facts(2 * M)));
        assertEquals(Strategy.BLOCK_PIN, c.setup().strategy());
        assertTrue(c.plan().deviceBytes() <= 2 * M, c.plan().describe());
        assertTrue(c.plan().pinnedGroups().size() >= 4, c.plan().describe());
        assertTrue(c.reasons().get(0).contains("12 repeated blocks >= 8"), c.reasons().toString());
        assertTrue(!c.profiled() && c.predictedStepMs() > 0, "copies only: " + c.predictedStepMs());
    }

    @Test
    void aPipelineWhoseLargestComponentFitsTakesTurns() {
        List<Resolver.Input> in = List.of(new Resolver.Input("text_encoder", graph("te", 32 * K, 4, 128 * K, 32 * K), null),
                new Resolver.Input("transformer", graph("tr", 64 * K, 10, 256 * K, 64 * K), null),
                new Resolver.Input("vae", graph("vae", 32 * K, 2, 64 * K, 32 * K), null));
        List<Resolver.Choice> choices = Resolver.resolve(in, facts(4 * M));  // largest 2.6 MiB x 1.5 fits, all 3.3 MiB do not
        assertEquals(List.of("text_encoder", "transformer", "vae"), choices.stream().map(Resolver.Choice::component).toList());
        for (Resolver.Choice c : choices) {
            assertEquals(Strategy.MODEL_OFFLOAD, c.setup().strategy(), c.component());
            assertTrue(c.reasons().get(0).contains("components take turns"), c.reasons().toString());
        }
    }

    @Test
    void aPipelineTooLargeForTurnsStreamsTheBigComponentAndLetsTheSmallOnesTakeTurns() {
        List<Resolver.Input> in = List.of(new Resolver.Input("text_encoder", graph("te", 16 * K, 4, 64 * K, 16 * K), null),
                new Resolver.Input("transformer", graph("tr", 64 * K, 16, 512 * K, 64 * K), null),
                new Resolver.Input("vae", graph("vae", 16 * K, 2, 32 * K, 16 * K), null));
        long device = 3 * M;
        List<Resolver.Choice> choices = Resolver.resolve(in, facts(device));
        assertEquals(Strategy.MODEL_OFFLOAD, choices.get(0).setup().strategy());
        assertEquals(Strategy.BLOCK_PIN, choices.get(1).setup().strategy());
        assertEquals(Strategy.MODEL_OFFLOAD, choices.get(2).setup().strategy());
        long region = Math.max(choices.get(0).plan().deviceBytes(), choices.get(2).plan().deviceBytes());
        assertTrue(region + choices.get(1).plan().deviceBytes() <= device, "the transformer's pins leave the turn-taking region");
        assertTrue(choices.get(1).plan().pinnedGroups().size() > 0, choices.get(1).plan().describe());
    }

    @Test
    void withAProfileTheChoiceIsTheLeastPredictedOfEveryCandidateThatFits() {
        BlockGraph g = graph("m", 64 * K, 12, 1000 * K, 64 * K);
        int units = g.groups(Grouping.blocks(1)).size();
        double[] compute = new double[units];
        java.util.Arrays.fill(compute, 1.0);  // 1 ms per block, copies of ~1 ms at 1 GB/s: balanced
        ComputeProfile profile = new ComputeProfile(compute, 1.0);
        Resolver.Input input = new Resolver.Input("m", g, profile);
        Resolver.Facts facts = new Resolver.Facts(6 * M, java.util.OptionalLong.empty(), 1.0, 0.05, 0);
        Resolver.Choice c = only(Resolver.resolve(List.of(input), facts));
        assertTrue(c.profiled());
        int compared = 0;
        for (Strategy s : List.of(Strategy.GROUP_OFFLOAD, Strategy.BLOCK_PIN, Strategy.LAYERWISE)) {
            for (int n = 1; n <= 3; n++) {
                PinPolicy pin = s == Strategy.BLOCK_PIN ? PinPolicy.budget() : PinPolicy.none();
                Setup setup = new Setup(s, Grouping.blocks(n), s == Strategy.LAYERWISE ? n + 1 : 2, new ComponentPlan.Pinning(pin, null, 0));
                try {
                    Resolver.Choice other = Resolver.plan(input, setup, facts.deviceBytes(), facts, List.of());
                    assertTrue(c.predictedStepMs() <= other.predictedStepMs() * (1 + Resolver.TIE),
                            setup.label() + " predicts " + other.predictedStepMs() + ", the choice " + c.predictedStepMs());
                    compared++;
                } catch (OffloadException e) {
                    assertEquals(Status.INVALID_ARGUMENT, e.status());
                }
            }
        }
        assertTrue(compared >= 6, "candidates compared: " + compared);
        assertTrue(c.predictedStepMs() >= 14 * 1.0 - 1e-9, "never below its compute");
        assertTrue(c.reasons().get(1).startsWith("candidates: "), c.reasons().toString());
    }

    @Test
    void hostMemoryTooSmallForAPinnedCopyIsRefusedWithTheNumbers() {
        BlockGraph g = graph("m", 64 * K, 4, 256 * K, 64 * K);
        var e = assertThrows(OffloadException.class, () -> Resolver.resolve(List.of(new Resolver.Input("m", g, null)),
                new Resolver.Facts(M, java.util.OptionalLong.of(512 * K), 1.0, 0, 0)));
        assertEquals(Status.OUT_OF_HOST_MEMORY, e.status());
        assertTrue(e.getMessage().contains("524288") && e.getMessage().contains("needs"), e.getMessage());
    }

    @Test
    void aProfileOfTheWrongLengthIsRefused() {
        BlockGraph g = graph("m", 64 * K, 4, 256 * K, 64 * K);
        var e = assertThrows(OffloadException.class, () -> Resolver.resolve(List.of(new Resolver.Input("m", g,
                new ComputeProfile(new double[3], 1.0))), facts(M)));
        assertTrue(e.getMessage().contains("one block per group"), e.getMessage());
    }
}
