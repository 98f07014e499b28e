package dev.offload.engine;

import dev.offload.DiskCacheCheck;
import dev.offload.DiskIo;
import dev.offload.HostSource;
import dev.offload.ProgressListener;
import dev.offload.Strategy;
import dev.offload.Timing;
import dev.offload.plan.ComputeProfile;
import dev.offload.plan.Placement;
import dev.offload.plan.Setup;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * The configuration as one device of several sees it (DeviceSet): the offloader's settings with
 * this device's name (its budget is the config's, per device), and the host copies every device of
 * the offloader shares (HostCopies, read by EngineStart.pack). Each device's Registry opens its own
 * runtime, compute stream, ledger and turns from it.
 */
record DeviceSettings(Settings base, String device, HostCopies copies) implements Settings {
    @Override public long deviceBudget() { return base.deviceBudget(); }
    @Override public Strategy strategyOf(String component) { return base.strategyOf(component); }
    @Override public Setup setup(String component) { return base.setup(component); }
    @Override public int window() { return base.window(); }
    @Override public Map<String, ComputeProfile> computeProfiles() { return base.computeProfiles(); }
    @Override public long activationReserve() { return base.activationReserve(); }
    @Override public double h2dGbps() { return base.h2dGbps(); }
    @Override public Timing timing() { return base.timing(); }
    @Override public boolean trace() { return base.trace(); }
    @Override public int stepsAhead() { return base.stepsAhead(); }
    @Override public long slabBytes() { return base.slabBytes(); }
    @Override public HostSource source() { return base.source(); }
    @Override public long stagingBytes() { return base.stagingBytes(); }
    @Override public DiskIo diskIo() { return base.diskIo(); }
    @Override public int readerThreads() { return base.readerThreads(); }
    @Override public Path diskCache() { return base.diskCache(); }
    @Override public long diskCacheMaxBytes() { return base.diskCacheMaxBytes(); }
    @Override public DiskCacheCheck diskCacheCheck() { return base.diskCacheCheck(); }
    @Override public ProgressListener progress() { return base.progress(); }
    @Override public Duration turnTimeout() { return base.turnTimeout(); }
    @Override public Placement.Request placement() { return Placement.Request.NONE; }
    @Override public dev.offload.SharedHost sharedHost() { return base.sharedHost(); }
}
