package dev.offload.plan;

import dev.offload.Size;
import dev.offload.Strategy;
import java.util.List;

/** A component plan in a few lines for people (ComponentPlan.describe). */
final class PlanText {
    private PlanText() {}

    static String describe(ComponentPlan p) {
        StringBuilder sb = new StringBuilder();
        sb.append("component '").append(p.component()).append("': ").append(p.strategy()).append(", ").append(p.groups().size())
                .append(" groups, device ").append(Size.format(p.deviceBytes())).append('\n');
        for (String r : p.reasons()) sb.append("  ").append(r).append('\n');
        List<String> pinned = p.pinnedGroups();
        if (!pinned.isEmpty() && p.strategy() != Strategy.NO_OFFLOAD && p.strategy() != Strategy.MODEL_OFFLOAD) {
            int shown = Math.min(pinned.size(), 12);
            sb.append("  pinned (").append(pinned.size()).append(", ").append(Size.format(p.residentBytes())).append("): ")
                    .append(String.join(", ", pinned.subList(0, shown)));
            if (shown < pinned.size()) sb.append(", ... ").append(pinned.size() - shown).append(" more");
            sb.append('\n');
        }
        if (p.strategy() != Strategy.NO_OFFLOAD && p.strategy() != Strategy.MODEL_OFFLOAD) {
            long total = 0;
            for (PackedGroup g : p.groups()) total += g.bytes();
            sb.append("  streams ").append(Size.format(p.streamedBytesPerStep())).append(" of ").append(Size.format(total))
                    .append(" per step\n");
        }
        return sb.toString();
    }
}
