package dev.offload;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.checkpoint.Checkpoint;
import dev.offload.plan.BudgetLedger;
import dev.offload.runtime.DeviceBuffer;
import dev.offload.runtime.HostFunction;
import dev.offload.workload.SyntheticModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The registry's lock is held to decide and to update tables, never across a device wait (issue
 * 17, docs/ARCHITECTURE.md "Locks"): while the compute stream is held by a slow step (a host
 * function that blocks until the test lets it go), a registration, an override or a turn that must
 * close an engine waits for the device, and a third thread's unrelated Offloader calls
 * (deviceInfo(), preview(), components()) complete meanwhile, proven by a latch: they return while the device
 * is still held and the waiting call has not returned. On the old code they waited for the device
 * too (a registration held the device set's lock across its wait: a preview waited for the device).
 * Also here: the free bytes a turn reports are the budget ledger's, and a closed offloader
 * reports CLOSED before it looks at a null argument.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DeviceWaitOutsideLockTest {
    Path dir, t, u, p;

    @BeforeAll
    void writeModels() throws java.io.IOException {
        dir = Files.createTempDirectory("offload-lockwait-");
        t = dir.resolve("t.safetensors");
        u = dir.resolve("u.safetensors");
        p = dir.resolve("p.safetensors");
        SyntheticModel.write(t, 64, 2, 2, 1);
        SyntheticModel.write(u, 64, 2, 2, 2);
        SyntheticModel.write(p, 64, 2, 2, 3);
    }

    @AfterAll
    void cleanUp() throws java.io.IOException {
        try (var files = Files.list(dir)) {
            for (Path f : files.toList()) Files.deleteIfExists(f);
        }
        Files.deleteIfExists(dir);
    }

    private static void stepOnce(Offloader off, String name) {
        try (Step s = off.step(name)) {
            for (Group g : s) assertTrue(g.byteSize() > 0);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"register", "override", "turn"})
    void anUnrelatedCallCompletesWhileAnotherCallWaitsForTheDeviceToCloseAnEngine(String call) throws Exception {
        ExecutorService threads = Executors.newFixedThreadPool(2);
        CountDownLatch device = new CountDownLatch(1);  // holds the compute stream until counted down
        try (Checkpoint ct = Checkpoint.open(t); Checkpoint cu = Checkpoint.open(u); Checkpoint cp = Checkpoint.open(p)) {
            long one = ct.totalBytes() * 3 / 2;  // room for one turn-taking component's plan (its packed bytes), not for two
            OffloadConfig.Builder config = OffloadConfig.builder().device("host").h2dGbps(5).strategy(Strategy.MODEL_OFFLOAD)
                    .strategy("p", Strategy.GROUP_OFFLOAD).strategy("a", Strategy.GROUP_OFFLOAD)
                    .deviceBudget(call.equals("turn") ? one : 8 * one);
            try (Offloader off = Offloader.open(config.build());
                 HostFunction slow = new HostFunction("slow step", arg -> device.await(60, TimeUnit.SECONDS))) {
              try {  // the device is let go before the offloader and the host function close (they wait for it)
                off.register("t", ct);
                stepOnce(off, "t");  // t is on the device, idle: what a registration of a permanent component or u's turn evicts
                if (call.equals("turn")) off.register("u", cu);
                if (call.equals("override")) off.register("a", cp);
                Consumer<Offloader> waiting = switch (call) {
                    case "register" -> o -> o.register("p", cp);            // evicts t: its engine's close waits for the device
                    case "override" -> o -> o.override("a", Strategy.NO_OFFLOAD).close();  // a's engine closes, twice
                    default -> o -> stepOnce(o, "u");                        // u's turn evicts t
                };
                slow.launch(off.computeStream(), 0);  // a step's slow kernel: the compute stream is busy until the latch opens
                Future<?> waiter = threads.submit(() -> waiting.accept(off));
                Thread.sleep(300);  // the call is waiting for the device now
                Future<Integer> unrelated = threads.submit(() -> {
                    off.deviceInfo();
                    // a preview takes the offloader's placement and the registry's lock, never waits for the device
                    var preview = off.preview(java.util.Map.of("q", dev.offload.graph.BlockGraph.discover(cp)), java.util.OptionalLong.empty());
                    assertEquals(java.util.List.of("q"), preview.components().stream().map(e -> e.component()).toList());
                    return off.components().size();
                });
                int seen = unrelated.get(20, TimeUnit.SECONDS);  // on the old code: blocked until the device was let go (never, here)
                assertTrue(failure(waiter) == null, "the waiting call failed instead of waiting: " + failure(waiter));
                if (call.equals("turn")) {
                    // A turn waits for nothing at all (issue 18: the evicted engine is retired, its region
                    // fenced on the device): u's step is done while t's last work still holds the device.
                    waiter.get(20, TimeUnit.SECONDS);
                    assertTrue(device.getCount() > 0, "the turn returned only after the device was let go");
                } else {
                    assertTrue(device.getCount() > 0 && !waiter.isDone(), "the unrelated call returned while the " + call + " still waited for the device");
                }
                assertTrue(seen >= 1, "components: " + seen);
                device.countDown();
                waiter.get(60, TimeUnit.SECONDS);
                assertEquals(2, off.components().size());
                if (!call.equals("override")) assertFalse(off.component("t").isActive(), "t was evicted");
              } finally {
                device.countDown();
              }
            }
        } finally {
            threads.shutdownNow();
            assertTrue(threads.awaitTermination(60, TimeUnit.SECONDS));
        }
    }

    private static Throwable failure(Future<?> f) {
        if (!f.isDone()) return null;
        try {
            f.get();
            return null;
        } catch (Exception e) {
            return e;
        }
    }

    /** A turn that does not fit reports the ledger's free bytes (budget less what is handed out), not a figure of its own, with an odd reserve set. */
    @Test
    void aTurnReportsTheLedgersFreeBytes() throws Exception {
        long reserve = 1001;
        try (Checkpoint ct = Checkpoint.open(t)) {
            long budget = ct.totalBytes() * 2 + reserve + 4099;
            try (Offloader off = Offloader.open(OffloadConfig.builder().device("host").h2dGbps(5).strategy(Strategy.MODEL_OFFLOAD)
                    .activationReserve(reserve).deviceBudget(budget).build())) {
                off.register("t", ct);
                assertEquals(BudgetLedger.usable(off.facts().deviceBytes(), reserve), off.facts().usable());
                long need = off.component("t").plan().deviceBytes();
                try (DeviceBuffer held = off.runtime().allocateDevice(budget - need + 1)) {
                    OffloadException e = assertThrows(OffloadException.class, () -> stepOnce(off, "t"));
                    long free = off.deviceInfo().budgetBytes() - off.deviceInfo().usedBytes();
                    assertEquals(Status.OUT_OF_DEVICE_MEMORY, e.status());
                    assertTrue(e.getMessage().contains("needs " + need + " device bytes for its turn but " + free + " are free"), e.getMessage());
                }
            }
        }
    }

    /** Closed first: a null argument to a closed offloader is CLOSED, as every other call on it. */
    @Test
    void aClosedOffloaderReportsClosedBeforeANullArgument() {
        Offloader off = Offloader.open(OffloadConfig.builder().device("host").build());
        off.close();
        java.util.List<org.junit.jupiter.api.function.Executable> calls = java.util.List.of(
                () -> off.register("m", (Checkpoint) null),
                () -> off.register("m", (dev.offload.graph.BlockGraph) null),
                () -> off.registerAll(null),
                () -> off.registerGraphs(null),
                () -> off.preview(null, java.util.OptionalLong.empty()),
                () -> off.addTensors("m", null),
                () -> off.removeTensors("m", null),
                () -> off.override("m", null),
                () -> off.step(null),
                () -> off.component(null));
        for (var call : calls) assertEquals(Status.CLOSED, assertThrows(OffloadException.class, call).status());
    }
}
