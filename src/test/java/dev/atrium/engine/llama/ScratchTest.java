package dev.atrium.engine.llama;

import de.kherud.llama.InferenceParameters;
import de.kherud.llama.LlamaModel;
import de.kherud.llama.ModelParameters;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class ScratchTest {
    @Test
    void print() {
        System.out.println(JsonSchemaGrammar.fromSchema("{\"definitions\": {\"id\": {\"type\": \"string\", \"maxLength\": 3}}, \"properties\": {\"id\": {\"$ref\": \"#/definitions/id\"}, \"self\": {\"$ref\": \"#\"}}}"));
    }

    @Test
    void scratch() throws Exception {
        LlamaModel model = new LlamaModel(new ModelParameters().setModel("../shared/models/aidreams260K-f32.gguf").setCtxSize(256).setParallel(1));
        for (String g : Files.readString(Path.of("/tmp/grammars.txt")).split("----\n")) {
            if (g.startsWith("SCHEMA ")) {
                g = JsonSchemaGrammar.fromSchema(g.substring(7));
            }
            System.out.println("GRAMMAR " + g + "\nOUT " + model.complete(new InferenceParameters("Once").setGrammar(g).setNPredict(40).setSeed(1)).replace("\n", " "));
        }
    }
}
