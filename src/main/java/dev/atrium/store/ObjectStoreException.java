package dev.atrium.store;

/**
 * The remote object store could not be reached or refused a request. Its message names the store, the operation
 * and the key, and what the store answered; never a credential.
 */
public final class ObjectStoreException extends RuntimeException {
    public ObjectStoreException(String message, Throwable cause) {
        super(message, cause);
    }
}
