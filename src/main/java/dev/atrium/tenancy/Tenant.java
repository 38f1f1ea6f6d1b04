package dev.atrium.tenancy;

import static java.util.Objects.requireNonNull;

import dev.atrium.store.EpochMicros;
import java.time.Instant;
import java.util.regex.Pattern;

/** An organisation that shares the server: it owns keys and private models. */
public record Tenant(String id, String name, Limits limits, Instant createdAt) {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9 ._-]{0,99}");

    public Tenant {
        requireNonNull(id, "id is null");
        requireNonNull(name, "name is null");
        requireNonNull(limits, "limits is null");
        createdAt = EpochMicros.truncate(requireNonNull(createdAt, "createdAt is null"));
    }

    public static boolean isValidName(String name) {
        return name != null && NAME.matcher(name).matches();
    }
}
