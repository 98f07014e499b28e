package dev.offload;

/**
 * What the engine measures per step (offload.h: OFL_TIMING_*). Nothing here adds work per group on
 * the calling thread except reading GROUP figures, which costs about three elapsed-time queries per
 * group when a step's figures are read.
 */
public enum Timing {
    /** Counters only: bytes, host waits and blocked time. */
    OFF,
    /** Four timing events per step: {@code stepMs} and {@code copyBusyMs}. The default. */
    STEP,
    /** The protocol's own events keep timestamps too: also {@code computeMs}, {@code computeIdleMs}, {@code copyMs}. */
    GROUP;

    /** The OFL_TIMING_* code. */
    public int code() {
        return ordinal();
    }

    /** "off", "step" or "group" (any case). */
    public static Timing parse(String text) {
        for (Timing t : values()) if (t.name().equalsIgnoreCase(text.trim())) return t;
        throw OffloadException.invalid("unknown timing '" + text + "': expected off, step or group");
    }
}
