package dev.offload.checkpoint;

import dev.offload.OffloadException;
import java.util.List;

/**
 * One rule for splitting a single file that bundles several models (a ComfyUI or original-release
 * checkpoint: the diffusion model, its text encoders and its VAE side by side) into components.
 *
 * <p>{@code prefix} is matched at the start of a tensor name and ends with a dot; one of its
 * segments may be {@code *}, which matches any one segment without dots. {@code component} names
 * the component the tensor goes to; a {@code *} in it is replaced by the segment {@code *} matched,
 * so {@code text_encoders.*.} &rarr; {@code *} puts {@code text_encoders.clip_l.x} in
 * {@code clip_l}. The matched prefix is stripped: the component sees {@code x}, the name it would
 * have in a file of its own, so block discovery and user code see the same names either way.
 * A name that is nothing but the prefix does not match.
 *
 * <p>{@link #DEFAULTS}, tried in order (the first match wins):
 * {@code model.diffusion_model.} &rarr; {@code diffusion_model}; {@code text_encoders.*.} &rarr;
 * {@code *}; {@code cond_stage_model.} &rarr; {@code cond_stage_model}; {@code conditioner.embedders.0.}
 * &rarr; {@code text_encoder} and {@code conditioner.embedders.1.} &rarr; {@code text_encoder_2} (SDXL
 * base's CLIP-L and OpenCLIP bigG, named as diffusers' SDXL folders name them); {@code conditioner.}
 * &rarr; {@code conditioner} (anything else under it); {@code first_stage_model.} &rarr; {@code vae};
 * {@code vae.} &rarr; {@code vae}.
 */
public record BundleRule(String prefix, String component) {
    public static final List<BundleRule> DEFAULTS = List.of(
            new BundleRule("model.diffusion_model.", "diffusion_model"),
            new BundleRule("text_encoders.*.", "*"),
            new BundleRule("cond_stage_model.", "cond_stage_model"),
            new BundleRule("conditioner.embedders.0.", "text_encoder"),
            new BundleRule("conditioner.embedders.1.", "text_encoder_2"),
            new BundleRule("conditioner.", "conditioner"),
            new BundleRule("first_stage_model.", "vae"),
            new BundleRule("vae.", "vae"));

    public BundleRule {
        if (prefix == null || prefix.length() < 2 || !prefix.endsWith(".") || prefix.startsWith(".")) {
            throw OffloadException.invalid("bundle rule: prefix must be non-empty and end with a dot, got '" + prefix + "'");
        }
        if (prefix.indexOf('*') != prefix.lastIndexOf('*')) {
            throw OffloadException.invalid("bundle rule '" + prefix + "': at most one '*' segment");
        }
        for (String segment : prefix.substring(0, prefix.length() - 1).split("\\.", -1)) {
            if (segment.isEmpty() || (segment.contains("*") && !segment.equals("*"))) {
                throw OffloadException.invalid("bundle rule '" + prefix + "': segments must be non-empty, and '*' a whole segment");
            }
        }
        if (component == null || component.isBlank()) throw OffloadException.invalid("bundle rule '" + prefix + "': empty component name");
        if (component.contains("*") && !prefix.contains("*")) {
            throw OffloadException.invalid("bundle rule '" + prefix + "': component '" + component + "' uses '*' but the prefix has none");
        }
    }

    /** Where a tensor goes: its component and its name there. */
    public record Match(String component, String prefix, String name) {}

    /** The match of this rule for a tensor name, or null. */
    public Match match(String tensorName) {
        int star = prefix.indexOf('*');
        if (star < 0) {
            if (tensorName.length() > prefix.length() && tensorName.startsWith(prefix)) {
                return new Match(component, prefix, tensorName.substring(prefix.length()));
            }
            return null;
        }
        if (!tensorName.startsWith(prefix.substring(0, star))) return null;
        int end = tensorName.indexOf('.', star);
        if (end <= star) return null;
        String segment = tensorName.substring(star, end);
        String concrete = prefix.substring(0, star) + segment + prefix.substring(star + 1);
        if (tensorName.length() <= concrete.length() || !tensorName.startsWith(concrete)) return null;
        return new Match(component.replace("*", segment), concrete, tensorName.substring(concrete.length()));
    }
}
