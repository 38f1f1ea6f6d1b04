package dev.atrium.store;

import static dev.atrium.store.IndependentTenantCrypto.MASTER;
import static dev.atrium.store.IndependentTenantCrypto.NEW_MASTER;
import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.atrium.testing.SettableClock;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import javax.crypto.AEADBadTagException;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TenantKeysTest {
    private static final Instant NOW = Instant.parse("2027-01-01T00:00:00.123456Z");
    private static final Duration EXPIRY = Duration.ofMinutes(5);

    @TempDir
    Path dataDirectory;

    private final SettableClock clock = new SettableClock(NOW);
    private Database database;
    private Jdbi jdbi;

    @BeforeEach
    void open() {
        database = IndependentTenantCrypto.openStore(dataDirectory);
        jdbi = database.jdbi();
    }

    @AfterEach
    void close() {
        database.close();
    }

    private TenantKeys keys(byte[] master) {
        return new TenantKeys(jdbi, master, clock, 100, EXPIRY);
    }

    @Test
    void dataKey_firstUse_makesOneRandomKey_storedOnlyWrappedByTheMasterKey() throws Exception {
        TenantKeys keys = keys(MASTER);
        TenantKeys.DataKey key = keys.dataKey("ten_a");
        byte[] raw = key.key().getEncoded();
        assertThat(raw).hasSize(32);
        assertThat(key.keyId()).matches("dk-[0-9a-f]{24}");

        var row = jdbi.withHandle(handle -> handle.createQuery("SELECT * FROM tenant_data_keys").mapToMap().list());
        assertThat(row).hasSize(1);
        assertThat(row.getFirst()).containsEntry("tenant_id", "ten_a").containsEntry("key_id", key.keyId())
                .containsEntry("master_key_id", IndependentTenantCrypto.masterKeyId(MASTER))
                // 2027-01-01T00:00:00Z is 1798761600 seconds after 1970
                .containsEntry("created_at", 1_798_761_600_123_456L);
        String wrapped = (String) row.getFirst().get("wrapped_key");
        assertThat(new String(Base64.getDecoder().decode(wrapped.substring(3)), ISO_8859_1))
                .as("the raw key is not in the row").doesNotContain(new String(raw, ISO_8859_1));
        assertThat(IndependentTenantCrypto.unwrap(MASTER, "ten_a", key.keyId(), wrapped)).isEqualTo(raw);

        assertThat(keys.dataKey("ten_a").keyId()).isEqualTo(key.keyId());
        assertThat(keys(MASTER).dataKey("ten_a").key().getEncoded()).as("after a restart").isEqualTo(raw);
        assertThat(keys.keyId("ten_a")).contains(key.keyId());
        TenantKeys.DataKey other = keys.dataKey("ten_b");
        assertThat(other.keyId()).isNotEqualTo(key.keyId());
        assertThat(other.key().getEncoded()).isNotEqualTo(raw);
        assertThat(keys.masterKeyId()).isEqualTo(IndependentTenantCrypto.masterKeyId(MASTER));
    }

    @Test
    void existingKey_neverMakesOne() {
        TenantKeys keys = keys(MASTER);
        assertThat(keys.existingKey("ten_a")).isEmpty();
        assertThat(keys.keyId("ten_a")).isEmpty();
        assertThat(count()).isZero();
    }

    @Test
    void dataKey_firstUseRacingInTwoProcesses_makesOneKey() throws Exception {
        List<TenantKeys> replicas = List.of(keys(MASTER), keys(MASTER));
        int threads = 8;
        CountDownLatch start = new CountDownLatch(1);
        try (ExecutorService executor = Executors.newFixedThreadPool(threads)) {
            List<Future<String>> ids = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                TenantKeys replica = replicas.get(i % 2);
                ids.add(executor.submit(() -> {
                    start.await();
                    return replica.dataKey("ten_race").keyId();
                }));
            }
            start.countDown();
            Set<String> distinct = ids.stream().map(TenantKeysTest::get).collect(Collectors.toSet());
            assertThat(distinct).hasSize(1);
        }
        assertThat(count()).isEqualTo(1);
    }

    @Test
    void dataKey_wrappedByAnotherMasterKey_isRefusedNamingBothKeys() throws Exception {
        keys(MASTER).dataKey("ten_a");
        assertThatThrownBy(() -> keys(NEW_MASTER).dataKey("ten_a")).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining(IndependentTenantCrypto.masterKeyId(MASTER))
                .hasMessageContaining(IndependentTenantCrypto.masterKeyId(NEW_MASTER));
    }

    @Test
    void dataKey_wrappedKeyCopiedToAnotherTenant_doesNotOpen() {
        TenantKeys keys = keys(MASTER);
        keys.dataKey("ten_a");
        keys.dataKey("ten_b");
        jdbi.useHandle(handle -> handle.execute("UPDATE tenant_data_keys SET wrapped_key ="
                + " (SELECT wrapped_key FROM tenant_data_keys WHERE tenant_id = 'ten_a') WHERE tenant_id = 'ten_b'"));
        assertThatThrownBy(() -> keys(MASTER).existingKey("ten_b")).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("does not open");
        jdbi.useHandle(handle -> handle.execute("UPDATE tenant_data_keys SET wrapped_key = 'v1:garbage'"));
        assertThatThrownBy(() -> keys(MASTER).existingKey("ten_a")).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("not in a known format");
    }

    @Test
    void rewrapFrom_previousMasterKey_keepsEveryDataKey_thatOnlyTheNewMasterKeyOpens() throws Exception {
        TenantKeys old = keys(MASTER);
        List<String> tenants = List.of("ten_a", "ten_b", "ten_c");
        List<byte[]> raw = tenants.stream().map(t -> old.dataKey(t).key().getEncoded()).toList();
        List<String> wrappedBefore = tenants.stream().map(t -> IndependentTenantCrypto.wrappedKey(jdbi, t)).toList();

        TenantKeys rotated = keys(NEW_MASTER);
        assertThat(rotated.rewrapFrom(MASTER)).isEqualTo(3);
        assertThat(rotated.rewrapFrom(MASTER)).as("repeated").isZero();
        assertThat(rotated.rewrapFrom(NEW_MASTER)).as("from itself").isZero();

        for (int i = 0; i < tenants.size(); i++) {
            String tenant = tenants.get(i);
            String wrapped = IndependentTenantCrypto.wrappedKey(jdbi, tenant);
            assertThat(wrapped).isNotEqualTo(wrappedBefore.get(i));
            assertThat(IndependentTenantCrypto.unwrap(NEW_MASTER, tenant, IndependentTenantCrypto.keyId(jdbi, tenant),
                    wrapped)).isEqualTo(raw.get(i));
            assertThatThrownBy(() -> IndependentTenantCrypto.unwrap(MASTER, tenant,
                    IndependentTenantCrypto.keyId(jdbi, tenant), wrapped)).isInstanceOf(AEADBadTagException.class);
            assertThat(keys(NEW_MASTER).dataKey(tenant).key().getEncoded()).isEqualTo(raw.get(i));
        }
        List<String> masterKeyIds = jdbi.withHandle(handle -> handle.createQuery(
                "SELECT DISTINCT master_key_id FROM tenant_data_keys").mapTo(String.class).list());
        assertThat(masterKeyIds).containsExactly(IndependentTenantCrypto.masterKeyId(NEW_MASTER));
        assertThatThrownBy(() -> keys(MASTER).dataKey("ten_a")).isInstanceOf(IllegalStateException.class);
        for (String before : wrappedBefore) {
            assertThat(filesContaining(dataDirectory, before.getBytes(UTF_8)))
                    .as("the keys as the old master key wrapped them, in the database, WAL or shm").isEmpty();
        }
    }

    @Test
    void destroy_deletesTheKey_andTheNextUseMakesANewOne() {
        TenantKeys keys = keys(MASTER);
        TenantKeys.DataKey before = keys.dataKey("ten_a");
        keys.dataKey("ten_b");
        assertThat(keys.destroy("ten_a")).isTrue();
        assertThat(keys.destroy("ten_a")).isFalse();
        assertThat(keys.keyId("ten_a")).isEmpty();
        assertThat(keys(MASTER).keyId("ten_a")).isEmpty();
        assertThat(count()).isEqualTo(1);
        TenantKeys.DataKey after = keys.dataKey("ten_a");
        assertThat(after.keyId()).isNotEqualTo(before.keyId());
        assertThat(after.key().getEncoded()).isNotEqualTo(before.key().getEncoded());
    }

    @Test
    void destroy_byAnotherProcess_takesEffectHereWithinTheCacheExpiry() {
        TenantKeys here = keys(MASTER);
        TenantKeys there = keys(MASTER);
        String id = here.dataKey("ten_a").keyId();
        assertThat(there.destroy("ten_a")).isTrue();
        clock.advance(EXPIRY.minusSeconds(1));
        assertThat(here.keyId("ten_a")).as("still cached").contains(id);
        clock.advance(EXPIRY.plusSeconds(1));
        assertThat(here.keyId("ten_a")).isEmpty();
    }

    @Test
    void cache_holdsAtMostItsBound() {
        TenantKeys keys = new TenantKeys(jdbi, MASTER, clock, 3, EXPIRY);
        for (int i = 0; i < 20; i++) {
            keys.dataKey("ten_" + i);
        }
        assertThat(keys.cachedKeys()).isLessThanOrEqualTo(3);
        assertThat(count()).isEqualTo(20);
        assertThat(keys.dataKey("ten_0").key().getEncoded()).as("an evicted key is read back")
                .isEqualTo(keys(MASTER).dataKey("ten_0").key().getEncoded());
    }

    @Test
    void constructor_andIds_refuseBadInput() {
        assertThatThrownBy(() -> keys(new byte[16])).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("32 bytes");
        TenantKeys keys = keys(MASTER);
        for (String bad : List.of("", "../ten_a", "ten a", "ten/a", "x".repeat(129))) {
            assertThatThrownBy(() -> keys.dataKey(bad)).as(bad).isInstanceOf(IllegalArgumentException.class);
        }
        assertThat(count()).isZero();
    }

    private static String get(Future<String> future) {
        try {
            return future.get();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private static List<Path> filesContaining(Path root, byte[] needle) throws IOException {
        String pattern = new String(needle, ISO_8859_1);
        try (Stream<Path> paths = Files.walk(root)) {
            List<Path> found = new ArrayList<>();
            for (Path file : paths.filter(Files::isRegularFile).toList()) {
                if (new String(Files.readAllBytes(file), ISO_8859_1).contains(pattern)) {
                    found.add(file);
                }
            }
            return found;
        }
    }

    private int count() {
        return jdbi.withHandle(handle -> handle.createQuery("SELECT count(*) FROM tenant_data_keys")
                .mapTo(Integer.class).one());
    }
}
