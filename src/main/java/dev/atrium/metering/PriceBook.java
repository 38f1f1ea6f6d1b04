package dev.atrium.metering;

import static java.util.Objects.requireNonNull;

import dev.atrium.store.EpochMicros;
import java.math.BigDecimal;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
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

    public PriceBook(Jdbi jdbi, Clock clock) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    /** Adds a price; it applies from {@code effectiveFrom} (now when absent). */
    public Price set(String model, String tenantId, BigDecimal inputPer1m, BigDecimal outputPer1m,
            BigDecimal perRequest, BigDecimal perComputeSecond, String currency, Optional<Instant> effectiveFrom) {
        Instant now = clock.instant();
        Price draft = new Price(0, model, tenantId, inputPer1m, outputPer1m, perRequest, perComputeSecond, currency,
                effectiveFrom.orElse(now), now);
        long id = jdbi.withHandle(handle -> handle.createUpdate("""
                INSERT INTO prices (model, tenant_id, input_per_1m, output_per_1m, per_request, per_compute_second,
                                    currency, effective_from, created_at)
                VALUES (:model, :tenant_id, :input, :output, :request, :compute, :currency, :effective_from,
                        :created_at)""")
                .bind("model", model)
                .bind("tenant_id", tenantId)
                .bind("input", draft.inputPer1m().toPlainString())
                .bind("output", draft.outputPer1m().toPlainString())
                .bind("request", draft.perRequest().toPlainString())
                .bind("compute", draft.perComputeSecond().toPlainString())
                .bind("currency", currency)
                .bind("effective_from", EpochMicros.of(draft.effectiveFrom()))
                .bind("created_at", EpochMicros.of(draft.createdAt()))
                .executeAndReturnGeneratedKeys("id")
                .mapTo(Long.class)
                .one());
        byModel.remove(model);
        return new Price(id, model, tenantId, inputPer1m, outputPer1m, perRequest, perComputeSecond, currency,
                draft.effectiveFrom(), draft.createdAt());
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

    static Price price(ResultSet rs) throws SQLException {
        return new Price(rs.getLong("id"), rs.getString("model"), rs.getString("tenant_id"),
                new BigDecimal(rs.getString("input_per_1m")), new BigDecimal(rs.getString("output_per_1m")),
                new BigDecimal(rs.getString("per_request")), new BigDecimal(rs.getString("per_compute_second")),
                rs.getString("currency"), EpochMicros.instant(rs, "effective_from"),
                EpochMicros.instant(rs, "created_at"));
    }
}
