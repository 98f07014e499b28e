package dev.offload.workload;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.OffloadConfig;
import dev.offload.OffloadException;
import dev.offload.Offloader;
import dev.offload.Status;
import org.junit.jupiter.api.Test;

/**
 * A budget too small for a workload's own buffers: a usage error naming the tokens and the
 * allocator's numbers, and the buffers allocated before the one that failed are given back.
 */
class WorkloadBudgetTest {
    @Test
    void buffersThatDoNotFitAreAUsageErrorAndLeakNothing() {
        int tokens = 4, hidden = 64;
        long state = 4L * tokens * hidden;  // fp32: the first buffer fits, the second does not
        try (Offloader off = Offloader.open(OffloadConfig.builder().device("host").deviceBudget(state + state / 2).build())) {
            OffloadException e = assertThrows(OffloadException.class, () -> Workload.create("mix", off, tokens, hidden, 3, true));
            assertEquals(Status.INVALID_ARGUMENT, e.status());
            assertTrue(e.getMessage().contains("4 token(s) of hidden size 64") && e.getMessage().contains("asked for " + state), e.getMessage());
            assertEquals(0, off.deviceInfo().usedBytes(), "the state buffer allocated before the failure is given back");
            assertEquals(0, off.deviceInfo().hostUsedBytes(), "nothing pinned is left");
            try (Workload w = Workload.create("mix", off, 1, hidden, 0, false)) {  // a smaller one fits
                assertEquals(2 * 4L * hidden, off.deviceInfo().usedBytes());
            }
        }
    }
}
