package dev.offload.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** plan.Placement as a pure function: largest first by room, by hand, replicated; each with its reason. */
class PlacementTest {
    private static Map<String, BudgetLedger.DeviceRoom> ledgers(long... rooms) {
        Map<String, BudgetLedger.DeviceRoom> out = new LinkedHashMap<>();
        for (int i = 0; i < rooms.length; i++) out.put("host:" + i, BudgetLedger.of(rooms[i], 0, 0, List.of()).placing());
        return out;
    }

    private static Map<String, Long> components() {
        Map<String, Long> c = new LinkedHashMap<>();
        c.put("text_encoder", 50L << 20);
        c.put("transformer", 100L << 20);
        c.put("vae", 60L << 20);
        return c;
    }

    @Test
    void largestFirstToTheDeviceWithTheMostRoomLeft() {
        var r = new Placement.Request(List.of("host:0", "host:1"), Map.of(), false);
        var d = Placement.place(r, components(), ledgers(120L << 20, 120L << 20));
        assertEquals(List.of("text_encoder", "transformer", "vae"), List.copyOf(d.keySet()));  // the components' order
        assertEquals("host:0", d.get("transformer").device());
        assertEquals("host:1", d.get("vae").device());
        assertEquals("host:1", d.get("text_encoder").device());  // 60 MiB left on host:1, 20 on host:0
        assertTrue(d.get("transformer").reason().startsWith("largest first: 100.00 MiB to host:0"), d.get("transformer").reason());
        assertTrue(d.get("text_encoder").reason().endsWith("it fits whole there"), d.get("text_encoder").reason());
    }

    @Test
    void aLargerBudgetTakesTheLargestAndOneThatFitsNowhereSaysSo() {
        var r = new Placement.Request(List.of("host:0", "host:1"), Map.of(), false);
        var d = Placement.place(r, components(), ledgers(40L << 20, 90L << 20));
        assertEquals("host:1", d.get("transformer").device());
        assertTrue(d.get("transformer").reason().endsWith("it fits no device whole and streams there"), d.get("transformer").reason());
    }

    @Test
    void byHandOverridesAndReplicateCoversTheRest() {
        var r = new Placement.Request(List.of("host:0", "host:1"), Map.of("vae", List.of("host:1")), true);
        var d = Placement.place(r, components(), ledgers(120L << 20, 120L << 20));
        assertEquals(List.of("host:1"), d.get("vae").devices());
        assertEquals("placed by hand on host:1", d.get("vae").reason());
        assertEquals(List.of("host:0", "host:1"), d.get("transformer").devices());
        assertTrue(d.get("transformer").reason().startsWith("replicated on every device"));
    }

    @Test
    void everyPlacedComponentIsBookedOnEachOfItsDevicesInTheLedgersRooms() {
        // Replicated: booked on every device (before, replicated components booked nothing).
        var rooms = ledgers(120L << 20, 90L << 20);
        var r = new Placement.Request(List.of("host:0", "host:1"), Map.of("vae", List.of("host:1")), true);
        Placement.place(r, components(), rooms);
        assertEquals((150L << 20) + (60L << 20), rooms.get("host:1").booked());  // text_encoder + transformer replicated, vae by hand
        assertEquals(150L << 20, rooms.get("host:0").booked());
        assertEquals((120L << 20) - (150L << 20), rooms.get("host:0").left());  // over-committed: negative, as the ledger says
        // By hand on two devices, then largest first: the AUTO one sees the room the two-device one left.
        rooms = ledgers(200L << 20, 200L << 20);
        Map<String, Long> c = new LinkedHashMap<>();
        c.put("shared", 150L << 20);
        c.put("small", 10L << 20);
        c.put("big", 100L << 20);
        r = new Placement.Request(List.of("host:0", "host:1"), Map.of("shared", List.of("host:0", "host:1"), "small", List.of("host:1")), false);
        var d = Placement.place(r, c, rooms);
        assertEquals("host:0", d.get("big").device());  // host:0 has 50 MiB left, host:1 40 MiB
        assertTrue(d.get("big").reason().contains("(50.00 MiB of its 200.00 MiB budget; host:1 had 40.00 MiB): it fits no device whole"),
                d.get("big").reason());
        assertEquals(250L << 20, rooms.get("host:0").booked());
        assertEquals(160L << 20, rooms.get("host:1").booked());
    }

    @Test
    void aDeviceRoomIsTheLedgersUsableRoomLessWhatWasBooked() {
        BudgetLedger ledger = BudgetLedger.of(100L << 20, 30L << 20, 10L << 20, List.of());
        BudgetLedger.DeviceRoom room = ledger.placing();
        assertEquals(ledger.usable(dev.offload.Strategy.GROUP_OFFLOAD), room.left());
        assertEquals(60L << 20, room.left());
        room.book(25L << 20);
        assertEquals(35L << 20, room.left());
        assertEquals(100L << 20, room.budget());
    }
}
