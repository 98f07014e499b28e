package dev.offload.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.offload.OffloadException;
import dev.offload.checkpoint.Checkpoint;
import dev.offload.checkpoint.DType;
import dev.offload.checkpoint.SafetensorsWriter;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BlockDiscoveryTest {
    @TempDir
    Path dir;

    Checkpoint checkpoint(String... names) {
        Path file = dir.resolve("m" + System.nanoTime() + ".safetensors");
        List<SafetensorsWriter.Spec> specs = java.util.Arrays.stream(names)
                .map(n -> new SafetensorsWriter.Spec(n, DType.F16, new long[] {n.length()})).toList();
        SafetensorsWriter.write(file, specs, Map.of(), (s, t) -> t.fill((byte) 1));
        return Checkpoint.open(file);
    }

    static List<String> names(List<TensorRef> tensors) {
        return tensors.stream().map(TensorRef::name).toList();
    }

    @Test
    void fluxLikeNamesGiveDoubleBlocksBeforeSingleBlocksAndHeadAndTail() {
        try (Checkpoint c = checkpoint("single_transformer_blocks.1.attn.w", "single_transformer_blocks.0.attn.w",
                "transformer_blocks.10.ff.net.0.proj.weight", "transformer_blocks.2.attn.to_q.weight", "transformer_blocks.2.attn.to_k.weight",
                "transformer_blocks.0.attn.to_q.weight", "x_embedder.weight", "time_text_embed.linear_1.weight", "norm_out.linear.weight",
                "proj_out.weight", "context_embedder.weight")) {
            BlockGraph g = BlockGraph.discover(c);
            assertEquals(List.of("transformer_blocks", "single_transformer_blocks"), g.blockLists().stream().map(BlockList::prefix).toList());
            assertEquals(List.of(0, 2, 10), g.blockLists().get(0).blocks().stream().map(Block::index).toList());
            assertEquals(List.of("transformer_blocks.2.attn.to_k.weight", "transformer_blocks.2.attn.to_q.weight"),
                    names(g.blockLists().get(0).blocks().get(1).tensors()));
            assertEquals(List.of("context_embedder.weight", "time_text_embed.linear_1.weight", "x_embedder.weight"), names(g.head()));
            assertEquals(List.of("norm_out.linear.weight", "proj_out.weight"), names(g.tail()));
            // execution order: head, double blocks in numeric order, single blocks, tail
            assertEquals("context_embedder.weight", g.tensors().get(0).name());
            assertEquals("transformer_blocks.0.attn.to_q.weight", g.tensors().get(3).name());
            assertEquals("single_transformer_blocks.0.attn.w", g.tensors().get(7).name());
            assertEquals("proj_out.weight", g.tensors().get(10).name());
        }
    }

    @Test
    void llamaLikeNamesAndTheOverrides() {
        try (Checkpoint c = checkpoint("model.embed_tokens.weight", "model.layers.0.mlp.up.weight", "model.layers.1.mlp.up.weight",
                "model.norm.weight", "lm_head.weight", "encoder.block.0.w", "encoder.block.1.w", "decoder.block.0.w", "decoder.block.1.w")) {
            BlockGraph g = BlockGraph.discover(c);
            assertEquals(List.of("encoder.block", "model.layers", "decoder.block"), g.blockLists().stream().map(BlockList::prefix).toList());
            assertEquals(List.of("model.embed_tokens.weight"), names(g.head()));
            assertEquals(List.of("lm_head.weight", "model.norm.weight"), names(g.tail()));

            BlockGraph custom = new BlockDiscovery().listOrder(List.of("decoder.block", "model.layers"))
                    .tail(n -> n.startsWith("model.embed")).discover(c);
            assertEquals(List.of("decoder.block", "model.layers", "encoder.block"), custom.blockLists().stream().map(BlockList::prefix).toList());
            assertEquals(List.of("model.embed_tokens.weight"), names(custom.tail()));
            assertEquals(List.of("lm_head.weight", "model.norm.weight"), names(custom.head()));
        }
    }

    @Test
    void aSequentialOfSingleLayersWithGapsIsNoList() {
        try (Checkpoint c = checkpoint("text_embedding.0.weight", "text_embedding.2.weight", "time_embedding.0.bias",
                "time_embedding.2.bias", "blocks.0.ffn.0.weight", "blocks.1.ffn.0.weight", "layers.0.w", "layers.1.w",
                "text_model.final_layer_norm.weight")) {
            BlockGraph g = BlockGraph.discover(c);
            assertEquals(List.of("blocks", "layers"), g.blockLists().stream().map(BlockList::prefix).toList());
            assertEquals(List.of("text_embedding.0.weight", "text_embedding.2.weight", "time_embedding.0.bias", "time_embedding.2.bias"),
                    names(g.head()));
            assertEquals(List.of("text_model.final_layer_norm.weight"), names(g.tail()));
        }
    }

    @Test
    void aNumberedPrefixWithOneBlockIsNoList() {
        try (Checkpoint c = checkpoint("stem.0.weight", "layers.0.w", "layers.1.w")) {
            BlockGraph g = BlockGraph.discover(c);
            assertEquals(1, g.blockLists().size());
            assertEquals(List.of("stem.0.weight"), names(g.head()));
        }
    }

    @Test
    void groupingsKeepTheOneExecutionOrder() {
        try (Checkpoint c = checkpoint("in.weight", "b.0.x", "b.0.y", "b.1.x", "b.2.x", "b.3.x", "b.4.x", "out.weight", "proj_out.w")) {
            BlockGraph g = BlockGraph.discover(c);
            List<GroupSpec> two = g.groups(Grouping.blocks(2));
            assertEquals(List.of("head", "b.0-1", "b.2-3", "b.4", "tail"), two.stream().map(GroupSpec::name).toList());
            assertEquals(List.of("b.0.x", "b.0.y", "b.1.x"), names(two.get(1).tensors()));
            List<GroupSpec> leaf = g.groups(Grouping.leaf());
            assertEquals(9, leaf.size());
            assertEquals(names(g.tensors()), leaf.stream().map(s -> s.tensors().get(0).name()).toList());
            List<String> flat = two.stream().flatMap(s -> s.tensors().stream()).map(TensorRef::name).toList();
            assertEquals(names(g.tensors()), flat);
            assertThrows(OffloadException.class, () -> Grouping.blocks(0));
        }
    }

    @Test
    void theBuilderMakesAGraphByHand() {
        try (Arena arena = Arena.ofConfined()) {
            TensorRef a = new TensorRef("a", DType.F32, new long[] {2}, arena.allocate(8));
            TensorRef b = new TensorRef("b", DType.U8, new long[] {3}, arena.allocate(3));
            TensorRef c = new TensorRef("c", DType.U8, new long[] {1}, arena.allocate(1));
            BlockGraph g = BlockGraph.builder().head(a).block("layers", List.of(b)).block("layers", List.of(c)).build();
            assertEquals(List.of("head", "layers.0", "layers.1"), g.groups(Grouping.blocks(1)).stream().map(GroupSpec::name).toList());
            assertThrows(OffloadException.class, () -> BlockGraph.builder().head(a).tail(a).build());
            assertThrows(OffloadException.class, () -> new TensorRef("bad", DType.F32, new long[] {3}, arena.allocate(8)));
            assertThrows(OffloadException.class, () -> BlockGraph.builder().build());
        }
    }

    /** A checkpoint without tensors is valid safetensors but has no graph: the refusal names the checkpoint. */
    @Test
    void anEmptyCheckpointIsRefusedNamingIt() {
        try (Checkpoint c = checkpoint()) {
            OffloadException e = assertThrows(OffloadException.class, () -> BlockGraph.discover(c));
            assertEquals(c.name() + ": the checkpoint holds no tensors, so there is no block graph to run", e.getMessage());
        }
    }

    @Test
    void anEmptyTensorNameIsAHeadTensor() {
        try (Checkpoint c = checkpoint("", "blocks.0.w", "blocks.1.w")) {
            BlockGraph g = BlockGraph.discover(c);
            assertEquals(List.of(""), names(g.head()));
            assertEquals(3, g.tensors().size());
        }
    }
}
