package dev.offload.engine;

import dev.offload.DiskCacheCheck;
import dev.offload.DiskIo;
import dev.offload.HostSource;
import dev.offload.ProgressListener;
import dev.offload.Strategy;
import dev.offload.Timing;
import dev.offload.plan.ComputeProfile;
import dev.offload.plan.Setup;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * What the machinery reads of an offloader's configuration. The public face's {@code OffloadConfig}
 * implements it (its record accessors are these methods), so the engine layer never refers to the
 * face's types: it is configured through this view.
 */
public interface Settings {
    String device();

    /** Bytes the runtime may hold on the device (0: free memory less a reserve). */
    long deviceBudget();

    Strategy strategyOf(String component);

    /** A fixed strategy's setup for a component; null where the component is left to AUTO. */
    Setup setup(String component);

    int window();

    Map<String, ComputeProfile> computeProfiles();

    long activationReserve();

    double h2dGbps();

    Timing timing();

    boolean trace();

    int stepsAhead();

    long slabBytes();

    HostSource source();

    long stagingBytes();

    DiskIo diskIo();

    int readerThreads();

    Path diskCache();

    long diskCacheMaxBytes();

    DiskCacheCheck diskCacheCheck();

    ProgressListener progress();

    /** PINNED: the named shared host region components' copies live in; null: private copies. */
    dev.offload.SharedHost sharedHost();

    /** How long a turn-taking component's step waits for its turn; null: without bound. */
    Duration turnTimeout();

    /** Several devices (issue 20): their names, manual placements, replication; NONE: the one device(). */
    default dev.offload.plan.Placement.Request placement() {
        return dev.offload.plan.Placement.Request.NONE;
    }
}
