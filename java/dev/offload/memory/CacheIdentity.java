package dev.offload.memory;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.offload.DiskCacheCheck;
import dev.offload.graph.TensorRef;
import dev.offload.plan.PackedGroup;
import java.nio.file.Path;
import java.util.List;

/**
 * A disk cache's identity header (memory/DiskCache's class note): what it was written for, whose
 * hash names the file ({@link CacheFolder#name}), and the check of an existing cache against it
 * (identity, seal, and with {@link DiskCacheCheck#CONTENT} the sources' sampled hashes).
 */
final class CacheIdentity {
    private CacheIdentity() {}

    /** What a cache is written for (the class note's identity): component, sources with their stamps, layout. */
    static JsonObject of(String component, List<PackedGroup> packed, DiskSource direct, List<FileStamp> stamps) {
        JsonObject h = new JsonObject();
        h.addProperty("version", 2);
        h.addProperty("component", component);
        JsonArray files = new JsonArray();
        for (int f = 0; f < direct.files().size(); f++) {
            JsonObject o = new JsonObject();
            o.addProperty("path", CacheFolder.recordPath(direct.files().get(f)));
            o.addProperty("stamp", stamps.get(f).text());
            files.add(o);
        }
        h.add("files", files);
        JsonArray groups = new JsonArray();
        long at = 0;
        for (PackedGroup p : packed) {
            JsonObject g = new JsonObject();
            g.addProperty("name", p.spec().name());
            g.addProperty("bytes", p.bytes());
            g.addProperty("offset", at);
            JsonArray tensors = new JsonArray();
            for (int i = 0; i < p.spec().tensors().size(); i++) {
                TensorRef t = p.spec().tensors().get(i);
                JsonObject o = new JsonObject();
                o.addProperty("name", t.name());
                o.addProperty("dtype", t.dtype().name());
                JsonArray shape = new JsonArray();
                for (long d : t.shape()) shape.add(d);
                o.add("shape", shape);
                o.addProperty("offset", p.offsets()[i]);
                tensors.add(o);
            }
            g.add("tensors", tensors);
            groups.add(g);
            at += DiskCache.alignUp(p.bytes());
        }
        h.add("groups", groups);
        return h;
    }

    /** Why an existing cache (its header) cannot be reused, in words; null when it can. */
    static String staleness(String header, JsonObject identity, Path file, DiskSource direct, DiskCacheCheck check, String component) {
        JsonObject existing;
        try {
            existing = JsonParser.parseString(header).getAsJsonObject();
        } catch (RuntimeException e) {
            return "has a header that is not JSON";
        }
        JsonElement samples = existing.remove("samples");
        if (!existing.equals(identity)) return "was written for other sources or another layout";
        if (!DiskCache.sealMatches(file)) return "was changed after it was written (or its seal is missing)";
        if (check == DiskCacheCheck.CONTENT) {
            JsonArray now = new JsonArray();
            for (Path f : direct.files()) now.add(SourceSamples.of(f, "component '" + component + "'"));
            if (!now.equals(samples)) return "was written from source bytes that differ from the files' now (a sampled range changed"
                    + " with their stamps unchanged)";
        }
        return null;
    }
}
