package dev.atrium.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import dev.atrium.config.ServerConfig;
import dev.atrium.config.ServerConfigLoader;
import dev.atrium.config.ServerSetting;
import dev.atrium.tenancy.KeySecrets;
import dev.atrium.testing.Http;
import dev.atrium.testing.PrometheusText;
import dev.atrium.testing.TestServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.opentest4j.TestAbortedException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.MappingIterator;
import tools.jackson.databind.node.ObjectNode;
import tools.jackson.dataformat.yaml.YAMLMapper;

/**
 * The Kubernetes deployment in {@code deploy/} is valid and fits the server, checked offline: Helm 3 (in-process,
 * helm-java) lints the chart with {@code --strict} and renders it, with its default values and with a production
 * set; {@code kubectl kustomize} renders the plain manifests; and every object either makes, and every manifest file,
 * passes the Kubernetes API's schema ({@link KubernetesSchema}). One test body runs over every rendering: the probes
 * are the server's own open health paths (asked of a real server), the container port is the port the server is
 * configured with, the ConfigMap holds only settings the server reads and binds every interface, the secrets come
 * from the Secret and never from the ConfigMap, the HPA, PDB and Service point at the Deployment and its pods, and
 * the grace period covers the pre-stop sleep and the drain. The plain manifests are the chart's defaults, object by
 * object, and the Dockerfile copies what the build makes and runs as the pods' user. The checks are shown able to
 * fail: values against the chart's schema fail lint and template, and a broken Deployment fails the schema check.
 */
class HelmChartTest {
    private static final Path CHART = Path.of("deploy/helm/atrium");
    private static final Path PRODUCTION_VALUES = Path.of("deploy/helm/production-values.yaml");
    private static final Path MANIFESTS = Path.of("deploy/manifests");
    /** The Kubernetes release whose API schema client-java-api 26 is generated from: the chart renders for it. */
    private static final String KUBERNETES_VERSION = "v1.34.0";
    private static final YAMLMapper YAML = new YAMLMapper();
    /** What the pods read from the Secret. */
    private static final List<String> SECRET_VARIABLES = List.of("ATRIUM_ADMIN_KEY", "ATRIUM_SECRETS_KEY",
            "ATRIUM_STORE_PASSWORD", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY");
    /** Without these the server cannot share its state across replicas; the others are optional. */
    private static final Set<String> REQUIRED_SECRETS = Set.of("ATRIUM_ADMIN_KEY", "ATRIUM_SECRETS_KEY");
    /** Settings of the S3 artifact store, wired here while the store itself lands (issue 16). */
    private static final List<String> ARTIFACT_STORE_VARIABLES =
            List.of("ATRIUM_ARTIFACT_STORE", "ATRIUM_S3_ENDPOINT", "ATRIUM_S3_REGION");
    /** Read by the image's entrypoint and the logging configuration rather than by a setting. */
    private static final List<String> OTHER_VARIABLES = List.of("ATRIUM_LOG_LEVEL", "ATRIUM_JAVA_OPTS");
    private static final String INLINE_SECRETS = """
            secrets:
              adminKey: atr-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAinline
              secretsKey: c2VjcmV0cy1rZXktb2YtdGhpcnR5LXR3by1ieXRlcyE=
              storePassword: store-password-inline
              awsAccessKeyId: AKIAINLINEEXAMPLE
              awsSecretAccessKey: aws-secret-inline
            """;

    private static final Map<Source, List<JsonNode>> RENDERED = new EnumMap<>(Source.class);
    @TempDir
    static Path temporary;
    private static String helmUnavailable;
    private static TestServer server;

    /** Every rendering of the deployment the tests run over. */
    enum Source {
        CHART_DEFAULTS, CHART_PRODUCTION, CHART_INLINE_SECRETS, MANIFESTS_KUSTOMIZED;

        List<JsonNode> objects() {
            return RENDERED.computeIfAbsent(this, source -> switch (source) {
                case CHART_DEFAULTS -> template("");
                case CHART_PRODUCTION -> template(read(PRODUCTION_VALUES));
                case CHART_INLINE_SECRETS -> template(INLINE_SECRETS);
                case MANIFESTS_KUSTOMIZED -> parse(kustomize(MANIFESTS));
            });
        }
    }

    @BeforeAll
    static void loadHelm() {
        try {
            Helm.version().call();
        } catch (Throwable e) {
            helmUnavailable = "the Helm native library (helm-java) cannot load here: " + e;
            System.out.println("HelmChartTest: skipping the chart's tests: " + helmUnavailable);
        }
    }

    @AfterAll
    static void stopServer() {
        if (server != null) {
            server.close();
        }
    }

    @Test
    void lint_defaultValues_passesStrict() {
        LintResult result = new Helm(chartCopy(null)).lint().strict().call();

        assertThat(result.isFailed()).as("helm lint --strict: %s", result.getMessages()).isFalse();
    }

    @Test
    void lint_productionValues_passesStrict() {
        LintResult result = new Helm(chartCopy(read(PRODUCTION_VALUES))).lint().strict().call();

        assertThat(result.isFailed()).as("helm lint --strict: %s", result.getMessages()).isFalse();
    }

    @Test
    void lint_valuesAgainstTheChartsSchema_fails() {
        LintResult result = new Helm(chartCopy("replicaCount: three\n")).lint().strict().call();

        assertThat(result.isFailed()).isTrue();
        assertThat(String.join("\n", result.getMessages())).contains("replicaCount");
    }

    static Stream<Arguments> valuesAgainstTheSchema() {
        return Stream.of(
                Arguments.of("replicaCount: three", "replicaCount"),
                Arguments.of("replicas: 3", "replicas"),
                Arguments.of("server:\n  port: http", "port"),
                Arguments.of("store:\n  url: mysql://db/atrium", "url"),
                Arguments.of("artifacts:\n  store: /mnt/models", "store"),
                Arguments.of("secrets:\n  adminKey: hunter2", "adminKey"),
                Arguments.of("server:\n  settings:\n    bind: 127.0.0.1", "bind"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("valuesAgainstTheSchema")
    void template_valuesAgainstTheChartsSchema_fail(String values, String field) {
        assertThatThrownBy(() -> template(values)).hasMessageContaining("values don't meet the specifications")
                .hasMessageContaining(field);
    }

    @Test
    void template_severalReplicasWithoutSharedState_fails() {
        assertThatThrownBy(() -> template("store:\n  url: sqlite")).hasMessageContaining("store.url must be");
        assertThatThrownBy(() -> template("artifacts:\n  store: local"))
                .hasMessageContaining("artifacts.store must be");
        // one replica may keep its state in its own pod
        List<JsonNode> single = template("""
                replicaCount: 1
                autoscaling:
                  enabled: false
                store:
                  url: sqlite
                artifacts:
                  store: local
                """);
        assertThat(configMap(single).path("data").path("ATRIUM_STORE").asString()).isEqualTo("sqlite");
        assertThat(find(single, "HorizontalPodAutoscaler")).isEmpty();
    }

    @ParameterizedTest
    @EnumSource(Source.class)
    void everyObject_passesTheKubernetesSchema(Source source) {
        List<JsonNode> objects = source.objects();

        assertThat(objects).isNotEmpty().allSatisfy(object -> assertThat(KubernetesSchema.problems(object))
                .as("%s %s", object.path("kind").asString(), object.path("metadata").path("name").asString())
                .isEmpty());
        Set<String> kinds = new TreeSet<>(objects.stream().map(object -> object.path("kind").asString()).toList());
        assertThat(kinds).contains("ConfigMap", "Deployment", "HorizontalPodAutoscaler", "PodDisruptionBudget",
                "Service", "ServiceAccount");
        boolean secretMadeHere = source == Source.CHART_DEFAULTS || source == Source.CHART_INLINE_SECRETS;
        assertThat(kinds.contains("Secret")).as("a Secret rendered").isEqualTo(secretMadeHere);
    }

    @Test
    void manifestFiles_eachPassTheKubernetesSchema() throws IOException {
        List<Path> files;
        try (Stream<Path> listing = Files.list(MANIFESTS)) {
            files = listing.filter(file -> file.toString().endsWith(".yaml"))
                    .filter(file -> !file.getFileName().toString().equals("kustomization.yaml")).sorted().toList();
        }

        assertThat(files).hasSizeGreaterThanOrEqualTo(5);
        for (Path file : files) {
            for (JsonNode object : parse(Files.readString(file))) {
                assertThat(KubernetesSchema.problems(object)).as(file.toString()).isEmpty();
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler",
            "ServiceAccount"})
    void manifests_areTheChartsDefaults(String kind) throws IOException {
        List<JsonNode> manifests = new ArrayList<>();
        try (Stream<Path> listing = Files.list(MANIFESTS)) {
            for (Path file : listing.filter(file -> file.toString().endsWith(".yaml")).sorted().toList()) {
                manifests.addAll(parse(Files.readString(file)));
            }
        }

        ObjectNode manifest = withoutLabelsAndAnnotations(one(manifests, kind));
        ObjectNode chart = withoutLabelsAndAnnotations(one(Source.CHART_DEFAULTS.objects(), kind));
        assertThat(manifest).isEqualTo(chart);
    }

    @Test
    void manifestSettings_areTheChartsDefaults() throws IOException {
        Map<String, String> settings = new LinkedHashMap<>();
        for (String line : Files.readAllLines(MANIFESTS.resolve("settings.env"))) {
            if (!line.isBlank() && !line.startsWith("#")) {
                settings.put(line.substring(0, line.indexOf('=')), line.substring(line.indexOf('=') + 1));
            }
        }

        assertThat(settings).isEqualTo(strings(configMap(Source.CHART_DEFAULTS.objects()).path("data")));
    }

    static Stream<Arguments> brokenDeployments() {
        return Stream.of(
                broken("a misspelled field", deployment -> container(deployment).put("imagePullPolcy", "Always")),
                broken("a field at the wrong level", deployment -> spec(deployment).put("image", "atrium:1")),
                broken("a string for a number", deployment -> spec(deployment).put("replicas", "three")),
                broken("a quoted number", deployment -> spec(deployment).put("replicas", "3")),
                broken("a string for a boolean", deployment -> ((ObjectNode) container(deployment)
                        .path("securityContext")).put("readOnlyRootFilesystem", "yes")),
                broken("a number for a string", deployment -> container(deployment).put("image", 42)),
                broken("an object for a list", deployment -> container(deployment).putObject("ports")),
                broken("a required field missing", deployment -> container(deployment).remove("name")),
                broken("a probe without a handler's fields", deployment -> ((ObjectNode) container(deployment)
                        .path("readinessProbe")).putObject("httpGet").put("pth", "/v2/health/ready")),
                broken("an unknown apiVersion", deployment -> deployment.put("apiVersion", "apps/v1beta9")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("brokenDeployments")
    void schema_brokenDeployment_isRefused(Consumer<ObjectNode> breakIt) throws IOException {
        ObjectNode deployment = (ObjectNode) parse(Files.readString(MANIFESTS.resolve("deployment.yaml"))).getFirst();
        assertThat(KubernetesSchema.problems(deployment)).as("the manifest before it is broken").isEmpty();

        breakIt.accept(deployment);

        assertThat(KubernetesSchema.problems(deployment)).isNotEmpty();
    }

    @ParameterizedTest
    @EnumSource(Source.class)
    void probes_areTheServersOpenHealthPathsOnTheHttpPort(Source source) {
        JsonNode container = container(deployment(source.objects()));
        Http anonymous = new Http(server().baseUrl(), null);

        assertThat(probePath(container, "readinessProbe")).isEqualTo("/v2/health/ready");
        assertThat(probePath(container, "livenessProbe")).isEqualTo("/v2/health/live");
        for (String probe : List.of("startupProbe", "readinessProbe", "livenessProbe")) {
            JsonNode httpGet = container.path(probe).path("httpGet");
            assertThat(httpGet.path("port").asString()).as(probe).isEqualTo("http");
            assertThat(anonymous.get(httpGet.path("path").asString()).status()).as(probe + " without a key")
                    .isEqualTo(200);
        }
        assertThat(container.path("lifecycle").path("preStop").path("exec").path("command").get(0).asString())
                .isEqualTo("sleep");
    }

    @ParameterizedTest
    @EnumSource(Source.class)
    void settings_areOnesTheServerReads_onTheContainerPortAndDataVolume(Source source) {
        List<JsonNode> objects = source.objects();
        JsonNode pod = deployment(objects).path("spec").path("template").path("spec");
        JsonNode container = container(deployment(objects));
        Map<String, String> environment = environment(objects);

        List<String> known = new ArrayList<>(OTHER_VARIABLES);
        known.addAll(ARTIFACT_STORE_VARIABLES);
        Stream.of(ServerSetting.values()).map(ServerSetting::environmentVariable).forEach(known::add);
        assertThat(configMap(objects).path("data").propertyNames()).isNotEmpty().isSubsetOf(known);
        ServerConfig config = ServerConfigLoader.load(Map.of(), environment);

        assertThat(config.bindAddress()).isEqualTo("0.0.0.0");
        JsonNode port = container.path("ports").get(0);
        assertThat(port.path("name").asString()).isEqualTo("http");
        assertThat(port.path("containerPort").asInt()).isEqualTo(config.port());
        JsonNode dataMount = mount(container, config.dataDir().toString());
        assertThat(volume(pod, dataMount.path("name").asString()).has("emptyDir")).isTrue();
        assertThat(volume(pod, mount(container, "/tmp").path("name").asString()).has("emptyDir")).isTrue();
        assertThat(environment.get("ATRIUM_STORE")).startsWith("postgresql://");
        assertThat(environment.get("ATRIUM_ARTIFACT_STORE")).startsWith("s3://");
        assertThat(container.path("securityContext").path("readOnlyRootFilesystem").asBoolean()).isTrue();
        assertThat(container.path("securityContext").path("allowPrivilegeEscalation").asBoolean(true)).isFalse();
        assertThat(pod.path("securityContext").path("runAsNonRoot").asBoolean()).isTrue();
        assertThat(container.path("resources").path("requests").has("memory")).isTrue();
        assertThat(container.path("resources").path("limits").has("memory")).isTrue();
    }

    @ParameterizedTest
    @EnumSource(Source.class)
    void gracePeriod_coversThePreStopSleepAndTheDrain(Source source) {
        List<JsonNode> objects = source.objects();
        JsonNode pod = deployment(objects).path("spec").path("template").path("spec");
        long preStopSeconds = Long.parseLong(container(deployment(objects)).path("lifecycle").path("preStop")
                .path("exec").path("command").get(1).asString());
        Duration drain = ServerConfigLoader.load(Map.of(), environment(objects)).drainTimeout();

        assertThat(preStopSeconds).isPositive();
        assertThat(pod.path("terminationGracePeriodSeconds").asLong())
                .isGreaterThan(preStopSeconds + drain.toSeconds());
    }

    @ParameterizedTest
    @EnumSource(Source.class)
    void objects_pointAtTheDeploymentAndItsPods(Source source) {
        List<JsonNode> objects = source.objects();
        JsonNode deployment = deployment(objects);
        String name = deployment.path("metadata").path("name").asString();
        Map<String, String> podLabels = strings(deployment.path("spec").path("template").path("metadata")
                .path("labels"));

        assertSelects(deployment.path("spec").path("selector").path("matchLabels"), podLabels);
        JsonNode hpa = one(objects, "HorizontalPodAutoscaler");
        JsonNode target = hpa.path("spec").path("scaleTargetRef");
        assertThat(List.of(target.path("apiVersion").asString(), target.path("kind").asString(),
                target.path("name").asString())).containsExactly("apps/v1", "Deployment", name);
        assertThat(hpa.path("spec").path("minReplicas").asInt())
                .isLessThanOrEqualTo(hpa.path("spec").path("maxReplicas").asInt());
        assertSelects(one(objects, "PodDisruptionBudget").path("spec").path("selector").path("matchLabels"), podLabels);
        JsonNode service = one(objects, "Service");
        assertThat(service.path("spec").path("type").asString()).isEqualTo("ClusterIP");
        assertSelects(service.path("spec").path("selector"), podLabels);
        assertThat(service.path("spec").path("ports").get(0).path("targetPort").asString()).isEqualTo("http");
        JsonNode pod = deployment.path("spec").path("template").path("spec");
        assertThat(pod.path("serviceAccountName").asString())
                .isEqualTo(one(objects, "ServiceAccount").path("metadata").path("name").asString());
        assertThat(container(deployment).path("envFrom").get(0).path("configMapRef").path("name").asString())
                .isEqualTo(configMap(objects).path("metadata").path("name").asString());
    }

    @ParameterizedTest
    @EnumSource(Source.class)
    void secrets_comeFromTheSecret_neverFromTheConfigMap(Source source) {
        List<JsonNode> objects = source.objects();
        JsonNode container = container(deployment(objects));
        JsonNode configMapData = configMap(objects).path("data");
        Map<String, JsonNode> references = new HashMap<>();
        for (JsonNode variable : container.path("env")) {
            references.put(variable.path("name").asString(), variable.path("valueFrom").path("secretKeyRef"));
        }

        Set<String> secretNames = new TreeSet<>();
        for (String variable : SECRET_VARIABLES) {
            assertThat(configMapData.has(variable)).as(variable + " in the ConfigMap").isFalse();
            JsonNode reference = references.get(variable);
            assertThat(reference).as(variable).isNotNull();
            assertThat(reference.path("key").asString()).isEqualTo(variable);
            assertThat(reference.path("optional").asBoolean(false)).as(variable + " optional")
                    .isEqualTo(!REQUIRED_SECRETS.contains(variable));
            secretNames.add(reference.path("name").asString());
        }
        assertThat(secretNames).hasSize(1);
        String expected = switch (source) {
            case CHART_DEFAULTS, CHART_INLINE_SECRETS -> "atrium";
            case CHART_PRODUCTION -> "atrium-secrets";
            case MANIFESTS_KUSTOMIZED -> "atrium";
        };
        assertThat(secretNames).containsExactly(expected);
        Map<String, String> secrets = secretData(objects);
        for (String value : secrets.values()) {
            assertThat(configMapData.toString()).doesNotContain(value);
        }
        if (!find(objects, "Secret").isEmpty()) {
            assertThat(one(objects, "Secret").path("metadata").path("name").asString()).isEqualTo(expected);
            assertThat(KeySecrets.isWellFormed(secrets.get("ATRIUM_ADMIN_KEY"))).isTrue();
            assertThat(Base64.getDecoder().decode(secrets.get("ATRIUM_SECRETS_KEY"))).hasSize(32);
        }
    }

    @Test
    void secrets_inlineValues_landInTheSecret() {
        Map<String, String> secrets = secretData(Source.CHART_INLINE_SECRETS.objects());

        assertThat(secrets).containsOnlyKeys(SECRET_VARIABLES).containsEntry("ATRIUM_STORE_PASSWORD",
                "store-password-inline");
        // generated ones stand in for keys not given, and the optional ones are left out
        assertThat(secretData(Source.CHART_DEFAULTS.objects())).containsOnlyKeys(REQUIRED_SECRETS);
    }

    @Test
    void existingSecret_rendersNoSecretAndIsReferenced() {
        List<JsonNode> objects = template("secrets:\n  existingSecret: made-outside\n");

        assertThat(find(objects, "Secret")).isEmpty();
        assertThat(container(deployment(objects)).path("env").toString()).contains("\"name\":\"made-outside\"")
                .doesNotContain("\"name\":\"atrium\"");
    }

    @Test
    void podAnnotations_changeWithTheSettingsAndTheSecrets() {
        Map<String, String> defaults = podAnnotations(template(""));
        Map<String, String> otherSetting = podAnnotations(template("server:\n  logLevel: DEBUG\n"));
        Map<String, String> otherSecret = podAnnotations(template("secrets:\n  storePassword: changed\n"));

        assertThat(defaults).containsKeys("checksum/config", "checksum/secret");
        assertThat(otherSetting.get("checksum/config")).isNotEqualTo(defaults.get("checksum/config"));
        assertThat(otherSetting.get("checksum/secret")).isEqualTo(defaults.get("checksum/secret"));
        assertThat(otherSecret.get("checksum/secret")).isNotEqualTo(defaults.get("checksum/secret"));
        assertThat(otherSecret.get("checksum/config")).isEqualTo(defaults.get("checksum/config"));
    }

    @Test
    void autoscaler_scalesOnQueueDepthOnlyWhenAsked() {
        JsonNode defaults = one(Source.CHART_DEFAULTS.objects(), "HorizontalPodAutoscaler").path("spec");
        JsonNode production = one(Source.CHART_PRODUCTION.objects(), "HorizontalPodAutoscaler").path("spec");

        assertThat(defaults.path("minReplicas").asInt()).isEqualTo(3);
        assertThat(defaults.path("metrics").size()).isEqualTo(1);
        assertThat(defaults.path("metrics").get(0).path("type").asString()).isEqualTo("Resource");
        assertThat(defaults.path("metrics").get(0).path("resource").path("name").asString()).isEqualTo("cpu");
        JsonNode queueDepth = production.path("metrics").get(1);
        assertThat(queueDepth.path("type").asString()).isEqualTo("Pods");
        assertThat(queueDepth.path("pods").path("metric").path("name").asString())
                .isEqualTo("atrium_model_queue_depth");
        assertThat(queueDepth.path("pods").path("target").path("type").asString()).isEqualTo("AverageValue");
        assertThat(queueDepth.path("pods").path("target").path("averageValue").asString()).isEqualTo("32");
        assertThat(find(template("autoscaling:\n  enabled: false\n"), "HorizontalPodAutoscaler")).isEmpty();
    }

    @Test
    void queueDepthMetric_isOneTheServerExports() {
        String metric = one(Source.CHART_PRODUCTION.objects(), "HorizontalPodAutoscaler").path("spec").path("metrics")
                .get(1).path("pods").path("metric").path("name").asString();
        Http admin = server().http();

        assertThat(admin.postJson("/v1/embeddings", Map.of("model", "all-minilm-l6-v2", "input", "a queue")).status())
                .isEqualTo(200);
        assertThat(PrometheusText.parse(admin.get("/metrics").text())).containsKey(metric);
    }

    @Test
    void deploymentAndDisruptionBudget_followTheValues() {
        JsonNode defaults = deployment(Source.CHART_DEFAULTS.objects());
        JsonNode defaultBudget = one(Source.CHART_DEFAULTS.objects(), "PodDisruptionBudget").path("spec");
        JsonNode productionBudget = one(Source.CHART_PRODUCTION.objects(), "PodDisruptionBudget").path("spec");

        assertThat(defaults.path("spec").path("replicas").asInt()).isEqualTo(3);
        assertThat(defaultBudget.path("maxUnavailable").asInt()).isEqualTo(1);
        assertThat(defaultBudget.has("minAvailable")).isFalse();
        assertThat(productionBudget.path("minAvailable").asInt()).isEqualTo(2);
        assertThat(productionBudget.has("maxUnavailable")).isFalse();
        assertThat(container(deployment(Source.CHART_PRODUCTION.objects())).path("image").asString())
                .isEqualTo("registry.example.com/platform/atrium:0.1.0");
        assertThat(environment(Source.CHART_PRODUCTION.objects())).containsEntry("ATRIUM_DEFAULT_RPM", "6000")
                .containsEntry("ATRIUM_S3_ENDPOINT", "https://minio.storage.svc.cluster.local:9000")
                .containsEntry("ATRIUM_S3_REGION", "eu-west-1");
    }

    @Test
    void dockerfile_copiesWhatTheBuildMakes_andRunsAsThePodsUser() throws IOException {
        List<String> lines = Files.readAllLines(Path.of("deploy/Dockerfile"));
        String pom = Files.readString(Path.of("pom.xml"));
        JsonNode values = YAML.readTree(Files.readString(CHART.resolve("values.yaml")));
        JsonNode manifestPod = parse(Files.readString(MANIFESTS.resolve("deployment.yaml"))).getFirst().path("spec")
                .path("template").path("spec");

        List<String> built = new ArrayList<>();
        for (String line : lines) {
            String[] words = line.trim().split("\\s+");
            if (words[0].equals("COPY") && words[1].equals("--from=build")) {
                built.add(words[2]);
            } else if (words[0].equals("COPY") && !words[1].startsWith("--from")) {
                for (int i = 1; i < words.length - 1; i++) {
                    assertThat(Path.of(words[i])).as("copied from the repository").exists();
                }
            }
        }
        // the jar's name and its class path (lib/) as the POM makes them
        assertThat(pom).contains("<finalName>atrium</finalName>", "<classpathPrefix>lib/</classpathPrefix>",
                "<outputDirectory>${project.build.directory}/lib</outputDirectory>");
        assertThat(built).containsExactly("/src/target/atrium.jar", "/src/target/lib");
        String user = values.path("podSecurityContext").path("runAsUser").asString() + ":"
                + values.path("podSecurityContext").path("runAsGroup").asString();
        assertThat(lines).contains("USER " + user);
        assertThat(manifestPod.path("securityContext").path("runAsUser").asString() + ":"
                + manifestPod.path("securityContext").path("runAsGroup").asString()).isEqualTo(user);
        assertThat(lines).contains("EXPOSE " + values.path("server").path("port").asString());
        assertThat(String.join("\n", lines)).contains("--enable-native-access=ALL-UNNAMED")
                .contains("-jar /opt/atrium/atrium.jar").contains("CMD [\"serve\"]");
        // the image records the JVM's AOT cache at build time (a training run of the jar it runs), and its entry
        // point reads that same file
        String text = String.join("\n", lines);
        java.util.regex.Matcher recorded = java.util.regex.Pattern.compile("-XX:AOTCacheOutput=(\\S+) .*"
                + "-jar /opt/atrium/atrium.jar aot-train", java.util.regex.Pattern.DOTALL).matcher(text);
        assertThat(recorded.find()).as("a RUN that trains the AOT cache").isTrue();
        String entryPoint = lines.stream().filter(line -> line.startsWith("ENTRYPOINT")).findFirst().orElseThrow();
        assertThat(entryPoint).contains("-XX:AOTCache=" + recorded.group(1) + " ");
    }

    // rendering

    private static Helm helm() {
        if (helmUnavailable != null) {
            throw new TestAbortedException(helmUnavailable);
        }
        return new Helm(CHART);
    }

    /** The chart rendered as release "atrium" in namespace "serving", with values over the defaults. */
    private static List<JsonNode> template(String values) {
        try {
            Path file = Files.writeString(Files.createTempFile(temporary, "values-", ".yaml"), values);
            return parse(helm().template().withName("atrium").withNamespace("serving")
                    .withKubeVersion(KUBERNETES_VERSION).withValuesFile(file).call());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * A copy of the chart whose values.yaml has the given values merged over the defaults: helm lint reads no
     * values file of its own.
     */
    private static Path chartCopy(String values) {
        helm();
        try {
            Path copy = Files.createTempDirectory(temporary, "chart-").resolve("atrium");
            try (Stream<Path> files = Files.walk(CHART)) {
                for (Path file : files.toList()) {
                    Path target = copy.resolve(CHART.relativize(file).toString());
                    if (Files.isDirectory(file)) {
                        Files.createDirectories(target);
                    } else {
                        Files.copy(file, target);
                    }
                }
            }
            if (values != null) {
                JsonNode merged = merge(YAML.readTree(Files.readString(CHART.resolve("values.yaml"))),
                        YAML.readTree(values));
                Files.writeString(copy.resolve("values.yaml"), YAML.writeValueAsString(merged));
            }
            return copy;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static JsonNode merge(JsonNode base, JsonNode over) {
        if (!(base instanceof ObjectNode baseObject) || !over.isObject()) {
            return over;
        }
        ObjectNode merged = baseObject.deepCopy();
        for (Map.Entry<String, JsonNode> field : over.properties()) {
            JsonNode existing = merged.get(field.getKey());
            merged.set(field.getKey(), existing == null ? field.getValue() : merge(existing, field.getValue()));
        }
        return merged;
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String kustomize(Path directory) {
        Process process;
        try {
            process = new ProcessBuilder("kubectl", "kustomize", directory.toString()).redirectErrorStream(true)
                    .start();
        } catch (IOException e) {
            String reason = "kubectl is not installed (" + e.getMessage() + "): the kustomized manifests are not"
                    + " checked";
            System.out.println("HelmChartTest: skipped: " + reason);
            throw new TestAbortedException(reason);
        }
        try {
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(process.exitValue()).as("kubectl kustomize: %s", output).isZero();
            return output;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** The objects of a multi-document YAML stream, empty documents left out. */
    private static List<JsonNode> parse(String yaml) {
        List<JsonNode> objects = new ArrayList<>();
        MappingIterator<JsonNode> documents = YAML.readerFor(JsonNode.class).readValues(yaml);
        for (JsonNode document : documents.readAll()) {
            if (document != null && document.isObject() && !document.isEmpty()) {
                objects.add(document);
            }
        }
        return objects;
    }

    // navigation

    private static List<JsonNode> find(List<JsonNode> objects, String kind) {
        return objects.stream().filter(object -> object.path("kind").asString().equals(kind)).toList();
    }

    private static JsonNode one(List<JsonNode> objects, String kind) {
        List<JsonNode> found = find(objects, kind);
        assertThat(found).as(kind).hasSize(1);
        return found.getFirst();
    }

    private static JsonNode deployment(List<JsonNode> objects) {
        return one(objects, "Deployment");
    }

    private static JsonNode configMap(List<JsonNode> objects) {
        return one(objects, "ConfigMap");
    }

    private static ObjectNode spec(ObjectNode deployment) {
        return (ObjectNode) deployment.path("spec");
    }

    private static ObjectNode container(JsonNode deployment) {
        JsonNode containers = deployment.path("spec").path("template").path("spec").path("containers");
        assertThat(containers.size()).isEqualTo(1);
        return (ObjectNode) containers.get(0);
    }

    private static String probePath(JsonNode container, String probe) {
        return container.path(probe).path("httpGet").path("path").asString();
    }

    private static JsonNode mount(JsonNode container, String path) {
        for (JsonNode mount : container.path("volumeMounts")) {
            if (mount.path("mountPath").asString().equals(path)) {
                return mount;
            }
        }
        throw new AssertionError("no volume mounted at " + path + ": " + container.path("volumeMounts"));
    }

    private static JsonNode volume(JsonNode pod, String name) {
        for (JsonNode volume : pod.path("volumes")) {
            if (volume.path("name").asString().equals(name)) {
                return volume;
            }
        }
        throw new AssertionError("no volume " + name + ": " + pod.path("volumes"));
    }

    private static Map<String, String> strings(JsonNode map) {
        Map<String, String> strings = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> entry : map.properties()) {
            strings.put(entry.getKey(), entry.getValue().asString());
        }
        return strings;
    }

    private static void assertSelects(JsonNode selector, Map<String, String> podLabels) {
        assertThat(strings(selector)).isNotEmpty();
        assertThat(podLabels).containsAllEntriesOf(strings(selector));
    }

    /** The object less what Helm adds and the manifests leave out: its labels, and the pods' checksums. */
    private static ObjectNode withoutLabelsAndAnnotations(JsonNode object) {
        ObjectNode copy = (ObjectNode) object.deepCopy();
        ((ObjectNode) copy.path("metadata")).remove(List.of("labels", "annotations"));
        if (copy.path("spec").path("template").path("metadata") instanceof ObjectNode podMetadata) {
            podMetadata.remove(List.of("labels", "annotations"));
        }
        return copy;
    }

    private static Map<String, String> podAnnotations(List<JsonNode> objects) {
        return strings(deployment(objects).path("spec").path("template").path("metadata").path("annotations"));
    }

    /** The Secret's values, decoded; empty when the deployment uses one made outside. */
    private static Map<String, String> secretData(List<JsonNode> objects) {
        Map<String, String> values = new LinkedHashMap<>();
        for (JsonNode secret : find(objects, "Secret")) {
            for (Map.Entry<String, JsonNode> entry : secret.path("data").properties()) {
                values.put(entry.getKey(),
                        new String(Base64.getDecoder().decode(entry.getValue().asString()), StandardCharsets.UTF_8));
            }
        }
        return values;
    }

    /** What a pod's environment would be: the ConfigMap's settings and the Secret's values (or stand-ins). */
    private static Map<String, String> environment(List<JsonNode> objects) {
        Map<String, String> environment = new HashMap<>(strings(configMap(objects).path("data")));
        environment.putAll(secretData(objects));
        return environment;
    }

    private static Arguments broken(String how, Consumer<ObjectNode> breakIt) {
        return Arguments.of(Named.of(how, breakIt));
    }

    /** One real server (SQLite, the bundled model preloaded as by the chart) that the probes are asked of. */
    private static synchronized TestServer server() {
        if (server == null) {
            server = TestServer.start(Map.of("preload", "all-minilm-l6-v2"));
        }
        return server;
    }
}
