package dev.offload.workload;

/**
 * The linear workload's verification bound (LinearWorkload's note): element-wise
 * |got - ref| <= 2^-6 sqrt(R) max(|ref|, rms(ref)), R the bf16 roundings of the state so far; equal
 * bits always pass.
 */
public final class LinearTolerance {
    /** Per-element tolerance relative to max(|ref|, rms(ref)), times sqrt(roundings of x so far). */
    public static final double TOLERANCE = 1.0 / 64;

    private LinearTolerance() {}

    /** Null when every element is within tolerance of the reference after {@code rounds} roundings of x, else the worst one. */
    public static String compare(short[] got, short[] ref, int rounds) {
        double rms = rms(ref) * Math.sqrt(rounds);
        int worst = worst(got, ref, rms, rounds);
        if (error(got, ref, worst, rms, rounds) <= 1) return null;
        return "element " + worst + " is " + Bf16.toFloat(got[worst]) + ", the reference " + Bf16.toFloat(ref[worst])
                + " (tolerance 2^-6 * sqrt(" + rounds + ") * max(|ref|, rms " + (float) rms(ref) + "))";
    }

    /** The largest error in units of the tolerance (at most 1 passes). */
    public static double worstError(short[] got, short[] ref, int rounds) {
        double rms = rms(ref) * Math.sqrt(rounds);
        return error(got, ref, worst(got, ref, rms, rounds), rms, rounds);
    }

    private static double rms(short[] v) {
        double sq = 0;
        for (short r : v) sq += (double) Bf16.toFloat(r) * Bf16.toFloat(r);
        return Math.sqrt(sq / v.length);
    }

    /** |got - ref| over the tolerance; {@code rms} comes already scaled by sqrt(rounds). */
    private static double error(short[] got, short[] ref, int i, double rms, int rounds) {
        if (got[i] == ref[i]) return 0;  // equal bits pass, zeros included (logits before the final norm has run)
        double r = Bf16.toFloat(ref[i]);
        double e = Math.abs(Bf16.toFloat(got[i]) - r) / (TOLERANCE * Math.max(Math.abs(r) * Math.sqrt(rounds), rms));
        return Double.isNaN(e) ? Double.POSITIVE_INFINITY : e;
    }

    private static int worst(short[] got, short[] ref, double rms, int rounds) {
        int worst = 0;
        for (int i = 1; i < ref.length; i++) if (error(got, ref, i, rms, rounds) > error(got, ref, worst, rms, rounds)) worst = i;
        return worst;
    }
}
