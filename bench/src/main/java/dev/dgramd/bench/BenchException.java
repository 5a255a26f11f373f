package dev.dgramd.bench;

/** A bench step that could not be carried out (a peer died, a wait ran out, ...). */
final class BenchException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    BenchException(String message) {
        super(message);
    }

    BenchException(String message, Throwable cause) {
        super(message, cause);
    }
}
