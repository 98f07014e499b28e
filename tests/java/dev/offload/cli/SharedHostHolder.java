package dev.offload.cli;

import dev.offload.Component;
import dev.offload.Group;
import dev.offload.OffloadConfig;
import dev.offload.Offloader;
import dev.offload.SharedHost;
import dev.offload.Step;
import dev.offload.Strategy;
import dev.offload.checkpoint.Checkpoint;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.file.Path;

/**
 * A process that holds a shared host region for SharedHostProcessesTest: {@code MODEL FOLDER NAME MODE}.
 * It registers the model with the region, runs one step (every group copied: every page of the
 * region touched), prints {@code ready <outcome>} and holds everything until a line arrives on its
 * standard input. With MODE {@code stall} it instead prints {@code packing} once the first group is
 * packed and stops there for good (the test kills it with SIGKILL).
 */
public final class SharedHostHolder {
    private SharedHostHolder() {}

    public static void main(String[] args) throws Exception {
        Path model = Path.of(args[0]);
        SharedHost region = SharedHost.named(args[2]).in(Path.of(args[1]));
        boolean stall = args.length > 3 && args[3].equals("stall");
        OffloadConfig config = OffloadConfig.builder().device("host").strategy(Strategy.GROUP_OFFLOAD).h2dGbps(10).sharedHost(region)
                .progress((task, done, total) -> {
                    if (!stall) return;
                    System.out.println("packing " + done + " of " + total);
                    System.out.flush();
                    try {
                        Thread.sleep(Long.MAX_VALUE);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }).build();
        try (Checkpoint ckpt = Checkpoint.open(model); Offloader off = Offloader.open(config)) {
            Component c = off.register("model", ckpt);
            try (Step s = off.step("model")) {
                for (Group g : s) {
                    // the copies alone: every group's bytes read from the region
                }
            }
            c.metrics(0, true);
            System.out.println("ready " + c.sharedHost());
            System.out.flush();
            new BufferedReader(new InputStreamReader(System.in)).readLine();
        }
    }
}
