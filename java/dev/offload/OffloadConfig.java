package dev.offload;

import dev.offload.graph.Grouping;
import dev.offload.plan.ComponentPlan;
import dev.offload.plan.ComputeProfile;
import dev.offload.plan.PinPolicy;
import dev.offload.plan.Placement;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What {@link Offloader#open(OffloadConfig)} needs, validated when built.
 *
 * @param device       "auto", "host", "cuda" or "cuda:N"
 * @param deviceBudget device bytes the runtime may hold; 0 = the device's free memory minus a reserve
 * @param strategy     how groups share the device
 * @param grouping     block level (n blocks per group) or leaf level; LAYERWISE uses one block per group
 * @param window       LAYERWISE: blocks on the device at once (ring slots)
 * @param timing       what each step measures ({@link Timing}; default STEP: step and copy-span
 *                     times from four events a step; GROUP adds per-group figures)
 * @param slabBytes    target size of the pinned host slabs the groups are packed into
 * @param trace        keep every group's copy and compute span per step ({@link Offloader#trace()});
 *                     implies GROUP timing
 * @param stepsAhead   steps the calling thread may queue ahead of the device (0..8, default 1):
 *                     acquire and release never block within that bound; past it, the first
 *                     acquire of a step waits once for the device
 * @param pin          which groups stay pinned on the device ({@link PinPolicy}): none() by default,
 *                     budget() for BLOCK_PIN (which takes no other); with LAYERWISE it adds to head
 *                     and tail; NO_OFFLOAD takes none() or all()
 * @param activationReserve device bytes each component's plan leaves free in the budget for
 *                     activations and buffers allocated after registration (default 0: buffers
 *                     allocated before registering are already out of what the plan sees)
 * @param source       where streamed weights live on the host ({@link HostSource}): PINNED (one
 *                     packed pinned copy), DISK (read from the files through a pinned staging ring),
 *                     LOWMEM (a pageable packed copy streamed through that ring), or AUTO (default:
 *                     PINNED where the copy fits host memory, else DISK; an explicit PINNED that
 *                     cannot fit fails at once)
 * @param diskCache    DISK: a folder for cache files of components whose layout is scattered
 *                     (memory/DiskCache: written once, atomically, checked against the sources on
 *                     reuse); null (default): stream every component from its files as they are
 * @param diskCacheMaxBytes DISK with a cache folder: a bound on the folder's cache files, the least
 *                     recently used removed first (0, default: no bound)
 * @param diskCacheCheck DISK with a cache folder: how a cache is checked against its sources before
 *                     reuse ({@link DiskCacheCheck}; STAMP by default)
 * @param progress     hears long work's progress (packing), or null (ProgressListener)
 * @param stagingBytes DISK and LOWMEM: bytes of the pinned staging ring; 0 (default) = 8 units of
 *                     1 MiB on the host backend, of 8 MiB on cuda (8 or 64 MiB). The reader reads
 *                     and the copy stream copies one unit at a time, so any group streams through
 *                     any ring of at least 8 KiB (a ring below two units shrinks the unit)
 * @param diskIo       DISK: buffered or O_DIRECT reads ({@link DiskIo}; AUTO by default)
 * @param readerThreads DISK and LOWMEM: reader threads; 0 (default) = one per four hardware threads,
 *                     1 to 4
 * @param computeProfiles per component name, its compute time per group and the bandwidth to
 *                     predict copies with: count(n) and budget() then pin the groups whose copy
 *                     most exceeds their compute, instead of the largest. For a component left to
 *                     AUTO the times are per group at one block per group (head, blocks, tail)
 * @param componentStrategies per component name, a strategy other than {@code strategy} (mixing
 *                     strategies: MODEL_OFFLOAD for encoders, GROUP_OFFLOAD for the transformer;
 *                     NO_OFFLOAD marks a component always resident)
 * @param h2dGbps      the host-to-device bandwidth plans predict copies with; 0 = measure it (a
 *                     short probe, once per device and JVM) when a plan needs it
 * @param sharedHost   PINNED: a named shared host region ({@link SharedHost}) holding each component's
 *                     packed copy, mapped by every process on the node that opens the same model
 *                     under the same name instead of packing its own; null (default): a private copy
 * @param turnTimeout  MODEL_OFFLOAD: how long a step waits for its turn on the device while other
 *                     threads' steps of other turn-taking components hold it (first come, first
 *                     served); past it the step fails with NOT_READY naming the component and the
 *                     holder. Null (default): wait without bound
 * @param placement    several devices (issue 20): {@code devices("host:0", "host:1")} names them (then
 *                     {@code device} is unused and the budget is per device), {@code place} puts a
 *                     component on given devices, {@code replicate} every other one on all of them;
 *                     the rest go largest first to the device with the most room (plan.Placement)
 */
public record OffloadConfig(String device, long deviceBudget, Strategy strategy, Grouping grouping, int window,
                            Timing timing, long slabBytes, int stepsAhead, PinPolicy pin, long activationReserve,
                            Map<String, ComputeProfile> computeProfiles, Map<String, Strategy> componentStrategies, double h2dGbps,
                            boolean trace, HostSource source, long stagingBytes, java.nio.file.Path diskCache,
                            ProgressListener progress, DiskIo diskIo, int readerThreads, java.time.Duration turnTimeout,
                            long diskCacheMaxBytes, DiskCacheCheck diskCacheCheck, SharedHost sharedHost,
                            Placement.Request placement)
        implements dev.offload.engine.Settings {
    public OffloadConfig {
        if (placement == null) throw OffloadException.invalid("config: placement is null (Placement.Request.NONE for one device)");
        if (device == null || device.isBlank()) throw OffloadException.invalid("config: device is empty");
        if (deviceBudget < 0) throw OffloadException.invalid("config: device budget must be >= 0 bytes (0 = default), got " + deviceBudget);
        if (strategy == null) throw OffloadException.invalid("config: strategy is null");
        if (grouping == null) throw OffloadException.invalid("config: grouping is null");
        if (timing == null) throw OffloadException.invalid("config: timing is null");
        if (trace && timing != Timing.GROUP) throw OffloadException.invalid("config: a trace needs GROUP timing, got " + timing);
        if (window < 1) throw OffloadException.invalid("config: LAYERWISE window must be at least 1 block, got " + window);
        if (slabBytes < (1 << 20)) throw OffloadException.invalid("config: slab size must be at least 1 MiB, got " + slabBytes);
        if (stepsAhead < 0 || stepsAhead > MAX_STEPS_AHEAD) {
            throw OffloadException.invalid("config: steps ahead must be between 0 and " + MAX_STEPS_AHEAD + ", got " + stepsAhead);
        }
        if (strategy == Strategy.LAYERWISE && grouping instanceof Grouping.Leaf) {
            throw OffloadException.invalid("config: LAYERWISE slides over blocks; leaf-level grouping belongs to GROUP_OFFLOAD");
        }
        if (strategy == Strategy.LAYERWISE && grouping instanceof Grouping.Blocks b && b.perGroup() != 1) {
            throw OffloadException.invalid("config: LAYERWISE slides over single blocks (its window sets how many are on the device);"
                    + " " + b.perGroup() + " blocks per group belongs to GROUP_OFFLOAD or BLOCK_PIN");
        }
        if (pin == null) throw OffloadException.invalid("config: pin policy is null");
        if (strategy == Strategy.BLOCK_PIN && !(pin instanceof PinPolicy.Budget)) {
            throw OffloadException.invalid("config: BLOCK_PIN pins as many groups as the budget allows (pin policy budget); pin policy "
                    + pin + " chooses them itself: use it with GROUP_OFFLOAD");
        }
        if ((strategy == Strategy.NO_OFFLOAD || strategy == Strategy.MODEL_OFFLOAD) && !(pin instanceof PinPolicy.None || pin instanceof PinPolicy.All)) {
            throw OffloadException.invalid("config: " + strategy + " keeps every group resident; pin policy " + pin + " does not apply");
        }
        if (strategy == Strategy.AUTO && !(pin instanceof PinPolicy.None)) {
            throw OffloadException.invalid("config: AUTO chooses what to pin itself; pin policy " + pin + " needs a fixed strategy");
        }
        if (componentStrategies == null) throw OffloadException.invalid("config: component strategies are null");
        componentStrategies = Map.copyOf(componentStrategies);
        if (!(h2dGbps >= 0) || !Double.isFinite(h2dGbps)) throw OffloadException.invalid("config: bandwidth must be >= 0 GB/s (0 = measure), got " + h2dGbps);
        if (activationReserve < 0) throw OffloadException.invalid("config: activation reserve must be >= 0 bytes, got " + activationReserve);
        if (computeProfiles == null) throw OffloadException.invalid("config: compute profiles are null");
        computeProfiles = Map.copyOf(computeProfiles);
        if (source == null) throw OffloadException.invalid("config: host source is null");
        if (stagingBytes < 0) throw OffloadException.invalid("config: staging bytes must be >= 0 (0 = default), got " + stagingBytes);
        if (stagingBytes > 0 && stagingBytes < MIN_STAGING_BYTES) {
            throw OffloadException.invalid("config: a staging ring of " + stagingBytes + " bytes is too small: it needs at least two 4 KiB units ("
                    + MIN_STAGING_BYTES + " bytes); 0 gives the default (8 units of 1 MiB on host, 8 MiB on cuda)");
        }
        if (diskIo == null) throw OffloadException.invalid("config: disk I/O is null (AUTO by default)");
        if (readerThreads < 0 || readerThreads > MAX_READER_THREADS) {
            throw OffloadException.invalid("config: reader threads must be between 0 (default) and " + MAX_READER_THREADS + ", got " + readerThreads);
        }
        if (diskIo != DiskIo.AUTO && source != HostSource.AUTO && source != HostSource.DISK) {
            throw OffloadException.invalid("config: disk I/O " + diskIo + " reads files: it needs the DISK source, got " + source);
        }
        if (diskCache != null && source != HostSource.AUTO && source != HostSource.DISK) {
            throw OffloadException.invalid("config: a disk cache (" + diskCache + ") serves the DISK source, got " + source);
        }
        if (turnTimeout != null && (turnTimeout.isNegative() || turnTimeout.isZero())) {
            throw OffloadException.invalid("config: a turn timeout must be positive (null: wait without bound), got " + turnTimeout);
        }
        if (diskCacheMaxBytes < 0) throw OffloadException.invalid("config: the disk cache bound must be >= 0 bytes (0 = none), got " + diskCacheMaxBytes);
        if (diskCacheCheck == null) throw OffloadException.invalid("config: disk cache check is null (STAMP by default)");
        if (diskCache == null && (diskCacheMaxBytes > 0 || diskCacheCheck != DiskCacheCheck.STAMP)) {
            throw OffloadException.invalid("config: a disk cache bound or check needs a disk cache folder (diskCache)");
        }
        if (sharedHost != null && source != HostSource.PINNED && source != HostSource.AUTO) {
            throw OffloadException.invalid("config: a shared host region ('" + sharedHost.name() + "') holds a pinned copy: it needs the PINNED"
                    + " source, got " + source);
        }
        if (stagingBytes > 0 && (source == HostSource.PINNED || source == HostSource.AUTO)) {
            throw OffloadException.invalid("config: a staging ring (" + stagingBytes + " bytes) needs the DISK or LOWMEM source, got "
                    + source);
        }
    }

    /** The plan's pinning inputs for one component. */
    public ComponentPlan.Pinning pinning(String component) {
        return new ComponentPlan.Pinning(pin, computeProfiles.get(component), activationReserve);
    }

    /** The strategy a component runs under: its own, or the config's. */
    @Override
    public Strategy strategyOf(String component) {
        return componentStrategies.getOrDefault(component, strategy);
    }

    /**
     * A component's setup under a fixed strategy (null when it is left to AUTO). The config's pin
     * policy goes to the streaming strategies; BLOCK_PIN pins by budget; NO_OFFLOAD and
     * MODEL_OFFLOAD keep everything resident, whatever policy the other components use.
     */
    @Override
    public dev.offload.plan.Setup setup(String component) {
        Strategy s = strategyOf(component);
        if (s == Strategy.AUTO) return null;
        PinPolicy policy = ComponentPlan.Pinning.policyFor(s, pin);
        return new dev.offload.plan.Setup(s, grouping, window, new ComponentPlan.Pinning(policy, computeProfiles.get(component), activationReserve));
    }

    /** The most steps the host may run ahead (offload.h: OFL_MAX_STEPS_AHEAD). */
    public static final int MAX_STEPS_AHEAD = 8;
    /** The smallest staging ring: two 4 KiB units (offload.h, ofl_disk_source). */
    public static final long MIN_STAGING_BYTES = 8192;
    /** The most reader threads a disk source takes (offload.h, ofl_disk_source). */
    public static final int MAX_READER_THREADS = 64;

    public static Builder builder() {
        return new Builder();
    }

    public static final class Builder {
        private String device = "auto";
        private long deviceBudget;
        private Strategy strategy = Strategy.GROUP_OFFLOAD;
        private Grouping grouping = Grouping.blocks(1);
        private int window = 2;
        private Timing timing = Timing.STEP;
        private long slabBytes = Size.mib(256);
        private int stepsAhead = 1;
        private boolean trace;
        private PinPolicy pin;
        private long activationReserve;
        private final Map<String, ComputeProfile> computeProfiles = new LinkedHashMap<>();
        private final Map<String, Strategy> componentStrategies = new LinkedHashMap<>();
        private double h2dGbps;
        private HostSource source = HostSource.AUTO;
        private long stagingBytes;
        private java.nio.file.Path diskCache;
        private ProgressListener progress;
        private DiskIo diskIo = DiskIo.AUTO;
        private int readerThreads;
        private java.time.Duration turnTimeout;
        private long diskCacheMaxBytes;
        private DiskCacheCheck diskCacheCheck = DiskCacheCheck.STAMP;
        private SharedHost sharedHost;
        private List<String> devices = List.of();
        private final Map<String, List<String>> places = new LinkedHashMap<>();
        private boolean replicate;

        public Builder device(String device) { this.device = device; return this; }
        public Builder deviceBudget(long bytes) { this.deviceBudget = bytes; return this; }
        public Builder strategy(Strategy strategy) { this.strategy = strategy; return this; }
        public Builder blocksPerGroup(int n) { this.grouping = Grouping.blocks(n); return this; }
        public Builder leafLevel() { this.grouping = Grouping.leaf(); return this; }
        public Builder grouping(Grouping grouping) { this.grouping = grouping; return this; }
        public Builder window(int blocks) { this.window = blocks; return this; }
        public Builder timing(Timing timing) { this.timing = timing; return this; }
        public Builder slabBytes(long bytes) { this.slabBytes = bytes; return this; }
        public Builder stepsAhead(int steps) { this.stepsAhead = steps; return this; }
        /** Per-group spans for a timeline trace ({@link Offloader#trace()}); implies GROUP timing. */
        public Builder trace(boolean on) { this.trace = on; return this; }
        /** Which groups stay pinned; unset: none(), or budget() for BLOCK_PIN. */
        public Builder pin(PinPolicy policy) {
            if (policy == null) throw OffloadException.invalid("config: pin policy is null");
            this.pin = policy;
            return this;
        }
        /** Where streamed weights live on the host (PINNED by default). */
        public Builder source(HostSource source) { this.source = source; return this; }
        /** DISK and LOWMEM: the pinned staging ring's bytes (0: 8 units, 8 MiB on host and 64 MiB on cuda). */
        public Builder stagingBytes(long bytes) { this.stagingBytes = bytes; return this; }
        /** DISK: buffered or O_DIRECT reads (AUTO: the default choice, {@link DiskIo}). */
        public Builder diskIo(DiskIo io) { this.diskIo = io; return this; }
        /** DISK and LOWMEM: reader threads (0: one per four hardware threads, 1 to 4). */
        public Builder readerThreads(int threads) { this.readerThreads = threads; return this; }
        /** Hears long work's progress (packing weights); null for none. */
        public Builder progress(ProgressListener listener) { this.progress = listener; return this; }
        /** A folder for the DISK source's cache files (scattered layouts only; memory/DiskCache). */
        public Builder diskCache(java.nio.file.Path folder) { this.diskCache = folder; return this; }
        /** A bound on the cache folder's files, least recently used removed first (0: none). */
        public Builder diskCacheMaxBytes(long bytes) { this.diskCacheMaxBytes = bytes; return this; }
        /** How a cache is checked against its sources before reuse (STAMP by default; {@link DiskCacheCheck}). */
        public Builder diskCacheCheck(DiskCacheCheck check) { this.diskCacheCheck = check; return this; }
        /** PINNED: components' copies in a named shared host region, mapped by the node's other processes (null: private). */
        public Builder sharedHost(SharedHost region) { this.sharedHost = region; return this; }
        public Builder activationReserve(long bytes) { this.activationReserve = bytes; return this; }
        /** A component's per-group compute times (execution order) and copy bandwidth, for ranking groups to pin. */
        public Builder computeProfile(String component, ComputeProfile profile) {
            if (component == null || profile == null) throw OffloadException.invalid("config: compute profile needs a component name and a profile");
            computeProfiles.put(component, profile);
            return this;
        }

        /** A strategy for one component, other than the config's (mixing strategies in one budget). */
        public Builder strategy(String component, Strategy strategy) {
            if (component == null || strategy == null) throw OffloadException.invalid("config: a component strategy needs a name and a strategy");
            componentStrategies.put(component, strategy);
            return this;
        }
        /** Keeps a component on the device for the offloader's life (NO_OFFLOAD for it): a small VAE. */
        public Builder alwaysResident(String component) { return strategy(component, Strategy.NO_OFFLOAD); }
        /** MODEL_OFFLOAD: the longest a step waits for its turn on the device; null (default) waits without bound. */
        public Builder turnTimeout(java.time.Duration timeout) { this.turnTimeout = timeout; return this; }
        /** The bandwidth plans predict with, GB/s; 0 (default) measures it when a plan needs it. */
        public Builder h2dGbps(double gbps) { this.h2dGbps = gbps; return this; }

        /** Several devices, each with this budget, its own streams and engines ("host:0", "host:1", "cuda:0", ...). */
        public Builder devices(String... names) { this.devices = names == null ? null : java.util.Arrays.asList(names); return this; }
        /** Places a component on the given device(s) (several: replicated there), overriding AUTO's placement. */
        public Builder place(String component, String... devices) { this.places.put(component, devices == null ? null : java.util.Arrays.asList(devices)); return this; }
        /** Every component not placed by hand goes on every device: one host copy, an engine per device. */
        public Builder replicate(boolean on) { this.replicate = on; return this; }

        public OffloadConfig build() {
            PinPolicy policy = pin != null ? pin : strategy == Strategy.BLOCK_PIN ? PinPolicy.budget() : PinPolicy.none();
            return new OffloadConfig(device, deviceBudget, strategy, grouping, window, trace ? Timing.GROUP : timing, slabBytes,
                    stepsAhead, policy, activationReserve, computeProfiles, componentStrategies, h2dGbps, trace,
                    source, stagingBytes, diskCache, progress, diskIo, readerThreads,
                    turnTimeout, diskCacheMaxBytes, diskCacheCheck, sharedHost, new Placement.Request(devices, places, replicate));
        }
    }
}
