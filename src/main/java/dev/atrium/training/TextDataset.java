package dev.atrium.training;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A text classification dataset as read from a file: its examples in file order and its labels, sorted so that a
 * label's class index does not depend on the order of the file.
 */
record TextDataset(List<String> labels, List<TextExample> examples) {
    TextDataset {
        labels = List.copyOf(labels);
        examples = List.copyOf(examples);
        if (labels.size() < 2) {
            throw new IllegalArgumentException("a dataset has at least 2 labels, not " + labels.size());
        }
        if (!labels.stream().sorted().toList().equals(labels) || labels.stream().distinct().count() != labels.size()) {
            throw new IllegalArgumentException("labels must be distinct and sorted: " + labels);
        }
        Map<String, Integer> index = indexOf(labels);
        for (TextExample example : examples) {
            if (!index.containsKey(example.label())) {
                throw new IllegalArgumentException("example on line " + example.line() + " has label '"
                        + example.label() + "', which is not one of " + labels);
            }
        }
    }

    /** Each example's class: the index of its label in {@link #labels()}. */
    int[] classes() {
        Map<String, Integer> index = indexOf(labels);
        int[] classes = new int[examples.size()];
        for (int i = 0; i < classes.length; i++) {
            classes[i] = index.get(examples.get(i).label());
        }
        return classes;
    }

    /** The examples' texts, in order. */
    List<String> texts() {
        return examples.stream().map(TextExample::text).toList();
    }

    /** The examples at these indices, in the order given. */
    List<TextExample> select(int[] indices) {
        requireNonNull(indices, "indices is null");
        List<TextExample> selected = new ArrayList<>(indices.length);
        for (int index : indices) {
            selected.add(examples.get(index));
        }
        return selected;
    }

    private static Map<String, Integer> indexOf(List<String> labels) {
        Map<String, Integer> index = new HashMap<>();
        for (int i = 0; i < labels.size(); i++) {
            index.put(labels.get(i), i);
        }
        return index;
    }
}
