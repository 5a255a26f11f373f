package dev.dgramd.daemon.udp;

import java.util.concurrent.CompletionException;

/**
 * A failure with Node.js's error fields: {@code code}, {@code errno}, {@code syscall},
 * {@code address}, {@code port}. The message follows Node's format, for example
 * {@code "bind EADDRINUSE 0.0.0.0:41234"} for a system error.
 */
public final class DgramError extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String code;
    private final int errno;
    private final String syscall;
    private final String address;
    private final int port;
    private final Refusal refusal;
    private final String rule;

    /** Why dgramd itself, not the kernel, refused an operation. */
    public enum Refusal {
        /** The policy forbids it (gRPC PERMISSION_DENIED). */
        FORBIDDEN,
        /** A quota is used up (gRPC RESOURCE_EXHAUSTED). */
        QUOTA
    }

    private DgramError(String code, int errno, String syscall, String address, int port, String message,
                       Refusal refusal, String rule) {
        super(message, null, false, false);
        this.code = code;
        this.errno = errno;
        this.syscall = syscall;
        this.address = address;
        this.port = port;
        this.refusal = refusal;
        this.rule = rule;
    }

    /** A Node {@code ERR_*} error: a code and a message, no system fields. */
    public static DgramError of(String code, String message) {
        return new DgramError(code, 0, null, null, 0, message, null, null);
    }

    /**
     * The error dgramd answers while it hands its sockets to another daemon process (a restart
     * without losing a socket): the operation was not done; a client tries it again on the new process.
     */
    public static DgramError restarting() {
        return of(RESTARTING, "dgramd is restarting: this socket is moving to the new daemon process");
    }

    /** The code of {@link #restarting()}. */
    public static final String RESTARTING = "ERR_DGRAMD_RESTARTING";

    /**
     * An error as another daemon reported it (a queued 'error' event handed over): its fields as
     * they were, without the policy's refusal kind.
     */
    public static DgramError restore(String code, String message, int errno, String syscall, String address,
                                     int port) {
        return new DgramError(code, errno, syscall, address, port, message, null, null);
    }

    /**
     * A system error as Node's {@code errnoException}/{@code exceptionWithHostPort} build it.
     *
     * @param address the address involved, or null
     * @param port the port involved, or 0
     */
    public static DgramError system(SystemError error, String syscall, String address, int port) {
        return new DgramError(error.name(), error.errno(), syscall, address, port,
                systemMessage(error, syscall, address, port), null, null);
    }

    /**
     * A system error that dgramd raises itself because {@code rule} forbids the operation or a quota
     * is used up, shaped as the kernel's would be, with the rule appended to the message:
     * {@code "send EACCES 169.254.169.254:80 (policy: ...)"}.
     */
    public static DgramError refused(Refusal refusal, SystemError error, String syscall, String address, int port,
                                     String rule) {
        return new DgramError(error.name(), error.errno(), syscall, address, port,
                systemMessage(error, syscall, address, port) + " (policy: " + rule + ")", refusal, rule);
    }

    /**
     * The DgramError that {@code failure} is, or that it wraps as a {@link CompletionException}'s
     * cause (how a failed {@code CompletableFuture} of a socket operation reports it); null otherwise.
     */
    public static DgramError causeOf(Throwable failure) {
        Throwable t = failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
        return t instanceof DgramError e ? e : null;
    }

    private static String systemMessage(SystemError error, String syscall, String address, int port) {
        StringBuilder message = new StringBuilder(syscall).append(' ').append(error.name());
        if (address != null) {
            message.append(' ').append(address);
            if (port > 0) {
                message.append(':').append(port);
            }
        }
        return message.toString();
    }

    /** Non-null when dgramd refused the operation by policy or quota rather than the kernel failing it. */
    public Refusal refusal() {
        return refusal;
    }

    /** The policy rule that refused the operation, or null. */
    public String rule() {
        return rule;
    }

    /** The Node error code: {@code EADDRINUSE}, {@code ERR_SOCKET_BAD_PORT}, ... */
    public String code() {
        return code;
    }

    /** Node's negative errno for system errors, 0 otherwise. */
    public int errno() {
        return errno;
    }

    /** The failed system call for system errors, or null. */
    public String syscall() {
        return syscall;
    }

    /** The address involved, or null. */
    public String address() {
        return address;
    }

    /** The port involved, or 0. */
    public int port() {
        return port;
    }

    static DgramError notRunning() {
        return of("ERR_SOCKET_DGRAM_NOT_RUNNING", "Not running");
    }

    /** ERR_SOCKET_BAD_PORT: {@code port} breaks {@code rule}, as in "&gt;= 0 and &lt; 65536". */
    public static DgramError badPort(String rule, long port) {
        return of("ERR_SOCKET_BAD_PORT", "Port should be " + rule + ". Received " + port + ".");
    }
}
