package dev.atrium.training.tabular;

import static java.util.Objects.requireNonNull;

import dev.atrium.engine.onnx.tabular.FeatureSchema.FeatureType;
import dev.atrium.engine.onnx.tabular.FeatureSchema.Task;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * What the caller says about a CSV training file: which column to predict, whether that is a regression or a
 * classification, the types of any columns that should not be inferred, and columns to leave out (ids, leaks).
 *
 * @param declaredTypes column name → type; a declared column must fit its type on every line
 * @param ignored columns that are neither features nor the target
 */
public record TabularDatasetSpec(String target, Task task, Map<String, FeatureType> declaredTypes, Set<String> ignored) {
    public TabularDatasetSpec {
        requireNonNull(target, "target is null");
        requireNonNull(task, "task is null");
        // insertion order kept, so that messages about declared columns read in the caller's order
        declaredTypes = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(requireNonNull(declaredTypes,
                "declaredTypes is null")));
        ignored = Set.copyOf(requireNonNull(ignored, "ignored is null"));
        if (target.isBlank()) {
            throw new IllegalArgumentException("target is blank");
        }
        if (ignored.contains(target)) {
            throw new IllegalArgumentException("the target column " + target + " is also ignored");
        }
    }

    /** Every column but the target is a feature, of inferred type. */
    public static TabularDatasetSpec of(String target, Task task) {
        return new TabularDatasetSpec(target, task, Map.of(), Set.of());
    }
}
