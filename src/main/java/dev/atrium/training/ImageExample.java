package dev.atrium.training;

import static java.util.Objects.requireNonNull;

/**
 * One labelled image of an image classification dataset, its bytes still encoded (PNG, JPEG, ...).
 *
 * @param image the encoded image
 * @param label its class
 * @param where where in the file it came from, for messages about it: {@code line 12}, {@code entry 'shirt/3.png'}
 */
record ImageExample(byte[] image, String label, String where) {
    ImageExample {
        requireNonNull(image, "image is null");
        requireNonNull(label, "label is null");
        requireNonNull(where, "where is null");
    }
}
