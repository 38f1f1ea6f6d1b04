package dev.atrium.tenancy;

import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;

/**
 * What a key may do. {@code ADMIN} keys belong to the platform (no tenant); the others belong to one tenant.
 */
public enum Role {
    /** Manages tenants, every key, public models and the audit log. */
    ADMIN,
    /** Manages its tenant's keys and models, calls models, reads its tenant's usage and audit log. */
    OWNER,
    /** Calls models and reads the model list. */
    MEMBER,
    /** Reads models and usage; calls nothing. */
    READER;

    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Optional<Role> fromWireName(String name) {
        return Arrays.stream(values()).filter(role -> role.wireName().equals(name)).findFirst();
    }

    public boolean callsModels() {
        return this != READER;
    }

    /** Manages keys and models: its tenant's for an owner, public ones and every tenant's keys for an admin. */
    public boolean manages() {
        return this == ADMIN || this == OWNER;
    }
}
