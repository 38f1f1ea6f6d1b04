package dev.atrium.training.tabular;

/**
 * The most a CSV training file may hold, so that parsing work and memory stay bounded whatever a tenant uploads.
 *
 * @param maxRows data rows, not counting the header
 * @param maxColumns columns of the header
 * @param maxCells rows × columns: what is held in memory (12 bytes a cell)
 * @param maxCategories distinct values of one categorical column, and classes of a classification target
 * @param maxRecordLength characters of one record (one line, or more where a quoted cell holds line breaks)
 */
public record TabularCsvLimits(int maxRows, int maxColumns, long maxCells, int maxCategories, int maxRecordLength) {
    /** 1M rows, 1,000 columns, 20M cells (240 MB), 1,000 categories, 1 MiB records. */
    public static final TabularCsvLimits DEFAULT = new TabularCsvLimits(1_000_000, 1_000, 20_000_000, 1_000, 1 << 20);

    public TabularCsvLimits {
        if (maxRows < 2 || maxColumns < 2 || maxCells < 4 || maxCategories < 2 || maxRecordLength < 16) {
            throw new IllegalArgumentException("limits too small: " + maxRows + " rows, " + maxColumns + " columns, "
                    + maxCells + " cells, " + maxCategories + " categories, " + maxRecordLength + " characters");
        }
    }
}
