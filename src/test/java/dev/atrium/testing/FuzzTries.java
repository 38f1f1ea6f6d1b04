package dev.atrium.testing;

import net.jqwik.api.ShrinkingMode;
import net.jqwik.api.lifecycle.AroundPropertyHook;
import net.jqwik.api.lifecycle.PropagationMode;
import net.jqwik.api.lifecycle.PropertyExecutionResult;
import net.jqwik.api.lifecycle.PropertyExecutor;
import net.jqwik.api.lifecycle.PropertyLifecycleContext;

/**
 * The number of tries of the fuzz properties: the short form each declares ({@code @Property(tries = ...)}) in the
 * unit run, or {@code -Datrium.fuzz.tries=N} for every one of them in a long run ({@code bench/fuzz.sh}).
 * Added to a class with {@code @AddLifecycleHook(FuzzTries.class)}.
 */
public final class FuzzTries implements AroundPropertyHook {
    /** The system property that sets the tries of every fuzz property. */
    public static final String PROPERTY = "atrium.fuzz.tries";

    @Override
    public PropertyExecutionResult aroundProperty(PropertyLifecycleContext context, PropertyExecutor property) {
        // the inputs come from a seed: shrinking a seed only finds other inputs, so a failure shows its own
        context.attributes().setShrinking(ShrinkingMode.OFF);
        String tries = System.getProperty(PROPERTY, "").strip();
        if (!tries.isEmpty() && context.findAnnotation(net.jqwik.api.Example.class).isEmpty()) {
            context.attributes().setTries(Integer.parseInt(tries));
        }
        return property.execute();
    }

    /** Added to a class, it sets the tries of each of its properties. */
    @Override
    public PropagationMode propagateTo() {
        return PropagationMode.ALL_DESCENDANTS;
    }

    /** Outermost, so that the tries are set before the property's own hooks and its run are set up. */
    @Override
    public int aroundPropertyProximity() {
        return -100;
    }

    /** Whether this is a long run, in which the budgets per property are larger too. */
    public static boolean longRun() {
        return !System.getProperty(PROPERTY, "").isBlank();
    }
}
