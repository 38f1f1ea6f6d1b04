package dev.atrium.training.tabular;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.atrium.AtriumException;
import dev.atrium.engine.onnx.tabular.FeatureSchema;
import dev.atrium.engine.onnx.tabular.FeatureSchema.FeatureType;
import dev.atrium.engine.onnx.tabular.FeatureSchema.Task;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.json.JsonMapper;

class TabularEncodingTest {
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private static TabularDataset read(String csv, TabularDatasetSpec spec) {
        return TabularCsvReader.read(new ByteArrayInputStream(csv.getBytes(StandardCharsets.UTF_8)), spec,
                TabularCsvLimits.DEFAULT);
    }

    @Test
    void split_sameSeed_sameRowsAndAnotherSeedOthers() {
        TabularDataset dataset = SyntheticTables.read(SyntheticTables.regression(1000, 0.1, 1), Task.REGRESSION);

        TabularSplit first = dataset.split(0.2, 11);
        TabularSplit again = dataset.split(0.2, 11);
        TabularSplit other = dataset.split(0.2, 12);

        assertThat(first.validation().rowCount()).isEqualTo(200);
        assertThat(first.train().rowCount()).isEqualTo(800);
        assertThat(again.validation().features()).isEqualTo(first.validation().features());
        assertThat(other.validation().features()).isNotEqualTo(first.validation().features());
        // every row lands in exactly one part: the targets (distinct reals) of the two parts cover the file's
        Set<Float> targets = new HashSet<>();
        for (EncodedRows part : new EncodedRows[] {first.train(), first.validation()}) {
            for (int row = 0; row < part.rowCount(); row++) {
                targets.add(part.target(row));
            }
        }
        Set<Float> all = new HashSet<>();
        for (int row = 0; row < dataset.rowCount(); row++) {
            all.add((float) dataset.targetValue(row));
        }
        assertThat(targets).isEqualTo(all);
    }

    @Test
    void split_classification_keepsEachClassShareInValidation() {
        StringBuilder csv = new StringBuilder("x,y\n");
        for (int row = 0; row < 100; row++) {
            csv.append(row).append(',').append(row < 90 ? "common" : "rare").append('\n');
        }
        TabularSplit split = read(csv.toString(), TabularDatasetSpec.of("y", Task.CLASSIFICATION)).split(0.2, 3);

        int rare = 0;
        for (int row = 0; row < split.validation().rowCount(); row++) {
            rare += split.validation().target(row) == 1 ? 1 : 0;
        }
        assertThat(split.validation().rowCount()).isEqualTo(20);
        assertThat(rare).isEqualTo(2);
    }

    @Test
    void split_encodesOneHotBooleansAndFillsMissingCellsFromTrainingRows() {
        // the test row (x empty, c empty) lands wherever the seed puts it; fills come from the training rows only
        String csv = "x,c,b,y\n1,red,true,1\n3,blue,false,2\n5,red,true,3\n,,,4\n";
        TabularDataset dataset = read(csv, TabularDatasetSpec.of("y", Task.REGRESSION));
        TabularSplit split = dataset.split(0.25, 5);
        TabularEncoding encoding = split.encoding();

        assertThat(encoding.width()).isEqualTo(4);
        EncodedRows validation = split.validation();
        assertThat(validation.rowCount()).isEqualTo(1);
        double trainMean = 0;
        int trainValues = 0;
        int reds = 0;
        int trues = 0;
        for (int row = 0; row < 4; row++) {
            boolean inValidation = dataset.targetValue(row) == validation.target(0);
            if (!inValidation && !Double.isNaN(dataset.value(row, 0))) {
                trainMean += dataset.value(row, 0);
                trainValues++;
                reds += dataset.value(row, 1) == 1 ? 1 : 0;
                trues += dataset.value(row, 2) == 1 ? 1 : 0;
            }
        }
        trainMean /= trainValues;
        FeatureSchema.Feature x = encoding.features().get(0);
        assertThat(x.missing().getAsDouble()).isEqualTo(trainMean);
        // every training row but the empty one is encoded by hand here and compared
        for (int row = 0; row < split.train().rowCount(); row++) {
            float target = split.train().target(row);
            int source = (int) target - 1;
            if (source == 3) {
                assertThat(split.train().feature(row, 0)).isEqualTo((float) trainMean);
                continue;
            }
            String[] cells = csv.split("\n")[source + 1].split(",");
            assertThat(split.train().feature(row, 0)).isEqualTo(Float.parseFloat(cells[0]));
            assertThat(split.train().feature(row, 1)).isEqualTo(cells[1].equals("blue") ? 1f : 0f);
            assertThat(split.train().feature(row, 2)).isEqualTo(cells[1].equals("red") ? 1f : 0f);
            assertThat(split.train().feature(row, 3)).isEqualTo(cells[2].equals("true") ? 1f : 0f);
        }
        // categories [blue, red]; a tie goes to the first
        assertThat(encoding.features().get(1).categories()).containsExactly("blue", "red");
        assertThat(encoding.features().get(1).missing().getAsDouble()).isEqualTo(reds * 2 > trainValues ? 1 : 0);
        assertThat(encoding.features().get(2).missing().getAsDouble()).isEqualTo(trues * 2 > trainValues ? 1 : 0);
    }

    @Test
    void config_isTheFeatureSchemaJsonTheEngineReads() throws Exception {
        String csv = "age,zip,member,color,label\n30,10,true,red,no\n40,2,false,blue,yes\n50,10,true,red,no\n"
                + "60,2,true,red,yes\n";
        TabularDataset dataset = read(csv, new TabularDatasetSpec("label", Task.CLASSIFICATION,
                Map.of("zip", FeatureType.CATEGORICAL), Set.of()));
        TabularSplit split = dataset.split(0.5, 1);
        TabularEncoding encoding = split.encoding();

        var config = encoding.config();

        double age = encoding.features().getFirst().missing().getAsDouble();
        String zipMissing = encoding.features().get(1).categories().get(
                (int) encoding.features().get(1).missing().getAsDouble());
        boolean member = encoding.features().get(2).missing().getAsDouble() == 1;
        String color = encoding.features().get(3).categories().get(
                (int) encoding.features().get(3).missing().getAsDouble());
        String expected = """
                {"features":[
                  {"name":"age","type":"numeric","missing":%s},
                  {"name":"zip","type":"categorical","categories":[2,10],"encoding":"one_hot","missing":%s},
                  {"name":"member","type":"boolean","missing":%s},
                  {"name":"color","type":"categorical","categories":["blue","red"],"encoding":"one_hot","missing":"%s"}],
                 "categorical_encoding":"one_hot","task":"classification","labels":["no","yes"],
                 "outputs":{"label":"label","probabilities":"probabilities"}}
                """.formatted(age, zipMissing, member, color);
        // as text: node equality tells a long 2 from an int 2
        assertThat(JSON.writeValueAsString(config)).isEqualTo(JSON.writeValueAsString(JSON.readTree(expected)));
        FeatureSchema parsed = FeatureSchema.parse(config);
        assertThat(parsed).isEqualTo(encoding.schema());
        assertThat(parsed.encodedWidth()).isEqualTo(encoding.width()).isEqualTo(6);
    }

    @Test
    void config_regression_namesItsPredictionOutput() {
        TabularSplit split = SyntheticTables.read(SyntheticTables.regression(50, 0.1, 2), Task.REGRESSION)
                .split(0.2, 1);
        FeatureSchema schema = FeatureSchema.parse(split.encoding().config());
        assertThat(schema.task()).isEqualTo(Task.REGRESSION);
        assertThat(schema.outputs().prediction()).contains(TabularEncoding.PREDICTION);
        assertThat(schema.labels()).isEmpty();
        assertThat(schema.features()).extracting(FeatureSchema.Feature::name)
                .containsExactly("x1", "x2", "color", "member", "noise");
    }

    @Test
    void split_tooFewRows_isRefused() {
        TabularDataset dataset = read("x,y\n1,a\n2,b\n", TabularDatasetSpec.of("y", Task.CLASSIFICATION));
        assertThatThrownBy(() -> dataset.split(0.2, 1)).isInstanceOf(AtriumException.class)
                .hasMessageContaining("too few");
        assertThatThrownBy(() -> dataset.split(1.0, 1)).isInstanceOf(AtriumException.class);
    }
}
