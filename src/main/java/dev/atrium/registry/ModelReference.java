package dev.atrium.registry;

import static java.util.Objects.requireNonNull;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.regex.Pattern;

/**
 * How requests name a model: {@code name} (alias {@code production} if set, else the latest version),
 * {@code name:3} (a version) or {@code name:staging} (an alias; {@code latest} is implicit).
 */
public record ModelReference(String name, OptionalInt version, Optional<String> alias) {
    public static final String LATEST = "latest";
    public static final String PRODUCTION = "production";
    private static final Pattern ALIAS = Pattern.compile("[a-z][a-z0-9._-]{0,63}");

    public ModelReference {
        requireNonNull(name, "name is null");
        requireNonNull(version, "version is null");
        requireNonNull(alias, "alias is null");
    }

    /**
     * @throws AtriumException {@code MODEL_NOT_FOUND} when the text cannot name any model
     */
    public static ModelReference parse(String text) {
        if (text == null || text.isEmpty()) {
            throw AtriumException.withParam(ErrorCode.INVALID_REQUEST, "model", "a model name is required");
        }
        int colon = text.indexOf(':');
        String name = colon < 0 ? text : text.substring(0, colon);
        if (!Model.isValidName(name)) {
            throw notFound(text);
        }
        if (colon < 0) {
            return new ModelReference(name, OptionalInt.empty(), Optional.empty());
        }
        String suffix = text.substring(colon + 1);
        if (!suffix.isEmpty() && suffix.length() <= 9 && suffix.chars().allMatch(Character::isDigit)) {
            int version = Integer.parseInt(suffix);
            if (version < 1) {
                throw notFound(text);
            }
            return new ModelReference(name, OptionalInt.of(version), Optional.empty());
        }
        if (!isValidAlias(suffix)) {
            throw notFound(text);
        }
        return new ModelReference(name, OptionalInt.empty(), Optional.of(suffix));
    }

    /** Starts with a letter (so it never reads as a version); lowercase letters, digits, '-', '.', '_'. */
    public static boolean isValidAlias(String alias) {
        return alias != null && ALIAS.matcher(alias).matches();
    }

    private static AtriumException notFound(String text) {
        return AtriumException.withParam(ErrorCode.MODEL_NOT_FOUND, "model", "model '" + text
                + "' does not exist; a model reference is NAME, NAME:VERSION or NAME:ALIAS");
    }

    @Override
    public String toString() {
        if (version.isPresent()) {
            return name + ":" + version.getAsInt();
        }
        return alias.map(a -> name + ":" + a).orElse(name);
    }
}
