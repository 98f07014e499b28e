package dev.offload.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.OffloadException;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** The step predictor against timelines worked out by hand. 1 GB/s: a million bytes copy in 1 ms. */
class StepPredictorTest {
    static final double GBPS = 1.0;

    static long[] bytes(int n, long each) {
        long[] b = new long[n];
        Arrays.fill(b, each);
        return b;
    }

    static double[] ms(int n, double each) {
        double[] c = new double[n];
        Arrays.fill(c, each);
        return c;
    }

    @Test
    void everythingResidentCostsItsComputeOnly() {
        boolean[] resident = {true, true, true};
        assertEquals(6.0, StepPredictor.stepMs(bytes(3, 5_000_000), resident, new double[] {1, 2, 3}, 0, GBPS, 0.5), 1e-9);
    }

    @Test
    void twoSlotsOverlapCopyWithComputeAndTheSlowerStreamSetsTheStep() {
        boolean[] none = new boolean[4];
        // copies 2 ms, compute 1 ms: copy-bound, 4 copies a step
        assertEquals(8.0, StepPredictor.stepMs(bytes(4, 2_000_000), none, ms(4, 1), 2, GBPS, 0), 1e-9);
        // copies 1 ms, compute 3 ms: compute-bound
        assertEquals(12.0, StepPredictor.stepMs(bytes(4, 1_000_000), none, ms(4, 3), 2, GBPS, 0), 1e-9);
        // balanced: 4 x 1 ms either way
        assertEquals(4.0, StepPredictor.stepMs(bytes(4, 1_000_000), none, ms(4, 1), 2, GBPS, 0), 1e-9);
    }

    @Test
    void oneSlotMeansCopyAndComputeTakeTurns() {
        boolean[] none = new boolean[3];
        assertEquals(3 * (2.0 + 1.0), StepPredictor.stepMs(bytes(3, 2_000_000), none, ms(3, 1), 1, GBPS, 0), 1e-9);
    }

    @Test
    void unevenComputeStillHidesCopiesThatFitItsGaps() {
        // With two slots the copy of visit v + 1 waits for the compute of visit v - 1 to release its
        // slot. Compute [4, 1, 1], copies of 1 ms: the long first group holds a slot, yet every
        // copy still lands by the time compute needs it (worked out by hand over two steps):
        // compute-bound at 6 ms.
        boolean[] none = new boolean[3];
        assertEquals(6.0, StepPredictor.stepMs(bytes(3, 1_000_000), none, new double[] {4, 1, 1}, 2, GBPS, 0), 1e-9);
    }

    @Test
    void pinnedGroupsHideTheirCopiesAndLatencyCountsPerCopy() {
        boolean[] pinHalf = {true, true, false, false};
        // two streamed copies of 2 ms + 0.5 ms latency while compute is 4 x 0.5 ms: copy-bound at 5 ms
        assertEquals(5.0, StepPredictor.stepMs(bytes(4, 2_000_000), pinHalf, ms(4, 0.5), 2, GBPS, 0.5), 1e-9);
        double none = StepPredictor.stepMs(bytes(4, 2_000_000), new boolean[4], ms(4, 0.5), 2, GBPS, 0.5);
        assertEquals(10.0, none, 1e-9);
    }

    @Test
    void moreSlotsNeverPredictASlowerStep() {
        java.util.Random r = new java.util.Random(7);
        for (int trial = 0; trial < 200; trial++) {
            int n = 2 + r.nextInt(8);
            long[] b = new long[n];
            double[] c = new double[n];
            boolean[] res = new boolean[n];
            for (int i = 0; i < n; i++) {
                b[i] = 1 + r.nextInt(3_000_000);
                c[i] = r.nextDouble() * 3;
                res[i] = r.nextInt(4) == 0;
            }
            double previous = Double.MAX_VALUE;
            for (int slots = 1; slots <= n; slots++) {
                double t = StepPredictor.stepMs(b, res, c, slots, GBPS, 0.01);
                assertTrue(t <= previous + 1e-9, "slots " + slots + ": " + t + " > " + previous);
                double computeSum = Arrays.stream(c).sum();
                assertTrue(t >= computeSum - 1e-9, "a step is never shorter than its compute");
                previous = t;
            }
        }
    }

    @Test
    void mismatchedInputsAreRefused() {
        assertThrows(OffloadException.class, () -> StepPredictor.stepMs(new long[2], new boolean[3], new double[2], 2, GBPS, 0));
        assertThrows(OffloadException.class, () -> StepPredictor.stepMs(new long[2], new boolean[2], new double[2], 0, GBPS, 0));
        assertThrows(OffloadException.class, () -> StepPredictor.stepMs(new long[2], new boolean[2], new double[2], 2, 0, 0));
    }
}
