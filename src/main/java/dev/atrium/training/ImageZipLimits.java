package dev.atrium.training;

/**
 * Bounds on reading a zip of image folders, all of them on bytes actually inflated, never on the sizes the archive
 * declares, so that reading one costs memory and work in proportion to them.
 *
 * @param maxImages the most images the archive may hold
 * @param maxEntries the most entries of any kind (images, folders, skipped files such as {@code __MACOSX/})
 * @param maxImageBytes the largest image, inflated
 * @param maxTotalBytes the most bytes all entries together may inflate to, skipped ones included
 * @param maxRatio the most an entry may inflate, as a multiple of its compressed bytes, once past
 *     {@code ratioGraceBytes}: a zip bomb stops there, after little work
 * @param ratioGraceBytes the inflated bytes an entry may reach before its ratio is checked, so that small, very
 *     compressible files (a blank BMP, a folder's metadata) pass
 */
record ImageZipLimits(int maxImages, int maxEntries, int maxImageBytes, long maxTotalBytes, int maxRatio,
        int ratioGraceBytes) {
    ImageZipLimits {
        if (maxImages < 1) {
            throw new IllegalArgumentException("maxImages must be positive, not " + maxImages);
        }
        if (maxEntries < maxImages) {
            throw new IllegalArgumentException("maxEntries must be at least maxImages, not " + maxEntries);
        }
        if (maxImageBytes < 1) {
            throw new IllegalArgumentException("maxImageBytes must be positive, not " + maxImageBytes);
        }
        if (maxTotalBytes < maxImageBytes) {
            throw new IllegalArgumentException("maxTotalBytes must be at least maxImageBytes, not " + maxTotalBytes);
        }
        if (maxRatio < 1) {
            throw new IllegalArgumentException("maxRatio must be positive, not " + maxRatio);
        }
        if (ratioGraceBytes < 0) {
            throw new IllegalArgumentException("ratioGraceBytes must not be negative, not " + ratioGraceBytes);
        }
    }
}
