package dev.atrium.store;

import static java.util.Objects.requireNonNull;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.JdbiException;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tells every replica over a shared store that something it caches has changed: keys, tenants, prices, models
 * (aliases, splits, shadows, residency) or upstream hosts. On PostgreSQL a change is published with {@code NOTIFY}
 * once committed and each replica, listening on a connection of its own, forgets what it cached of that topic.
 * Notifications sent while a replica was disconnected are lost, so a replica that reconnects forgets everything;
 * and every {@link #BACKSTOP} it forgets everything anyway, so that a change whose notification never left (its
 * replica died between commit and publish) is seen within that time too. On SQLite, one process owns the store:
 * nothing is published or heard.
 */
public final class ChangeFeed implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ChangeFeed.class);
    static final String CHANNEL = "atrium_changes";
    /** The longest a change made on another replica can go unseen here. */
    public static final Duration BACKSTOP = Duration.ofSeconds(5);
    private static final Duration RECONNECT_PAUSE = Duration.ofSeconds(1);

    /** What changed. */
    public enum Topic { KEYS, TENANTS, PRICES, MODELS, UPSTREAMS }

    /** Where a listener gets its connection: one of its own, outside the pool. */
    @FunctionalInterface
    interface Connector {
        Connection connect() throws SQLException;
    }

    private final Jdbi jdbi;
    private final Connector connector;
    private final Map<Topic, List<Runnable>> subscribers = new EnumMap<>(Topic.class);
    private final Thread listener;
    private volatile boolean closed;
    private volatile boolean listening;

    private ChangeFeed(Jdbi jdbi, Connector connector) {
        this.jdbi = jdbi;
        this.connector = connector;
        for (Topic topic : Topic.values()) {
            subscribers.put(topic, new CopyOnWriteArrayList<>());
        }
        this.listener = connector == null ? null : Thread.ofPlatform().name("atrium-change-feed").daemon()
                .unstarted(this::listen);
    }

    /** A feed that publishes and hears nothing: one process owns the store. */
    public static ChangeFeed none() {
        return new ChangeFeed(null, null);
    }

    /** The feed of a store: listening on PostgreSQL, silent on SQLite. */
    public static ChangeFeed of(Database database) {
        if (database.dialect() != Dialect.POSTGRESQL) {
            return none();
        }
        ChangeFeed feed = new ChangeFeed(database.jdbi(), database::unpooledConnection);
        feed.listener.start();
        return feed;
    }

    /**
     * Whether the store can be reached, as this feed's own connection last found (within a second or so): what
     * readiness reports. Always true where one process owns the store.
     */
    public boolean reachable() {
        return listener == null || listening;
    }

    /** Calls the subscriber whenever the topic changes on another replica (or may have). */
    public void subscribe(Topic topic, Runnable forget) {
        subscribers.get(topic).add(requireNonNull(forget, "forget is null"));
    }

    /**
     * Tells the other replicas that a topic changed; call after the change is committed. A failure is logged, not
     * thrown: the change is made, and the others see it within {@link #BACKSTOP}.
     */
    public void publish(Topic topic) {
        if (jdbi == null) {
            return;
        }
        try {
            jdbi.useHandle(handle -> handle.createQuery("SELECT pg_notify(:channel, :topic)")
                    .bind("channel", CHANNEL).bind("topic", topic.name()).mapTo(String.class).findOne());
        } catch (JdbiException e) {
            LOG.warn("cannot tell the other replicas that {} changed (they see it within {}): {}", topic, BACKSTOP,
                    e.getMessage());
        }
    }

    private void listen() {
        boolean reconnecting = false;
        while (!closed) {
            try (Connection connection = connector.connect(); Statement statement = connection.createStatement()) {
                statement.execute("LISTEN " + CHANNEL);
                listening = true;
                if (reconnecting) {
                    // what was published while this replica could not hear is lost: forget everything
                    LOG.info("change feed: listening again; cached keys, tenants, prices and models are reloaded");
                    forgetAll();
                    reconnecting = false;
                }
                PGConnection notifications = connection.unwrap(PGConnection.class);
                long backstop = System.nanoTime() + BACKSTOP.toNanos();
                while (!closed) {
                    PGNotification[] received = notifications.getNotifications(500);
                    if (received != null) {
                        for (PGNotification notification : received) {
                            heard(notification.getParameter());
                        }
                    }
                    if (System.nanoTime() - backstop >= 0) {
                        forgetAll();
                        backstop = System.nanoTime() + BACKSTOP.toNanos();
                    }
                }
            } catch (SQLException | RuntimeException e) {
                listening = false;
                if (closed) {
                    return;
                }
                if (!reconnecting) {
                    LOG.warn("change feed: lost the store ({}); listening again when it is back", e.getMessage());
                }
                reconnecting = true;
                forgetAll();
                try {
                    Thread.sleep(RECONNECT_PAUSE);
                } catch (InterruptedException interrupted) {
                    return;
                }
            }
        }
    }

    private void heard(String payload) {
        for (Topic topic : Topic.values()) {
            if (topic.name().equals(payload)) {
                forget(topic);
                return;
            }
        }
        LOG.debug("change feed: ignored an unknown topic");
    }

    private void forgetAll() {
        for (Topic topic : Topic.values()) {
            forget(topic);
        }
    }

    private void forget(Topic topic) {
        for (Runnable forget : subscribers.get(topic)) {
            try {
                forget.run();
            } catch (RuntimeException e) {
                LOG.warn("change feed: forgetting {} failed: {}", topic, e.getMessage());
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        if (listener != null) {
            listener.interrupt();
            try {
                listener.join(2_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
