package dev.offload.engine;

import dev.offload.OffloadException;

import dev.offload.graph.BlockGraph;
import java.util.Map;

/**
 * {@link Registry#addTensors} and {@link Registry#removeTensors}: a component rebuilt under its
 * name from a changed tensor list (a new graph by BlockDiscovery's rules, host copy, plan and
 * engine; the same references). The old one is freed first; a failed rebuild makes the old one
 * again, so nothing is lost. Tensors whose checkpoint was closed cannot be packed again: refused
 * before anything is touched.
 */
final class ComponentRebuild {
    private ComponentRebuild() {}

    /**
     * Registry.addTensors (under its lock): LoRA adapters ({@code blocks.3.attn.to_q.lora_A.weight}) join
     * their blocks by BlockDiscovery's rules and the component is rebuilt with them.
     */
    static ComponentCore addTensors(Registry off, String name, java.util.List<dev.offload.graph.TensorRef> tensors) {
        if (tensors == null) throw OffloadException.invalid("the tensors to add to component '" + name + "' is null");
        for (var t : tensors) if (t == null) throw OffloadException.invalid("a tensor to add to component '" + name + "' is null");
        ComponentCore old = off.component(name);
        java.util.List<dev.offload.graph.TensorRef> all = new java.util.ArrayList<>(old.graph().tensors());
        all.addAll(tensors);
        return rebuild(off, old, BlockGraph.discover("component '" + name + "'", all));
    }

    /** Registry.removeTensors (under its lock): the tensors {@code which} selects leave; removing all is refused. */
    static ComponentCore removeTensors(Registry off, String name, java.util.function.Predicate<String> which) {
        if (which == null) throw OffloadException.invalid("the selection of tensors to remove from component '" + name + "' is null");
        ComponentCore old = off.component(name);
        java.util.List<dev.offload.graph.TensorRef> kept;
        try {
            kept = old.graph().tensors().stream().filter(t -> !which.test(t.name())).toList();
        } catch (RuntimeException e) {
            throw OffloadException.invalid("component '" + name + "': the selection of tensors to remove threw " + e);
        }
        if (kept.size() == old.graph().tensors().size()) return old;
        if (kept.isEmpty()) throw OffloadException.invalid("component '" + name + "': removing every tensor leaves nothing to stream; unregister it instead");
        return rebuild(off, old, BlockGraph.discover("component '" + name + "'", kept));
    }

    static ComponentCore rebuild(Registry off, ComponentCore old, BlockGraph graph) {
        String name = old.name();
        if (old.hasOpenStep()) throw OffloadException.invalid("component '" + name + "' is running a step; change its tensors between steps");
        if (off.hasOverride(name)) throw OffloadException.invalid("component '" + name + "' has an arrangement override open; close it first");
        // the new tensors are packed, and the old ones again should the rebuild fail: all must be readable
        java.util.List<dev.offload.graph.TensorRef> all = new java.util.ArrayList<>(graph.tensors());
        all.addAll(old.graph().tensors());
        for (dev.offload.graph.TensorRef t : all) {
            if (!t.data().scope().isAlive()) {
                throw OffloadException.invalid("component '" + name + "': tensor '" + t.name() + "' is no longer readable (its checkpoint "
                        + "was closed); a component is packed again from its tensors when they change, so keep the checkpoint open");
            }
        }
        int references = old.references();
        Registry.Forgotten forgotten = off.forget(name);
        old.close();
        try {
            ComponentCore c = off.admission().add(name, graph, off.admission().resolveAuto(Map.of(name, graph)).get(name), ComponentSource.of(graph));
            for (int i = 1; i < references; i++) c.retain();
            return c;
        } catch (RuntimeException e) {
            try {  // put the old arrangement back, so a failed change loses nothing
                off.forget(name);
                ComponentCore back = off.admission().add(name, old.graph(), forgotten.choice(), old.sourceKey());
                for (int i = 1; i < references; i++) back.retain();
                if (forgotten.followUp() == null) off.followUpDone(name);
            } catch (RuntimeException again) {
                e.addSuppressed(again);
            }
            throw e;
        }
    }
}
