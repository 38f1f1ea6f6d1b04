package dev.atrium.tenancy;

import static java.util.Objects.requireNonNull;

/** A key just created, with its secret: the only time the secret exists outside the client. */
public record CreatedKey(ApiKey key, String secret) {
    public CreatedKey {
        requireNonNull(key, "key is null");
        requireNonNull(secret, "secret is null");
    }

    @Override
    public String toString() {
        return "CreatedKey[" + key.id() + "]";
    }
}
