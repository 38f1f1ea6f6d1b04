package dev.atrium.registry;

import static java.util.Objects.requireNonNull;

import dev.atrium.engine.Deployment;

/** A model reference resolved to one version, ready to hand to its engine. */
public record ResolvedModel(Model model, ModelVersion version, Deployment deployment) {
    public ResolvedModel {
        requireNonNull(model, "model is null");
        requireNonNull(version, "version is null");
        requireNonNull(deployment, "deployment is null");
    }
}
