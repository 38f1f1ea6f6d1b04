package dev.atrium.audit;

/**
 * What a management request is about, filled in by its handler while it runs, so that the audit row written
 * when the response goes out names the action, its target and the tenant it concerns.
 */
public final class AuditTrail {
    public static final ScopedValue<AuditTrail> CURRENT = ScopedValue.newInstance();

    private volatile String action;
    private volatile String target;
    private volatile String tenantId;

    public AuditTrail(String action, String target, String tenantId) {
        this.action = action;
        this.target = target;
        this.tenantId = tenantId;
    }

    /** Names the action (e.g. {@code key.create}), its target and the tenant it concerns, if a request is audited. */
    public static void note(String action, String target, String tenantId) {
        if (CURRENT.isBound()) {
            AuditTrail trail = CURRENT.get();
            trail.action = action;
            trail.target = target;
            if (tenantId != null) {
                trail.tenantId = tenantId;
            }
        }
    }

    public String action() {
        return action;
    }

    public String target() {
        return target;
    }

    public String tenantId() {
        return tenantId;
    }
}
