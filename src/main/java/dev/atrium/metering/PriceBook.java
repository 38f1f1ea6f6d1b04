package dev.atrium.metering;

import static java.util.Objects.requireNonNull;

import dev.atrium.AtriumException;
import dev.atrium.store.EpochMicros;
import java.math.BigDecimal;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;

/**
 * Prices by model, with tenant overrides, each in effect from its start. A new price never changes records
 * already written: each record is priced once, when written, with the price then in effect.
 */
public final class PriceBook {
    private final Jdbi jdbi;
    private final Clock clock;
    /** Every price of a model (all tenants), newest start first; cleared when a price of it is set. */
    private final ConcurrentHashMap<String, List<Price>> byModel = new ConcurrentHashMap<>();

    private final dev.atrium.store.ChangeFeed changes;

    public PriceBook(Jdbi jdbi, Clock clock) {
        this(jdbi, clock, dev.atrium.store.ChangeFeed.none());
    }

    /** Prices whose changes other replicas hear of through the feed, and theirs here. */
    public PriceBook(Jdbi jdbi, Clock clock, dev.atrium.store.ChangeFeed changes) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.changes = requireNonNull(changes, "changes is null");
        changes.subscribe(dev.atrium.store.ChangeFeed.Topic.PRICES, byModel::clear);
    }

    /**
     * Adds a price; it applies from {@code effectiveFrom} (now when absent).
     *
     * @throws AtriumException 400 on {@code currency} when the price would apply to a tenant whose budget (or one
     *     of whose keys' budgets) is in another currency: a budget counts only charges in its own currency
     */
    public Price set(String model, String tenantId, Map<Meter, BigDecimal> unitPrices, String currency,
            Optional<Instant> effectiveFrom) {
        Instant now = clock.instant();
        Price draft = Price.of(0, model, tenantId, unitPrices, currency, effectiveFrom.orElse(now), now);
        // one transaction, begun as a writer: a budget set meanwhile waits, so the check holds
        long id = jdbi.inTransaction(handle -> {
            requireNoBudgetInAnotherCurrency(handle, draft, now);
            return handle.createUpdate("""
                INSERT INTO prices (model, tenant_id, input_per_1m, output_per_1m, per_request, per_compute_second,
                                    per_audio_second, per_image, per_row, currency, effective_from, created_at)
                VALUES (:model, :tenant_id, :input, :output, :request, :compute, :audio, :image, :row, :currency,
                        :effective_from, :created_at)""")
                .bind("model", model)
                .bind("tenant_id", tenantId)
                .bind("input", draft.inputPer1m().toPlainString())
                .bind("output", draft.outputPer1m().toPlainString())
                .bind("request", draft.perRequest().toPlainString())
                .bind("compute", draft.perComputeSecond().toPlainString())
                .bind("audio", draft.perAudioSecond().toPlainString())
                .bind("image", draft.perImage().toPlainString())
                .bind("row", draft.perRow().toPlainString())
                .bind("currency", currency)
                .bind("effective_from", EpochMicros.of(draft.effectiveFrom()))
                .bind("created_at", EpochMicros.of(draft.createdAt()))
                .executeAndReturnGeneratedKeys("id")
                .mapTo(Long.class)
                .one();
        });
        byModel.remove(model);
        changes.publish(dev.atrium.store.ChangeFeed.Topic.PRICES);
        return draft.withId(id);
    }

    /** A price of tokens, requests and compute only. */
    public Price set(String model, String tenantId, BigDecimal inputPer1m, BigDecimal outputPer1m,
            BigDecimal perRequest, BigDecimal perComputeSecond, String currency, Optional<Instant> effectiveFrom) {
        Map<Meter, BigDecimal> unitPrices = new java.util.EnumMap<>(Meter.class);
        unitPrices.put(Meter.INPUT_TOKENS, inputPer1m);
        unitPrices.put(Meter.OUTPUT_TOKENS, outputPer1m);
        unitPrices.put(Meter.REQUESTS, perRequest);
        unitPrices.put(Meter.COMPUTE_SECONDS, perComputeSecond);
        return set(model, tenantId, unitPrices, currency, effectiveFrom);
    }

    /** Prices, optionally of one model and one tenant's overrides (or the model prices when tenant is ""). */
    public List<Price> list(Optional<String> model, Optional<String> tenantId) {
        return jdbi.withHandle(handle -> handle.createQuery("""
                        SELECT * FROM prices
                        WHERE (:model IS NULL OR model = :model)
                          AND (:tenant IS NULL OR tenant_id = :tenant OR (:tenant = '' AND tenant_id IS NULL))
                        ORDER BY model, tenant_id, effective_from, id""")
                .bind("model", model.orElse(null))
                .bind("tenant", tenantId.orElse(null))
                .map((rs, ctx) -> price(rs))
                .list());
    }

    /** The price in effect for a tenant's use of a model at a time: its override if any, else the model's. */
    public Optional<Price> effective(String model, String tenantId, Instant at) {
        List<Price> prices = byModel.computeIfAbsent(model, name -> list(Optional.of(name), Optional.empty()).stream()
                .sorted(Comparator.comparing(Price::effectiveFrom).thenComparing(Price::id).reversed())
                .toList());
        Optional<Price> override = tenantId == null ? Optional.empty() : prices.stream()
                .filter(price -> tenantId.equals(price.tenantId()) && !price.effectiveFrom().isAfter(at))
                .findFirst();
        return override.or(() -> prices.stream()
                .filter(price -> price.tenantId() == null && !price.effectiveFrom().isAfter(at))
                .findFirst());
    }

    private static void requireNoBudgetInAnotherCurrency(Handle handle, Price draft, Instant now) {
        List<Map.Entry<String, String>> budgets = handle.createQuery("""
                        SELECT DISTINCT tenant_id, currency FROM budgets
                        WHERE currency <> :currency AND (:tenant IS NULL OR tenant_id = :tenant)
                        ORDER BY tenant_id, currency""")
                .bind("currency", draft.currency())
                .bind("tenant", draft.tenantId())
                .map((rs, ctx) -> Map.entry(rs.getString("tenant_id"), rs.getString("currency")))
                .list();
        if (budgets.isEmpty()) {
            return;
        }
        // the draft's id is not known yet; it will be the highest, which is what breaks ties of effective_from
        Price candidate = draft.withId(Long.MAX_VALUE);
        List<Price> prices = new ArrayList<>(all(handle));
        prices.add(candidate);
        for (Map.Entry<String, String> budget : budgets) {
            if (applying(prices, budget.getKey(), now).contains(candidate)) {
                throw AtriumException.invalidParam("currency", "this price in " + draft.currency() + " would apply to"
                        + " tenant " + budget.getKey() + ", which has a budget in " + budget.getValue() + "; a budget"
                        + " counts only charges in its own currency, so set the price in " + budget.getValue()
                        + " or the budget in " + draft.currency() + " first");
            }
        }
    }

    static List<Price> all(Handle handle) {
        return handle.createQuery("SELECT * FROM prices ORDER BY id").map((rs, ctx) -> price(rs)).list();
    }

    /**
     * The prices that apply to a tenant's requests from {@code now} on: per model, the one in effect now (the
     * tenant's override if it has one, else the model's, as {@link #effective} picks), and every price, override
     * or the model's, that takes effect later.
     */
    static List<Price> applying(List<Price> prices, String tenantId, Instant now) {
        Comparator<Price> newest = Comparator.comparing(Price::effectiveFrom).thenComparing(Price::id).reversed();
        Map<String, Price> current = new TreeMap<>();
        Map<String, Price> currentOverride = new TreeMap<>();
        List<Price> applying = new ArrayList<>();
        for (Price price : prices) {
            boolean mine = tenantId != null && tenantId.equals(price.tenantId());
            if (price.tenantId() != null && !mine) {
                continue;
            }
            if (price.effectiveFrom().isAfter(now)) {
                applying.add(price);
                continue;
            }
            (mine ? currentOverride : current).merge(price.model(), price,
                    (a, b) -> newest.compare(a, b) <= 0 ? a : b);
        }
        current.putAll(currentOverride);
        applying.addAll(current.values());
        return applying;
    }

    static Price price(ResultSet rs) throws SQLException {
        Map<Meter, BigDecimal> unitPrices = new java.util.EnumMap<>(Meter.class);
        for (Meter meter : Meter.values()) {
            unitPrices.put(meter, amount(rs, meter.priceField()));
        }
        return Price.of(rs.getLong("id"), rs.getString("model"), rs.getString("tenant_id"), unitPrices,
                rs.getString("currency"), EpochMicros.instant(rs, "effective_from"),
                EpochMicros.instant(rs, "created_at"));
    }

    /**
     * A stored amount, read with the bounded check. Prices were bounded before decimals had one validator, so no
     * stored price should fail it; one that does fails its reads at once (closed), rather than costing minutes.
     */
    private static BigDecimal amount(ResultSet rs, String column) throws SQLException {
        String text = rs.getString(column);
        Optional<BigDecimal> amount = Decimals.parse(text);
        if (amount.isEmpty()) {
            throw new SQLException("price " + rs.getLong("id") + " has a stored " + column + " out of bounds ("
                    + text.length() + " characters)");
        }
        return amount.get();
    }
}
