package dev.atrium.cli;

import dev.atrium.AtriumException;
import dev.atrium.metering.Decimals;
import java.io.PrintWriter;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.StringJoiner;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import tools.jackson.databind.JsonNode;

/** {@code atrium prices ...}, {@code atrium usage} and {@code atrium invoice}: money, over the management API. */
final class MeteringCommands {
    /** An amount flag, checked here as the server checks it ({@link Decimals}), sent in its plain form. */
    static final class Amount implements CommandLine.ITypeConverter<String> {
        @Override
        public String convert(String text) {
            try {
                return Decimals.amount("amount", text).toPlainString();
            } catch (AtriumException e) {
                throw new CommandLine.TypeConversionException("'" + text + "' is not an amount: a non-negative"
                        + " decimal such as 0.02, with at most " + Decimals.MAX_INTEGER_DIGITS + " digits before the"
                        + " point and " + Decimals.MAX_FRACTION_DIGITS + " after");
            }
        }
    }

    private MeteringCommands() {}

    @Command(name = "prices", mixinStandardHelpOptions = true, description = "Set and list model prices (platform admin).",
            subcommands = {Prices.Set.class, Prices.List.class})
    static final class Prices implements Runnable {
        @Spec
        CommandSpec spec;

        @Override
        public void run() {
            spec.commandLine().usage(spec.commandLine().getOut());
        }

        @Command(name = "set", mixinStandardHelpOptions = true,
                description = "Set a model's price (or a tenant's override), from now or from --effective-from.")
        static final class Set extends ServerCommand {
            @Parameters(index = "0", paramLabel = "MODEL")
            String model;

            @Option(names = "--tenant", paramLabel = "TENANT", description = "this tenant's override (id or name)")
            String tenant;

            @Option(names = "--input-per-1m", paramLabel = "AMOUNT", converter = Amount.class,
                    description = "per million input tokens")
            String inputPer1m;

            @Option(names = "--output-per-1m", paramLabel = "AMOUNT", converter = Amount.class,
                    description = "per million output tokens")
            String outputPer1m;

            @Option(names = "--per-request", paramLabel = "AMOUNT", converter = Amount.class,
                    description = "per request")
            String perRequest;

            @Option(names = "--per-compute-second", paramLabel = "AMOUNT", converter = Amount.class,
                    description = "per second of engine time")
            String perComputeSecond;

            @Option(names = "--per-audio-second", paramLabel = "AMOUNT", converter = Amount.class,
                    description = "per second of audio transcribed")
            String perAudioSecond;

            @Option(names = "--per-image", paramLabel = "AMOUNT", converter = Amount.class,
                    description = "per image classified")
            String perImage;

            @Option(names = "--per-row", paramLabel = "AMOUNT", converter = Amount.class,
                    description = "per row predicted")
            String perRow;

            @Option(names = "--currency", paramLabel = "CODE", defaultValue = "USD",
                    description = "ISO 4217 code (default ${DEFAULT-VALUE})")
            String currency;

            @Option(names = "--effective-from", paramLabel = "INSTANT", description = "e.g. 2026-12-01T00:00:00Z")
            String effectiveFrom;

            @Override
            void run(AtriumClient client, PrintWriter out) {
                Map<String, Object> body = new LinkedHashMap<>();
                body.put("model", model);
                body.put("tenant", tenant);
                body.put("input_per_1m", inputPer1m);
                body.put("output_per_1m", outputPer1m);
                body.put("per_request", perRequest);
                body.put("per_compute_second", perComputeSecond);
                body.put("per_audio_second", perAudioSecond);
                body.put("per_image", perImage);
                body.put("per_row", perRow);
                body.put("currency", currency);
                body.put("effective_from", effectiveFrom);
                JsonNode price = client.postJson("/admin/prices", body).body();
                out.printf("price %d of %s%s from %s: %s/1M in, %s/1M out, %s/request, %s/compute-second,"
                        + " %s/audio-second, %s/image, %s/row %s%n",
                        price.path("id").asLong(), model, tenant == null ? "" : " for " + tenant,
                        price.path("effective_from").asString(), price.path("input_per_1m").asString(),
                        price.path("output_per_1m").asString(), price.path("per_request").asString(),
                        price.path("per_compute_second").asString(), price.path("per_audio_second").asString(),
                        price.path("per_image").asString(), price.path("per_row").asString(),
                        price.path("currency").asString());
            }
        }

        @Command(name = "ls", mixinStandardHelpOptions = true, description = "List prices.")
        static final class List extends ServerCommand {
            @Option(names = "--model", paramLabel = "MODEL")
            String model;

            @Override
            void run(AtriumClient client, PrintWriter out) {
                String path = "/admin/prices" + (model == null ? "" : "?model=" + encode(model));
                out.printf("%-6s %-24s %-28s %-12s %-12s %-12s %-14s %-4s %s%n", "ID", "MODEL", "TENANT", "IN/1M",
                        "OUT/1M", "REQUEST", "COMPUTE-SEC", "CUR", "FROM");
                for (JsonNode price : client.get(path).body().path("prices")) {
                    out.printf("%-6s %-24s %-28s %-12s %-12s %-12s %-14s %-4s %s%n", price.path("id").asString(),
                            price.path("model").asString(), TenantsCommand.text(price.path("tenant")),
                            price.path("input_per_1m").asString(), price.path("output_per_1m").asString(),
                            price.path("per_request").asString(), price.path("per_compute_second").asString(),
                            price.path("currency").asString(), price.path("effective_from").asString());
                }
            }
        }
    }

    @Command(name = "usage", mixinStandardHelpOptions = true,
            description = "Usage by bucket and group: your tenant's, or with --tenant (admin) another's.")
    static final class Usage extends ServerCommand {
        @Option(names = "--tenant", paramLabel = "TENANT", description = "a tenant (admin); every tenant with 'all'")
        String tenant;

        @Option(names = "--bucket", paramLabel = "SIZE", defaultValue = "day", description = "minute, hour or day")
        String bucket;

        @Option(names = "--group-by", paramLabel = "FIELD", defaultValue = "model", description = "model, key or endpoint")
        String groupBy;

        @Option(names = "--from", paramLabel = "INSTANT", description = "default: the start of this month")
        String from;

        @Option(names = "--to", paramLabel = "INSTANT", description = "default: now")
        String to;

        @Override
        void run(AtriumClient client, PrintWriter out) {
            StringJoiner query = new StringJoiner("&", "?", "");
            query.add("bucket=" + encode(bucket)).add("group_by=" + encode(groupBy));
            if (from != null) {
                query.add("from=" + encode(from));
            }
            if (to != null) {
                query.add("to=" + encode(to));
            }
            String path;
            if (tenant == null) {
                path = "/v1/usage" + query;
            } else {
                path = "/admin/usage" + query + (tenant.equals("all") ? "" : "&tenant=" + encode(tenant));
            }
            JsonNode usage = client.get(path).body();
            out.printf("%-22s %-32s %10s %12s %12s %12s %s%n", "START", usage.path("group_by").asString().toUpperCase(),
                    "REQUESTS", "TOKENS IN", "TOKENS OUT", "COMPUTE MS", "COST");
            for (JsonNode row : usage.path("data")) {
                out.printf("%-22s %-32s %10d %12d %12d %12d %s%n", row.path("start").asString(), row.path("group").asString(),
                        row.path("requests").asLong(), row.path("input_tokens").asLong(),
                        row.path("output_tokens").asLong(), row.path("compute_ms").asLong(), cost(row.path("cost")));
            }
            out.println("total cost: " + cost(usage.path("total_cost")));
        }
    }

    @Command(name = "invoice", mixinStandardHelpOptions = true, description = "A tenant's invoice for a month.")
    static final class Invoice extends ServerCommand {
        @Option(names = "--tenant", paramLabel = "TENANT", description = "required for the admin; an owner's own otherwise")
        String tenant;

        @Option(names = "--month", paramLabel = "YYYY-MM", description = "default: this month")
        String month;

        @Option(names = "--csv", description = "print CSV")
        boolean csv;

        @Override
        void run(AtriumClient client, PrintWriter out) {
            StringJoiner query = new StringJoiner("&", "?", "");
            if (tenant != null) {
                query.add("tenant=" + encode(tenant));
            }
            if (month != null) {
                query.add("month=" + encode(month));
            }
            if (csv) {
                query.add("format=csv");
                out.print(client.getText("/admin/invoices" + query));
                return;
            }
            JsonNode invoice = client.get("/admin/invoices" + query).body();
            out.printf("invoice of %s for %s%n", invoice.path("tenant").asString(), invoice.path("month").asString());
            out.printf("%-28s %-16s %16s %-10s %14s %-4s %s%n", "MODEL", "METER", "QUANTITY", "UNIT", "UNIT PRICE", "CUR",
                    "AMOUNT");
            for (JsonNode line : invoice.path("lines")) {
                out.printf("%-28s %-16s %16s %-10s %14s %-4s %s%n", line.path("model").asString(),
                        line.path("meter").asString(), line.path("quantity").asString(), line.path("unit").asString(),
                        line.path("unit_price").asString(), line.path("currency").asString(), line.path("amount").asString());
            }
            out.println("subtotal: " + cost(invoice.path("subtotals")));
        }
    }

    private static String cost(JsonNode amounts) {
        StringJoiner joined = new StringJoiner(", ");
        for (Map.Entry<String, JsonNode> amount : amounts.properties()) {
            joined.add(amount.getValue().asString() + " " + amount.getKey());
        }
        return joined.length() == 0 ? "-" : joined.toString();
    }

    private static String encode(String value) {
        return URLEncoder.encode(value, StandardCharsets.UTF_8);
    }
}
