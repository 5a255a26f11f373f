package dev.dgramd.client;

/** An 'error' listener: Node's {@code (err) => {}}. */
@FunctionalInterface
public interface ErrorListener {
    /** @param error the error, with Node's {@link DgramException#code() code} */
    void onError(DgramException error);
}
