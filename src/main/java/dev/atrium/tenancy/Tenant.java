package dev.atrium.tenancy;

import static java.util.Objects.requireNonNull;

import dev.atrium.store.EpochMicros;
import java.time.Instant;
import java.util.regex.Pattern;

/**
 * An organisation that shares the server: it owns keys and private models.
 *
 * @param requireSignedUploads whether uploads to its models must be signed by a trusted publisher (set by the
 *     platform admin; the platform-wide setting applies whatever this says)
 */
public record Tenant(String id, String name, Limits limits, Instant createdAt, boolean requireSignedUploads) {
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
