package dev.dgramd.daemon.policy;

/**
 * A policy file that cannot be read or is not valid. The message names the file and where in it
 * the problem is, for example
 * {@code policy.yaml: principals.alice.quotas.maxSockets: must be an integer >= 0, got "ten"} or
 * {@code policy.yaml: line 3, column 9: mapping values are not allowed here}.
 */
public final class PolicyException extends Exception {
    private static final long serialVersionUID = 1L;

    PolicyException(String message) {
        super(message);
    }

    PolicyException(String message, Throwable cause) {
        super(message, cause);
    }
}
