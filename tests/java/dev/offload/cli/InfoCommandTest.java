package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.offload.runtime.Backend;
import dev.offload.runtime.DeviceRuntime;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class InfoCommandTest {
    record Result(int exit, String out, String err) {}

    static Result run(String... args) {
        var out = new ByteArrayOutputStream();
        var err = new ByteArrayOutputStream();
        int exit = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void jsonNamesTheBackendsAndMeasuredBandwidth() {
        Result r = run("info", "--json", "--bytes", "2MiB", "--repeats", "3");
        assertEquals(0, r.exit(), r.err());
        JsonObject json = JsonParser.parseString(r.out()).getAsJsonObject();
        var backends = json.getAsJsonArray("backends").asList().stream().map(e -> e.getAsString()).toList();
        assertTrue(backends.contains("host"));
        assertEquals(DeviceRuntime.compiledBackends().contains(Backend.CUDA), backends.contains("cuda"));
        assertTrue(backends.contains(json.get("backend").getAsString()));
        assertTrue(json.get("h2d_pinned_gbps").getAsDouble() > 0);
        assertTrue(json.get("h2d_pageable_gbps").getAsDouble() > 0);
        assertTrue(!json.get("device").getAsString().isBlank());
    }

    @Test
    void usageErrorsExitTwoWithOneLine() {
        Result unknown = run("frobnicate");
        assertEquals(2, unknown.exit());
        assertTrue(unknown.err().startsWith("offload: unknown command 'frobnicate'"), unknown.err());
        Result badOption = run("info", "--colour");
        assertEquals(2, badOption.exit());
        assertEquals("offload: unknown option --colour", badOption.err().strip());
        Result badSize = run("info", "--bytes", "lots");
        assertEquals(2, badSize.exit());
        assertTrue(!badSize.err().contains("\tat "), "no stack trace without --debug");
        Result badDevice = run("info", "--device", "tpu");
        assertEquals(2, badDevice.exit());
        assertTrue(badDevice.err().contains("'tpu'"), badDevice.err());
        Result nothing = run();
        assertEquals(2, nothing.exit());
    }

    @Test
    void debugAddsTheStackTrace() {
        Result r = run("info", "--device", "tpu", "--debug");
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("\tat "), r.err());
    }
}
