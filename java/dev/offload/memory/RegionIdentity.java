package dev.offload.memory;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.offload.plan.PackedGroup;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * A shared host region's identity header (SharedHostRegion's class note): the disk cache's identity
 * ({@link CacheIdentity#of}: the component, every source file's path and {@link FileStamp}, every
 * group's name, bytes and 4 KiB-aligned offset, every tensor's packed offset) plus a hash of the
 * layout, and the check of an existing region's header against the one this process would write,
 * which says in words why it cannot be used: foreign (another component, other files, another
 * layout) or stale (the same files, changed since they were packed).
 */
final class RegionIdentity {
    static final String KIND = "offload shared host region";

    private RegionIdentity() {}

    /** The header this process would write for the component's groups and sources now. */
    static JsonObject of(String component, List<PackedGroup> packed, DiskSource direct, List<FileStamp> stamps) {
        JsonObject h = CacheIdentity.of(component, packed, direct, stamps);
        h.addProperty("kind", KIND);
        h.addProperty("layout_hash", layoutHash(h));
        return h;
    }

    /** SHA-256 (first 16 bytes, hex) of the groups' layout as the header records it. */
    static String layoutHash(JsonObject header) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(header.get("groups").toString().getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d, 0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }

    /** Why a region with header {@code text} cannot be used for {@code identity}, in words; null when it can. */
    static String mismatch(String text, JsonObject identity) {
        JsonObject found;
        try {
            found = JsonParser.parseString(text).getAsJsonObject();
        } catch (RuntimeException e) {
            return "foreign: its header is not JSON";
        }
        if (found.equals(identity)) return null;
        if (!KIND.equals(string(found, "kind"))) return "foreign: it is not an " + KIND;
        String component = string(found, "component");
        if (!identity.get("component").getAsString().equals(component)) {
            return "foreign: it was packed for component '" + component + "'";
        }
        List<String> paths = new ArrayList<>(), wanted = new ArrayList<>();
        List<String> stamps = new ArrayList<>();
        try {
            for (JsonElement f : found.getAsJsonArray("files")) {
                paths.add(f.getAsJsonObject().get("path").getAsString());
                stamps.add(f.getAsJsonObject().get("stamp").getAsString());
            }
        } catch (RuntimeException e) {
            return "foreign: its header has no list of source files";
        }
        JsonArray now = identity.getAsJsonArray("files");
        for (JsonElement f : now) wanted.add(f.getAsJsonObject().get("path").getAsString());
        if (!paths.equals(wanted)) return "foreign: it was packed from other files (" + shown(paths) + ")";
        if (!identity.get("layout_hash").getAsString().equals(string(found, "layout_hash")) || !identity.get("groups").equals(found.get("groups"))) {
            return "foreign: it was packed with another layout (layout hash " + string(found, "layout_hash") + ", this one "
                    + identity.get("layout_hash").getAsString() + ")";
        }
        for (int i = 0; i < stamps.size(); i++) {
            String stampNow = now.get(i).getAsJsonObject().get("stamp").getAsString();
            if (!stampNow.equals(stamps.get(i))) {
                FileStamp was = FileStamp.parse(stamps.get(i)), is = FileStamp.parse(stampNow);
                return "stale: " + CacheFolder.recordedPath(paths.get(i)) + " changed since it was packed ("
                        + (was == null || is == null ? "its stamp differs" : is.changeFrom(was)) + ")";
            }
        }
        return "foreign: its header differs (version " + string(found, "version") + ")";
    }

    private static String string(JsonObject o, String key) {
        JsonElement e = o.get(key);
        return e == null || !e.isJsonPrimitive() ? null : e.getAsString();
    }

    private static String shown(List<String> paths) {
        List<String> s = new ArrayList<>();
        for (String p : paths) s.add(String.valueOf(CacheFolder.recordedPath(p)));
        return String.join(", ", s);
    }
}
