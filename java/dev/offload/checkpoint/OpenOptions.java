package dev.offload.checkpoint;

import dev.offload.OffloadException;
import java.util.List;

/**
 * How {@link Pipeline#open} and {@link Checkpoint#open(java.nio.file.Path, OpenOptions)} read a path.
 *
 * @param variant which weight variant of a folder to open ({@code fp16} picks
 *     {@code diffusion_pytorch_model.fp16.safetensors}); null prefers the plain files (no infix), and
 *     opens the only variant when a folder holds just one
 * @param component the one component to open (a pipeline subfolder's name or a bundle's component);
 *     null opens them all
 * @param bundleRules how a single file is split into components ({@link BundleRule#DEFAULTS}); an
 *     empty list never splits
 */
public record OpenOptions(String variant, String component, List<BundleRule> bundleRules) {
    public OpenOptions {
        if (variant != null && !variant.matches("[A-Za-z][A-Za-z0-9_]*")) {
            throw OffloadException.invalid("variant must be a letter followed by letters, digits or '_' (fp16, bf16, ...), got '"
                    + variant + "'");
        }
        if (component != null && component.isBlank()) throw OffloadException.invalid("component name is empty");
        bundleRules = List.copyOf(bundleRules);
    }

    public static OpenOptions defaults() {
        return new OpenOptions(null, null, BundleRule.DEFAULTS);
    }

    public OpenOptions variant(String name) {
        return new OpenOptions(name, component, bundleRules);
    }

    public OpenOptions component(String name) {
        return new OpenOptions(variant, name, bundleRules);
    }

    public OpenOptions bundleRules(List<BundleRule> rules) {
        return new OpenOptions(variant, component, rules);
    }
}
