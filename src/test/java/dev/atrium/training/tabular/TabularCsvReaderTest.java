package dev.atrium.training.tabular;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.engine.onnx.tabular.FeatureSchema.FeatureType;
import dev.atrium.engine.onnx.tabular.FeatureSchema.Task;
import dev.atrium.training.tabular.TabularDataset.Column;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Set;
import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.Test;

class TabularCsvReaderTest {
    private static final TabularCsvLimits SMALL = new TabularCsvLimits(5, 4, 1_000, 3, 64);

    private static TabularDataset read(String csv, TabularDatasetSpec spec, TabularCsvLimits limits) {
        return TabularCsvReader.read(new ByteArrayInputStream(csv.getBytes(StandardCharsets.UTF_8)), spec, limits);
    }

    private static TabularDataset read(String csv, TabularDatasetSpec spec) {
        return read(csv, spec, TabularCsvLimits.DEFAULT);
    }

    @Test
    void read_mixedColumns_infersTypesCategoriesAndCountsMissingCells() {
        String csv = """
                age,member,city,note,price
                31,true,"Paris, FR",x,10.5
                ,FALSE,Oslo,,12
                45.5,false,"Paris, FR",y,9
                -2e1,True,Lima,z,11
                """;

        TabularDataset dataset = read(csv, TabularDatasetSpec.of("price", Task.REGRESSION));

        assertThat(dataset.rowCount()).isEqualTo(4);
        assertThat(dataset.features()).containsExactly(
                new Column("age", FeatureType.NUMERIC, java.util.List.of(), 1),
                new Column("member", FeatureType.BOOLEAN, java.util.List.of(), 0),
                new Column("city", FeatureType.CATEGORICAL, java.util.List.of("Lima", "Oslo", "Paris, FR"), 0),
                new Column("note", FeatureType.CATEGORICAL, java.util.List.of("x", "y", "z"), 1));
        assertThat(dataset.target()).isEqualTo(new Column("price", FeatureType.NUMERIC, java.util.List.of(), 0));
        assertThat(dataset.value(3, 0)).isEqualTo(-20.0);
        assertThat(dataset.value(1, 0)).isNaN();
        assertThat(dataset.value(3, 1)).isEqualTo(1.0);
        assertThat(dataset.value(1, 2)).isEqualTo(1.0);
        assertThat(dataset.targetValue(0)).isEqualTo(10.5);
    }

    @Test
    void read_declaredAndIgnoredColumns_followTheSpec() {
        String csv = "id,zip,score,label\n1,100,3,b\n2,10,4,a\n3,2,5,b\n4,10,,a\n";
        TabularDatasetSpec spec = new TabularDatasetSpec("label", Task.CLASSIFICATION,
                Map.of("zip", FeatureType.CATEGORICAL), Set.of("id"));

        TabularDataset dataset = read(csv, spec);

        // numbers declared categorical sort by value, not as text
        assertThat(dataset.features()).containsExactly(
                new Column("zip", FeatureType.CATEGORICAL, java.util.List.of("2", "10", "100"), 0),
                new Column("score", FeatureType.NUMERIC, java.util.List.of(), 1));
        assertThat(dataset.labels()).containsExactly("a", "b");
        assertThat(dataset.targetValue(0)).isEqualTo(1.0);
    }

    @Test
    void read_quotedLineBreaksAndCrlf_keepPhysicalLineNumbers() {
        String csv = "a,b,y\r\n1,\"two\r\nlines\",3\r\n\r\n4,x,5\r\n6,\"say \"\"hi\"\"\",oops\r\n";

        assertRefused(() -> read(csv, TabularDatasetSpec.of("y", Task.REGRESSION)))
                .hasMessageContaining("line 6").hasMessageContaining("'y' (3)").hasMessageContaining("'oops'");
        TabularDataset dataset = read(csv.replace("oops", "7"), TabularDatasetSpec.of("y", Task.REGRESSION));
        assertThat(dataset.features().get(1).categories()).containsExactly("say \"hi\"", "two\r\nlines", "x");
    }

    @Test
    void read_declaredNumericColumnWithText_namesTheLineAndColumn() {
        String csv = "x,age,y\n1,2,3\n1,3,4\n1,abc,5\n";
        assertRefused(() -> read(csv, new TabularDatasetSpec("y", Task.REGRESSION, Map.of("age", FeatureType.NUMERIC),
                Set.of())))
                .hasMessageContaining("line 4").hasMessageContaining("column 'age' (2)").hasMessageContaining("'abc'");
    }

    @Test
    void read_declaredBooleanColumnWithOtherText_namesTheLineAndColumn() {
        String csv = "x,flag,y\n1,true,3\n1,yes,4\n";
        assertRefused(() -> read(csv, new TabularDatasetSpec("y", Task.REGRESSION, Map.of("flag", FeatureType.BOOLEAN),
                Set.of())))
                .hasMessageContaining("line 3").hasMessageContaining("column 'flag' (2)");
    }

    @Test
    void read_rowWithTheWrongNumberOfCells_namesTheLine() {
        assertRefused(() -> read("a,b,y\n1,2,3\n1,2\n", TabularDatasetSpec.of("y", Task.REGRESSION)))
                .hasMessageContaining("line 3").hasMessageContaining("2 cells").hasMessageContaining("3 columns");
    }

    @Test
    void read_emptyOrNonNumericTarget_namesTheLineAndColumn() {
        assertRefused(() -> read("a,y\n1,2\n1,\n", TabularDatasetSpec.of("y", Task.REGRESSION)))
                .hasMessageContaining("line 3").hasMessageContaining("'y' (2)");
        assertRefused(() -> read("a,y\n1,2\n1,two\n", TabularDatasetSpec.of("y", Task.REGRESSION)))
                .hasMessageContaining("line 3").hasMessageContaining("'two'");
        assertRefused(() -> read("a,y\n1,k\n2,k\n", TabularDatasetSpec.of("y", Task.CLASSIFICATION)))
                .hasMessageContaining("only the class 'k'");
        assertRefused(() -> read("a,b\n1,2\n", TabularDatasetSpec.of("y", Task.REGRESSION)))
                .hasMessageContaining("line 1").hasMessageContaining("'y' is not in the header");
    }

    @Test
    void read_pastEachLimit_namesTheLine() {
        TabularDatasetSpec spec = TabularDatasetSpec.of("y", Task.REGRESSION);
        assertRefused(() -> read("a,y\n1,1\n2,2\n3,3\n4,4\n5,5\n6,6\n", spec, SMALL))
                .hasMessageContaining("line 7").hasMessageContaining("more than 5 data rows");
        assertRefused(() -> read("a,b,c,d,y\n1,2,3,4,5\n", spec, SMALL))
                .hasMessageContaining("line 1").hasMessageContaining("5 cells; at most 4 columns");
        assertRefused(() -> read("a,y\n1,1\n" + "9".repeat(70) + ",2\n", spec, SMALL))
                .hasMessageContaining("line 3").hasMessageContaining("longer than 64 characters");
        assertRefused(() -> read("c,y\nr,1\ng,2\nb,3\nr,4\nw,5\n", spec, SMALL))
                .hasMessageContaining("line 6").hasMessageContaining("column 'c' (1)")
                .hasMessageContaining("more than 3 distinct values");
        // the cell bound: 4 columns of 200 cells allow 50 rows
        TabularCsvLimits cells = new TabularCsvLimits(1_000, 4, 200, 3, 64);
        StringBuilder csv = new StringBuilder("a,b,c,y\n");
        for (int row = 0; row < 51; row++) {
            csv.append("1,2,3,4\n");
        }
        assertRefused(() -> read(csv.toString(), spec, cells)).hasMessageContaining("line 52")
                .hasMessageContaining("more than 50 data rows");
    }

    @Test
    void read_malformedFiles_areRefusedWithTheLine() {
        TabularDatasetSpec spec = TabularDatasetSpec.of("y", Task.REGRESSION);
        assertRefused(() -> read("a,y\n1,2\n\"open,3\n4,5\n", spec)).hasMessageContaining("line 3")
                .hasMessageContaining("not closed");
        assertRefused(() -> read("a,y\n1,2\n\"x\"z,3\n", spec)).hasMessageContaining("line 3")
                .hasMessageContaining("after its closing quote");
        assertRefused(() -> read("a,a,y\n1,2,3\n", spec)).hasMessageContaining("line 1")
                .hasMessageContaining("named twice");
        assertRefused(() -> read("", spec)).hasMessageContaining("empty");
        assertRefused(() -> read("a,y\n", spec)).hasMessageContaining("no data rows");
        assertRefused(() -> read("a,b,y\n1,,2\n3,,4\n", spec)).hasMessageContaining("'b' (2) is empty on every row");
        byte[] latin1 = "a,y\n1,2\ncaf\u00e9,3\n".getBytes(StandardCharsets.ISO_8859_1);
        assertRefused(() -> TabularCsvReader.read(new ByteArrayInputStream(latin1), spec, TabularCsvLimits.DEFAULT))
                .hasMessageContaining("line 3").hasMessageContaining("UTF-8");
    }

    @Test
    void read_textThatOnlyLooksNumeric_isCategorical() {
        TabularDataset dataset = read("v,y\n0x10,1\nInfinity,2\n1e5,3\nNaN,4\n", TabularDatasetSpec.of("y",
                Task.REGRESSION));
        assertThat(dataset.features().getFirst().type()).isEqualTo(FeatureType.CATEGORICAL);
        assertThat(TabularCsvReader.parseNumber("1e999")).isNaN();
        assertThat(TabularCsvReader.parseNumber("-1.5E-3")).isEqualTo(-0.0015);
    }

    private static AbstractThrowableAssert<?, ? extends Throwable> assertRefused(
            org.assertj.core.api.ThrowableAssert.ThrowingCallable call) {
        return assertThatThrownBy(call).isInstanceOfSatisfying(AtriumException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
            assertThat(e.param()).contains("training_file");
        });
    }
}
