package dev.dgramd.client;

/**
 * An error of a dgram socket, shaped like Node's: {@link #code()} is Node's error code
 * ({@code "EADDRINUSE"}, {@code "ERR_SOCKET_BAD_PORT"}, ...), and system errors also carry
 * {@link #errno()}, {@link #syscall()} and, when one is involved, {@link #address()} and
 * {@link #port()}. The message is Node's ({@code "bind EADDRINUSE 0.0.0.0:41234"}).
 *
 * <p>Besides Node's codes, dgramd adds these, for failures that have no Node equivalent:
 *
 * <ul>
 *   <li>{@value #ERR_DGRAMD_UNAVAILABLE}: the daemon cannot be reached (this includes a failed
 *       TLS handshake: untrusted or misnamed daemon certificate, a client certificate of a CA the
 *       daemon does not trust), the
 *       connection to it was lost, or it closed the socket on its own (shutting down). Emitted as
 *       'error' right before 'close' on every socket it affects, and passed to the callbacks of
 *       sends it lost.
 *   <li>{@value #ERR_DGRAMD_UNAUTHENTICATED}: the daemon does not know who the client is (gRPC
 *       UNAUTHENTICATED): no bearer token, or one not in its tokens file ({@link
 *       ClientOptions#token}); no client certificate where the daemon requires one ({@link
 *       ClientOptions#tlsClientCert}). A known client refused by the daemon's policy gets Node's
 *       {@code EACCES} instead.
 *   <li>{@value #ERR_DGRAMD_TIMEOUT}: the daemon did not answer a call within
 *       {@link ClientOptions#callTimeout()}.
 *   <li>{@value #ERR_DGRAMD_CALL_FAILED}: the daemon answered a call with an unexpected failure
 *       (not a Node error); the message holds the gRPC status.
 *   <li>{@value #ERR_DGRAMD_CLIENT_CLOSED}: the {@link DgramClient} was closed.
 *   <li>{@value #ERR_DGRAMD_WOULD_BLOCK}: a listener running on the transport's event loop
 *       ({@link ClientOptions#listenersOnEventLoop}) called a getter that waits for the daemon.
 * </ul>
 */
public final class DgramException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** The daemon is unreachable, went away, or closed the socket on its own. */
    public static final String ERR_DGRAMD_UNAVAILABLE = "ERR_DGRAMD_UNAVAILABLE";
    /** The daemon did not answer within the call timeout. */
    public static final String ERR_DGRAMD_TIMEOUT = "ERR_DGRAMD_TIMEOUT";
    /** The daemon refused the client's credentials (no or unknown token, no client certificate). */
    public static final String ERR_DGRAMD_UNAUTHENTICATED = "ERR_DGRAMD_UNAUTHENTICATED";
    /** A call failed in a way that is not a Node error (the message holds the gRPC status). */
    public static final String ERR_DGRAMD_CALL_FAILED = "ERR_DGRAMD_CALL_FAILED";
    /** The {@link DgramClient} was closed. */
    public static final String ERR_DGRAMD_CLIENT_CLOSED = "ERR_DGRAMD_CLIENT_CLOSED";
    /**
     * A listener on the transport's event loop ({@link ClientOptions#listenersOnEventLoop}) asked
     * for an answer that only that event loop could bring (a getter such as getRecvBufferSize).
     */
    public static final String ERR_DGRAMD_WOULD_BLOCK = "ERR_DGRAMD_WOULD_BLOCK";

    private final String code;
    private final int errno;
    private final String syscall;
    private final String address;
    private final int port;

    /** An error with a code and a message only (Node's {@code ERR_*} errors). */
    public DgramException(String code, String message) {
        this(code, message, 0, null, null, 0, null);
    }

    /**
     * A system error, as Node builds them.
     *
     * @param code Node's code, e.g. {@code "EADDRINUSE"}
     * @param message e.g. {@code "bind EADDRINUSE 0.0.0.0:41234"}
     * @param errno Node's negative errno (-98 for EADDRINUSE on Linux), 0 when none
     * @param syscall the failed system call, or {@code null}
     * @param address the address involved, or {@code null}
     * @param port the port involved, 0 when none
     */
    public DgramException(
            String code, String message, int errno, String syscall, String address, int port) {
        this(code, message, errno, syscall, address, port, null);
    }

    /** Like {@link #DgramException(String, String, int, String, String, int)}, with a cause. */
    public DgramException(String code, String message, int errno, String syscall, String address,
            int port, Throwable cause) {
        super(message, cause);
        this.code = code == null ? "" : code;
        this.errno = errno;
        this.syscall = syscall == null || syscall.isEmpty() ? null : syscall;
        this.address = address == null || address.isEmpty() ? null : address;
        this.port = port;
    }

    /** Node's error code: {@code err.code}. */
    public String code() {
        return code;
    }

    /** Node's negative errno for system errors ({@code err.errno}), 0 otherwise. */
    public int errno() {
        return errno;
    }

    /** The failed system call ({@code err.syscall}), or {@code null}. */
    public String syscall() {
        return syscall;
    }

    /** The address involved ({@code err.address}), or {@code null}. */
    public String address() {
        return address;
    }

    /** The port involved ({@code err.port}), 0 when none (Node: undefined). */
    public int port() {
        return port;
    }

    @Override
    public String toString() {
        return "DgramException [" + code + "]: " + getMessage();
    }
}
