package dev.atrium.deploy;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.kubernetes.client.openapi.JSON;
import io.kubernetes.client.openapi.models.V1ConfigMap;
import io.kubernetes.client.openapi.models.V1Deployment;
import io.kubernetes.client.openapi.models.V1PodDisruptionBudget;
import io.kubernetes.client.openapi.models.V1Secret;
import io.kubernetes.client.openapi.models.V1Service;
import io.kubernetes.client.openapi.models.V1ServiceAccount;
import io.kubernetes.client.openapi.models.V2HorizontalPodAutoscaler;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import tools.jackson.databind.JsonNode;

/**
 * Checks Kubernetes objects against the Kubernetes API's OpenAPI schema, offline: the official Java client's models
 * are generated from that schema, field by field, and each carries the schema's field list and required fields.
 * An object is valid when its kind is one this check knows, the generated validation finds no field the schema
 * does not define and no required field missing, and the object read into its model and written back is the same
 * JSON: a value of the wrong type (a string for a number, "yes" for a boolean, an object for a list) either fails
 * to read or comes back different.
 */
final class KubernetesSchema {
    private interface Validation {
        void validate(JsonElement element) throws IOException;
    }

    private record Model(Class<?> type, Validation validation) {}

    /** The kinds the chart and the manifests make, by apiVersion and kind. */
    private static final Map<String, Model> MODELS = Map.of(
            "v1/ConfigMap", new Model(V1ConfigMap.class, V1ConfigMap::validateJsonElement),
            "v1/Secret", new Model(V1Secret.class, V1Secret::validateJsonElement),
            "v1/Service", new Model(V1Service.class, V1Service::validateJsonElement),
            "v1/ServiceAccount", new Model(V1ServiceAccount.class, V1ServiceAccount::validateJsonElement),
            "apps/v1/Deployment", new Model(V1Deployment.class, V1Deployment::validateJsonElement),
            "policy/v1/PodDisruptionBudget",
            new Model(V1PodDisruptionBudget.class, V1PodDisruptionBudget::validateJsonElement),
            "autoscaling/v2/HorizontalPodAutoscaler",
            new Model(V2HorizontalPodAutoscaler.class, V2HorizontalPodAutoscaler::validateJsonElement));

    private KubernetesSchema() {}

    /** What is wrong with the object, or nothing when it is valid. */
    static List<String> problems(JsonNode object) {
        String kind = object.path("apiVersion").asString() + "/" + object.path("kind").asString();
        Model model = MODELS.get(kind);
        if (model == null) {
            return List.of("no schema for " + kind + " (known: " + new TreeSet<>(MODELS.keySet()) + ")");
        }
        JsonElement json = JsonParser.parseString(object.toString());
        try {
            model.validation().validate(json);
        } catch (IOException | RuntimeException e) {
            // the generated validation also fails by casting (an object where the schema has a list)
            return List.of(kind + ": " + e);
        }
        JsonElement written;
        try {
            written = JSON.getGson().toJsonTree(JSON.getGson().fromJson(json, model.type()));
        } catch (RuntimeException e) {
            return List.of(kind + ": " + e);
        }
        List<String> differences = new ArrayList<>();
        compare(kind, json, written, differences);
        return differences;
    }

    private static void compare(String path, JsonElement given, JsonElement read, List<String> differences) {
        if (given.isJsonObject() && read.isJsonObject()) {
            JsonObject givenObject = given.getAsJsonObject();
            JsonObject readObject = read.getAsJsonObject();
            for (String name : new TreeSet<>(givenObject.keySet())) {
                JsonElement value = givenObject.get(name);
                if (!readObject.has(name)) {
                    if (!value.isJsonNull()) {
                        differences.add(path + "." + name + ": " + value + " was not read");
                    }
                    continue;
                }
                compare(path + "." + name, value, readObject.get(name), differences);
            }
        } else if (given.isJsonArray() && read.isJsonArray()) {
            JsonArray givenArray = given.getAsJsonArray();
            JsonArray readArray = read.getAsJsonArray();
            if (givenArray.size() != readArray.size()) {
                differences.add(path + ": " + given + " read as " + read);
                return;
            }
            for (int i = 0; i < givenArray.size(); i++) {
                compare(path + "[" + i + "]", givenArray.get(i), readArray.get(i), differences);
            }
        } else if (!given.equals(read)) {
            differences.add(path + ": " + given + " read as " + read + " (wrong type)");
        }
    }
}
