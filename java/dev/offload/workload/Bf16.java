package dev.offload.workload;

/** bfloat16 as the top 16 bits of an IEEE float: conversions (round to nearest even, NaN kept quiet). */
public final class Bf16 {
    private Bf16() {}

    public static short fromFloat(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) return (short) ((bits >>> 16) | 0x40);
        int rounding = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    public static float toFloat(short b) {
        return Float.intBitsToFloat((b & 0xFFFF) << 16);
    }

    /** {@code f} rounded to the nearest bf16, as a float. */
    public static float round(float f) {
        return toFloat(fromFloat(f));
    }

    /** One unit in the last place of a bf16 near |f| (8 significant bits). */
    public static double ulp(double f) {
        return Math.ulp((float) Math.abs(f)) * 65536.0;
    }
}
