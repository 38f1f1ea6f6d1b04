package dev.atrium.admin;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.audit.AuditTrail;
import dev.atrium.gateway.Caller;
import dev.atrium.metering.Budget;
import dev.atrium.metering.Invoice;
import dev.atrium.metering.Metering;
import dev.atrium.metering.Meter;
import dev.atrium.metering.Price;
import dev.atrium.metering.RecordQuery;
import dev.atrium.metering.UsageLedger;
import dev.atrium.metering.UsageSummary;
import dev.atrium.server.Json;
import dev.atrium.tenancy.Tenancy;
import dev.atrium.tenancy.Tenant;
import io.helidon.http.HeaderValues;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.YearMonth;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import tools.jackson.databind.JsonNode;

/**
 * The management API for money: prices, budgets, usage (summed and raw) and invoices. The platform admin sees
 * every tenant; an owner sees its own tenant and sets its keys' budgets.
 */
public final class AdminMeteringService implements HttpService {
    private static final List<String> PRICE_FIELDS = java.util.stream.Stream.concat(
            java.util.stream.Stream.of("model", "tenant", "currency", "effective_from"),
            java.util.Arrays.stream(Meter.values()).map(Meter::priceField)).toList();
    private static final List<String> BUDGET_FIELDS = List.of("key", "tenant", "monthly_limit", "currency", "alert_at");
    private final Metering metering;
    private final Tenancy tenancy;
    private final long maxRequestBytes;

    public AdminMeteringService(Metering metering, Tenancy tenancy, long maxRequestBytes) {
        this.metering = requireNonNull(metering, "metering is null");
        this.tenancy = requireNonNull(tenancy, "tenancy is null");
        this.maxRequestBytes = maxRequestBytes;
    }

    record PriceView(long id, String model, String tenant, @JsonProperty("input_per_1m") String inputPer1m,
            @JsonProperty("output_per_1m") String outputPer1m, String perRequest, String perComputeSecond,
            String perAudioSecond, String perImage, String perRow, String currency, Instant effectiveFrom,
            Instant createdAt) {
        static PriceView of(Price price) {
            return new PriceView(price.id(), price.model(), price.tenantId(), price.inputPer1m().toPlainString(),
                    price.outputPer1m().toPlainString(), price.perRequest().toPlainString(),
                    price.perComputeSecond().toPlainString(), price.perAudioSecond().toPlainString(),
                    price.perImage().toPlainString(), price.perRow().toPlainString(), price.currency(),
                    price.effectiveFrom(), price.createdAt());
        }
    }

    record PriceListView(List<PriceView> prices) {}

    record BudgetView(String tenant, String key, String monthlyLimit, String currency, List<String> alertAt,
            String spent, String reserved, Instant updatedAt) {}

    record BudgetListView(List<BudgetView> budgets) {}

    record RecordView(long position, String requestId, String clientRequestId, Instant startedAt, Instant endedAt,
            String tenant, String key, String model, int version, String endpoint, String outcome, long inputTokens,
            long outputTokens, long requests, long computeMs, long audioMs, long images, long rows, String currency,
            Long priceId, String charge) {}

    record RecordPage(List<RecordView> data, Long next) {}

    record InvoiceLineView(String model, String meter, String quantity, String unit, String unitPrice, String currency,
            String amount) {}

    record InvoiceView(String tenant, String month, List<InvoiceLineView> lines, Map<String, String> subtotals) {}

    @Override
    public void routing(HttpRules rules) {
        rules.post("/prices", this::setPrice)
                .get("/prices", this::listPrices)
                .post("/budgets", this::setBudget)
                .get("/budgets", this::listBudgets)
                .get("/usage", this::usage)
                .get("/usage/records", this::records)
                .get("/invoices", this::invoice);
    }

    // ---- prices -------------------------------------------------------------------------------------------------

    private void setPrice(ServerRequest request, ServerResponse response) {
        Caller caller = Caller.current();
        requireAdmin(caller);
        JsonNode body = Json.readObject(request, maxRequestBytes);
        Json.rejectUnknownFields(body, PRICE_FIELDS, "a price");
        String model = AdminJson.requiredString(body, "model");
        Optional<String> tenant = AdminJson.optionalString(body, "tenant").map(this::tenantId);
        AuditTrail.note("price.set", model, tenant.orElse(null));
        Price price;
        try {
            Map<Meter, BigDecimal> unitPrices = new java.util.EnumMap<>(Meter.class);
            for (Meter meter : Meter.values()) {
                unitPrices.put(meter, BudgetFields.amount(body, meter.priceField()));
            }
            price = metering.prices().set(model, tenant.orElse(null), unitPrices,
                    AdminJson.requiredString(body, "currency"), AdminJson.instant(body, "effective_from"));
        } catch (IllegalArgumentException e) {
            throw AtriumException.invalidParam("price", e.getMessage());
        }
        Json.send(response, Status.CREATED_201, PriceView.of(price));
    }

    private void listPrices(ServerRequest request, ServerResponse response) {
        Caller caller = Caller.current();
        Optional<String> model = AdminJson.parameter(request, "model");
        List<Price> prices = metering.prices().list(model, Optional.empty()).stream()
                .filter(price -> price.tenantId() == null || caller.sees(price.tenantId()))
                .toList();
        Json.send(response, Status.OK_200, new PriceListView(prices.stream().map(PriceView::of).toList()));
    }

    // ---- budgets ------------------------------------------------------------------------------------------------

    /** A tenant's budget (admin), or one of its keys' (admin, or the tenant's owner). */
    private void setBudget(ServerRequest request, ServerResponse response) {
        Caller caller = Caller.current();
        caller.requireManages();
        JsonNode body = Json.readObject(request, maxRequestBytes);
        Json.rejectUnknownFields(body, BUDGET_FIELDS, "a budget");
        Optional<String> keyId = AdminJson.optionalString(body, "key");
        String tenantId;
        if (keyId.isPresent()) {
            tenantId = tenancy.key(caller.key(), keyId.get()).tenantId();
            if (tenantId == null) {
                throw AtriumException.invalidParam("key", "platform admin keys have no budget");
            }
        } else {
            requireAdmin(caller);
            tenantId = tenantId(AdminJson.requiredString(body, "tenant"));
        }
        AuditTrail.note("budget.set", keyId.orElse(tenantId), tenantId);
        BudgetFields fields = BudgetFields.of(body);
        Budget budget;
        try {
            budget = metering.budgets().set(tenantId, keyId.orElse(null), fields.monthlyLimit(), fields.currency(),
                    fields.alertAt());
        } catch (IllegalArgumentException e) {
            throw AtriumException.invalidParam("budget", e.getMessage());
        }
        Json.send(response, Status.OK_200, view(budget));
    }

    private void listBudgets(ServerRequest request, ServerResponse response) {
        Caller caller = Caller.current();
        caller.requireManages();
        Optional<String> tenant = tenantScope(caller, request);
        List<BudgetView> budgets = metering.budgets().list(tenant).stream().map(this::view).toList();
        Json.send(response, Status.OK_200, new BudgetListView(budgets));
    }

    private BudgetView view(Budget budget) {
        var standing = metering.budgets().standing(budget.scope()).orElseThrow();
        return new BudgetView(budget.tenantId(), budget.keyId(), budget.monthlyLimit().toPlainString(), budget.currency(),
                budget.alertAt().stream().map(BigDecimal::toPlainString).toList(), standing.spent().toPlainString(),
                standing.reserved().toPlainString(), budget.updatedAt());
    }

    // ---- usage --------------------------------------------------------------------------------------------------

    private void usage(ServerRequest request, ServerResponse response) {
        Caller caller = Caller.current();
        requireAdmin(caller);
        Optional<String> tenant = AdminJson.parameter(request, "tenant").map(this::tenantId);
        UsageSummary summary = UsageSummary.of(metering.ledger(), tenant.orElse(null), tenant.isEmpty(),
                name -> AdminJson.parameter(request, name));
        if (AdminJson.parameter(request, "format").filter("csv"::equals).isPresent()) {
            response.header(HeaderValues.create("Content-Type", "text/csv; charset=utf-8"));
            response.send(summary.toCsv().getBytes(StandardCharsets.UTF_8));
            return;
        }
        Json.send(response, Status.OK_200, summary);
    }

    private void records(ServerRequest request, ServerResponse response) {
        Caller caller = Caller.current();
        caller.requireManages();
        Optional<String> tenant = tenantScope(caller, request);
        int limit = AdminJson.queryInteger(request, "limit", 100, 1, 1000);
        RecordQuery query = new RecordQuery(tenant, AdminJson.parameter(request, "key"), AdminJson.parameter(request, "model"),
                AdminJson.parameter(request, "request_id"), AdminJson.parameter(request, "from").map(text -> AdminJson.queryInstant(text, "from")),
                AdminJson.parameter(request, "to").map(text -> AdminJson.queryInstant(text, "to")),
                AdminJson.parameter(request, "before").map(text -> AdminJson.number(text, "before")), limit);
        List<UsageLedger.Positioned> records = metering.ledger().records(query);
        List<RecordView> views = records.stream().map(positioned -> {
            var record = positioned.record();
            return new RecordView(positioned.position(), record.requestId(), record.clientRequestId(),
                    record.startedAt(), record.endedAt(), record.tenantId(), record.keyId(), record.model(),
                    record.version(), record.endpoint(), record.outcome(), record.usage().inputTokens(),
                    record.usage().outputTokens(), record.usage().requests(), record.usage().computeMillis(),
                    record.usage().audioMillis(), record.usage().images(), record.usage().rows(),
                    record.charge().currency(), record.charge().priceId(), record.charge().total().toPlainString());
        }).toList();
        Long next = records.size() == limit ? records.getLast().position() : null;
        Json.send(response, Status.OK_200, new RecordPage(views, next));
    }

    // ---- invoices -----------------------------------------------------------------------------------------------

    private void invoice(ServerRequest request, ServerResponse response) {
        Caller caller = Caller.current();
        caller.requireManages();
        String tenant = tenantScope(caller, request).orElseThrow(() -> AtriumException.invalidParam("tenant",
                "'tenant' is required"));
        YearMonth month = AdminJson.parameter(request, "month").map(text -> {
            try {
                return YearMonth.parse(text);
            } catch (DateTimeParseException e) {
                throw AtriumException.invalidParam("month", "'month' must look like 2026-11");
            }
        }).orElse(YearMonth.now(java.time.ZoneOffset.UTC));
        Invoice invoice = Invoice.of(metering.ledger(), metering.prices(), tenant, month);
        if (AdminJson.parameter(request, "format").filter("csv"::equals).isPresent()) {
            response.header(HeaderValues.create("Content-Type", "text/csv; charset=utf-8"));
            response.send(invoice.toCsv().getBytes(StandardCharsets.UTF_8));
            return;
        }
        Json.send(response, Status.OK_200, new InvoiceView(tenant, month.toString(), invoice.lines().stream()
                .map(line -> new InvoiceLineView(line.model(), line.meter(), line.quantity().toPlainString(), line.unit(),
                        line.unitPrice().toPlainString(), line.currency(), line.amount().toPlainString()))
                .toList(), UsageSummary.plain(invoice.subtotals())));
    }

    // ---- request fields -----------------------------------------------------------------------------------------

    /**
     * The tenant a query is about: any (or none, for all) for the admin; for an owner its own, and a {@code tenant}
     * parameter naming another answers 404, as if it did not exist.
     */
    private Optional<String> tenantScope(Caller caller, ServerRequest request) {
        return caller.tenantScope(AdminJson.parameter(request, "tenant"),
                reference -> tenancy.findTenant(reference).map(Tenant::id));
    }

    /** A tenant id from an id or a name; 404 when there is none (only an admin gets here with a free choice). */
    private String tenantId(String reference) {
        return tenancy.findTenant(reference).orElseThrow(() -> new AtriumException(ErrorCode.NOT_FOUND,
                "tenant '" + reference + "' does not exist")).id();
    }

    private static void requireAdmin(Caller caller) {
        if (!caller.isAdmin()) {
            throw new AtriumException(ErrorCode.PERMISSION_DENIED, "only a platform admin can do this");
        }
    }
}
