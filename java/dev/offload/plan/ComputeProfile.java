package dev.offload.plan;

import dev.offload.OffloadException;

/**
 * A component's compute time per group (in execution order, as the plan's groups) and the
 * host-to-device bandwidth to predict copy times with. Given to the plan, it ranks the groups to pin
 * by how much their copy exceeds their compute (a copy shorter than the compute beside it is hidden
 * by prefetch; a longer one is what the step waits for), instead of by size alone.
 *
 * @param computeMs per group, milliseconds, finite and >= 0
 * @param h2dGbps   bandwidth in GB/s (10^9 bytes per second), > 0
 */
public record ComputeProfile(double[] computeMs, double h2dGbps) {
    public ComputeProfile {
        if (computeMs == null) throw OffloadException.invalid("compute profile: per-group times are null");
        computeMs = computeMs.clone();
        for (int i = 0; i < computeMs.length; i++) {
            if (!Double.isFinite(computeMs[i]) || computeMs[i] < 0) {
                throw OffloadException.invalid("compute profile: group " + i + " has compute time " + computeMs[i] + " ms; need a finite value >= 0");
            }
        }
        if (!Double.isFinite(h2dGbps) || h2dGbps <= 0) {
            throw OffloadException.invalid("compute profile: bandwidth must be a finite number of GB/s > 0, got " + h2dGbps);
        }
    }

    @Override
    public double[] computeMs() {
        return computeMs.clone();
    }

    /** The predicted copy time of a group of this many bytes. */
    public double copyMs(long bytes) {
        return bytes / (h2dGbps * 1e6);
    }

    /** How much a group's copy exceeds its compute (negative when prefetch hides it). */
    double excessMs(int group, long bytes) {
        return copyMs(bytes) - computeMs[group];
    }

    int groups() {
        return computeMs.length;
    }
}
