package dev.offload.plan;

import com.google.gson.JsonArray;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import dev.offload.Size;
import dev.offload.Strategy;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Locale;

/**
 * What an offloader does with its components, why, and what it predicts: per component the
 * strategy, pinned groups, ring slots and prefetch depth, predicted step time, device and host
 * bytes, and the reasons; once steps have run, the measured mean step time beside the prediction.
 * {@link #explain()} says it in words, {@link #toJson()} for tools (fields {@code strategy},
 * {@code pinned_groups}, {@code predicted_step_ms}, {@code device_bytes}, {@code host_bytes},
 * {@code reason}, and {@code components} with the same fields per component).
 *
 * <p>Whole-plan figures: {@code device_bytes} is the most the components hold at once (every
 * permanently placed component plus the largest turn-taking one); {@code host_bytes} the sum of
 * the pinned copies; {@code predicted_step_ms} the sum of one step of each component;
 * {@code strategy} the components' one strategy, or "mixed".
 *
 * <p>With several devices (issue 20) {@code budgetBytes} is each device's budget, and each component's
 * JSON gains {@code device} (its first device), {@code devices} (all of them: a replicated component
 * has several) and {@code device_reason} ({@link Placement}'s words); {@link #explain()} a line each.
 *
 * @param budgetBytes the device budget the plan was made in
 * @param placement   with several devices, where each component goes and why; empty on one device
 * @param h2dGbps     the bandwidth predictions use (measured or given)
 */
public record Plan(List<Entry> components, long budgetBytes, double h2dGbps, String bandwidthSource,
                   Map<String, Placement.Decision> placement) {
    /**
     * One component's part: its {@link Schedule} (what it runs as, where its groups live, its host
     * source and streaming), which every figure below the plan's own is read from.
     *
     * @param schedule        the component's schedule
     * @param predictedStepMs steady step time predicted ({@link StepPredictor})
     * @param profiled        whether compute times went into the prediction (else copies only: a lower bound)
     * @param hostBytes       its host memory: the pinned copy, or the staging ring where it streams from disk
     * @param measuredStepMs  mean of the steps measured so far, NaN before any
     * @param measuredSteps   how many steps that mean covers
     * @param reasons         why, the resolver's words first
     */
    public record Entry(Schedule schedule, double predictedStepMs, boolean profiled, long hostBytes, double measuredStepMs,
                        long measuredSteps, List<String> reasons) {
        public Entry {
            if (schedule == null) throw dev.offload.OffloadException.invalid("plan entry: the schedule is required");
            reasons = List.copyOf(reasons);
        }

        public String component() {
            return schedule.component();
        }

        /** What it runs as (strategy, grouping, window): the schedule's. */
        public Setup setup() {
            return schedule.setup();
        }

        /** Where its groups live: the schedule's. */
        public ComponentPlan plan() {
            return schedule.plan();
        }
    }

    public Plan {
        components = List.copyOf(components);
        placement = Map.copyOf(placement);
    }

    /** A plan on one device (no placement). */
    public Plan(List<Entry> components, long budgetBytes, double h2dGbps, String bandwidthSource) {
        this(components, budgetBytes, h2dGbps, bandwidthSource, Map.of());
    }

    /** The components' one strategy, or "mixed". */
    public String strategy() {
        String s = null;
        for (Entry e : components) {
            String own = name(e.schedule().strategy());
            if (s == null) s = own;
            else if (!s.equals(own)) return "mixed";
        }
        return s == null ? "none" : s;
    }

    /** The most device bytes held at once: permanent components plus the largest turn-taking one. */
    public long deviceBytes() {
        long permanent = 0, turns = 0;
        for (Entry e : components) {
            if (e.schedule().takesTurns()) turns = Math.max(turns, e.schedule().deviceBytes());
            else permanent += e.schedule().deviceBytes();
        }
        return permanent + turns;
    }

    public long hostBytes() {
        return components.stream().mapToLong(Entry::hostBytes).sum();
    }

    public double predictedStepMs() {
        return components.stream().mapToDouble(Entry::predictedStepMs).sum();
    }

    public String explain() {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "plan: %s, %d component(s), device %s of a %s budget, host %s, predicted %.3f ms per step of each"
                        + " (copies at %.2f GB/s, %s)%n", strategy(), components.size(), Size.format(deviceBytes()), Size.format(budgetBytes),
                Size.format(hostBytes()), predictedStepMs(), h2dGbps, bandwidthSource));
        for (Entry e : components) {
            sb.append(String.format(Locale.ROOT, "component '%s': %s, %d groups, %d pinned, %d slot(s), prefetch %d, device %s, host %s%n",
                    e.component(), e.schedule().label(), e.schedule().groups().size(), e.schedule().pinnedGroups().size(), e.schedule().slots(),
                    e.schedule().prefetchDepth(), Size.format(e.schedule().deviceBytes()), Size.format(e.hostBytes())));
            Placement.Decision d = placement.get(e.component());
            if (d != null) sb.append("  on ").append(String.join(", ", d.devices())).append(": ").append(d.reason()).append('\n');
            sb.append(String.format(Locale.ROOT, "  predicted step %.3f ms (%s)", e.predictedStepMs(),
                    e.profiled() ? "from its compute profile" : "copies only: no compute profile, a lower bound"));
            if (e.measuredSteps() > 0) sb.append(String.format(Locale.ROOT, "; measured %.3f ms (mean of %d)", e.measuredStepMs(), e.measuredSteps()));
            sb.append('\n');
            for (String r : e.reasons()) sb.append("  ").append(r).append('\n');
            for (String r : e.schedule().reasons()) sb.append("  ").append(r).append('\n');
        }
        return sb.toString();
    }

    public JsonObject toJson() {
        JsonObject json = new JsonObject();
        json.addProperty("strategy", strategy());
        JsonArray pinned = new JsonArray();
        for (Entry e : components) for (String g : e.schedule().pinnedGroups()) pinned.add(e.component() + "/" + g);
        json.add("pinned_groups", pinned);
        number(json, "predicted_step_ms", predictedStepMs());
        json.addProperty("device_bytes", deviceBytes());
        json.addProperty("host_bytes", hostBytes());
        json.addProperty("budget_bytes", budgetBytes);
        number(json, "h2d_gbps", h2dGbps);
        json.addProperty("bandwidth_source", bandwidthSource);
        List<String> reasons = new ArrayList<>();
        for (Entry e : components) reasons.add(e.component() + ": " + name(e.schedule().strategy()));
        json.addProperty("reason", components.size() == 1 ? String.join("; ", components.get(0).reasons()) : String.join("; ", reasons));
        JsonArray list = new JsonArray();
        for (Entry e : components) {
            JsonObject j = entryJson(e);
            Placement.Decision d = placement.get(e.component());
            if (d != null) {
                j.addProperty("device", d.device());
                JsonArray all = new JsonArray();
                d.devices().forEach(all::add);
                j.add("devices", all);
                j.addProperty("device_reason", d.reason());
            }
            list.add(j);
        }
        json.add("components", list);
        return json;
    }

    private static JsonObject entryJson(Entry e) {
        JsonObject j = new JsonObject();
        j.addProperty("name", e.component());
        j.addProperty("strategy", name(e.schedule().strategy()));
        j.addProperty("setup", e.schedule().label());
        JsonArray pinned = new JsonArray();
        e.schedule().pinnedGroups().forEach(pinned::add);
        j.add("pinned_groups", pinned);
        j.addProperty("groups", e.schedule().groups().size());
        j.addProperty("slots", e.schedule().slots());
        j.addProperty("prefetch_depth", e.schedule().prefetchDepth());
        j.addProperty("slot_bytes", e.schedule().slotBytes());
        number(j, "predicted_step_ms", e.predictedStepMs());
        j.addProperty("predicted_from", e.profiled() ? "compute_profile" : "copies_only");
        number(j, "measured_step_ms", e.measuredStepMs());
        j.addProperty("measured_steps", e.measuredSteps());
        j.addProperty("device_bytes", e.schedule().deviceBytes());
        j.addProperty("host_bytes", e.hostBytes());
        j.addProperty("streamed_bytes_per_step", e.schedule().streamedBytesPerStep());
        List<String> all = new ArrayList<>(e.reasons());
        all.addAll(e.schedule().reasons());
        j.addProperty("reason", String.join("; ", all));
        return j;
    }

    private static String name(Strategy s) {
        return s.name().toLowerCase(Locale.ROOT);
    }

    private static void number(JsonObject json, String key, double value) {
        if (Double.isFinite(value)) json.addProperty(key, value);
        else json.add(key, JsonNull.INSTANCE);
    }
}
