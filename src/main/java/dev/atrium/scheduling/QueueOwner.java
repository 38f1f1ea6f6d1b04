package dev.atrium.scheduling;

/**
 * Whose request is being served, for the fair share of model queues: the gateway binds the caller's tenant,
 * engines read it when they queue work. Unbound (a call from inside the server) counts as the platform's.
 */
public final class QueueOwner {
    public static final ScopedValue<String> CURRENT = ScopedValue.newInstance();

    private QueueOwner() {}

    public static String current() {
        return CURRENT.isBound() ? CURRENT.get() : "";
    }
}
