package dev.dgramd.client.internal;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.rpc.ErrorInfo;
import dev.dgramd.client.DgramException;
import io.grpc.Status;
import io.grpc.protobuf.StatusProto;

/** Builds {@link DgramException}s: Node's local argument and state errors, and RPC failures. */
public final class Errors {
    /** errno of EBADF on Linux, as Node reports it. */
    public static final int UV_EBADF = -9;

    private Errors() {}

    /**
     * The reason (ErrorInfo) of a call or stream ended because the daemon hands its sockets to a
     * new process: the socket lives on there, and the client re-attaches and tries again.
     */
    static final String RESTARTING = "ERR_DGRAMD_RESTARTING";

    /** True when {@code f} says the daemon is restarting by hand-over ({@link #RESTARTING}). */
    static boolean restarting(RpcFailure f) {
        return RESTARTING.equals(f.exception().code());
    }

    /** An RPC failure: the exception, and whether the daemon itself reported it as an error. */
    public record RpcFailure(DgramException exception, boolean fromDaemon, boolean transport) {}

    /**
     * Reads a failed call's status: a dgramd {@code ErrorInfo} becomes the Node error it names
     * ({@code fromDaemon}); otherwise the gRPC status maps to ERR_DGRAMD_UNAVAILABLE (UNAVAILABLE,
     * CANCELLED: {@code transport}; a TLS failure says so), ERR_DGRAMD_UNAUTHENTICATED
     * (UNAUTHENTICATED), ERR_DGRAMD_TIMEOUT or ERR_DGRAMD_CALL_FAILED.
     */
    public static RpcFailure fromRpc(Throwable t, String what) {
        com.google.rpc.Status st = StatusProto.fromThrowable(t);
        if (st != null) {
            for (Any any : st.getDetailsList()) {
                if (any.is(ErrorInfo.class)) {
                    try {
                        ErrorInfo info = any.unpack(ErrorInfo.class);
                        if (info.getReason().equals(RESTARTING)) {
                            return new RpcFailure(new DgramException(RESTARTING, what + ": " + st.getMessage()),
                                    true, false);
                        }
                        if (info.getReason().startsWith("ERR_DGRAMD_")) {
                            break; // the daemon's own refusal (credentials, size): read by its status below
                        }
                        var md = info.getMetadataMap();
                        return new RpcFailure(new DgramException(info.getReason(),
                                st.getMessage().isEmpty() ? info.getReason() : st.getMessage(),
                                parseInt(md.get("errno")), md.get("syscall"), md.get("address"),
                                parseInt(md.get("port")), null), true, false);
                    } catch (InvalidProtocolBufferException e) {
                        break;
                    }
                }
            }
        }
        Status status = Status.fromThrowable(t);
        String detail = what + ": " + status.getCode() + (status.getDescription() == null ? ""
                : " (" + status.getDescription().lines().findFirst().orElse("") + ")");
        switch (status.getCode()) {
            case UNAVAILABLE:
            case CANCELLED:
                String tls = tlsFailure(t);
                String why = tls != null ? what + ": TLS handshake failed: " + tls
                        : status.getCause() == null ? detail : detail + ": " + text(status.getCause());
                return new RpcFailure(new DgramException(DgramException.ERR_DGRAMD_UNAVAILABLE,
                        "dgramd unavailable: " + why, 0, null, null, 0, t), false, true);
            case UNAUTHENTICATED:
                return new RpcFailure(new DgramException(DgramException.ERR_DGRAMD_UNAUTHENTICATED,
                        "dgramd refused the client's credentials (ClientOptions.token,"
                        + " tlsClientCert): " + detail, 0, null, null, 0, t), false, false);
            case DEADLINE_EXCEEDED:
                return new RpcFailure(new DgramException(DgramException.ERR_DGRAMD_TIMEOUT,
                        "dgramd did not answer in time: " + detail, 0, null, null, 0, t), false, false);
            default:
                return new RpcFailure(new DgramException(DgramException.ERR_DGRAMD_CALL_FAILED,
                        "dgramd call failed: " + detail, 0, null, null, 0, t), false, false);
        }
    }

    /** The message of the TLS error in {@code t}'s causes, or {@code null} when there is none. */
    private static String tlsFailure(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof javax.net.ssl.SSLException) {
                return text(c);
            }
        }
        return null;
    }

    /** An exception's message (its first line), or its class name when it has none. */
    private static String text(Throwable c) {
        return c.getMessage() == null || c.getMessage().isBlank() ? c.getClass().getSimpleName()
                : c.getMessage().lines().findFirst().orElse("");
    }

    /** A daemon's {@code Error} message as an exception. */
    public static DgramException fromProto(dev.dgramd.proto.v1.Error e) {
        String message = e.getMessage().isEmpty() ? e.getCode() : e.getMessage();
        return new DgramException(e.getCode(), message, e.getErrorNumber(), e.getSyscall(), e.getAddress(),
                e.getPort());
    }

    private static int parseInt(String s) {
        if (s == null || s.isEmpty()) {
            return 0;
        }
        try {
            return Integer.parseInt(s.trim());
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    /** ERR_DGRAMD_UNAVAILABLE with a message. */
    public static DgramException unavailable(String message, Throwable cause) {
        return new DgramException(DgramException.ERR_DGRAMD_UNAVAILABLE, message, 0, null, null, 0,
                cause);
    }

    /** ERR_DGRAMD_TIMEOUT for a call. */
    public static DgramException timeout(String what) {
        return new DgramException(DgramException.ERR_DGRAMD_TIMEOUT,
                "dgramd did not answer " + what + " in time");
    }

    /** ERR_DGRAMD_CLIENT_CLOSED. */
    public static DgramException clientClosed() {
        return new DgramException(DgramException.ERR_DGRAMD_CLIENT_CLOSED, "The DgramClient is closed");
    }

    /** ERR_SOCKET_DGRAM_NOT_RUNNING. */
    public static DgramException notRunning() {
        return new DgramException("ERR_SOCKET_DGRAM_NOT_RUNNING", "Not running");
    }

    /** ERR_SOCKET_ALREADY_BOUND. */
    public static DgramException alreadyBound() {
        return new DgramException("ERR_SOCKET_ALREADY_BOUND", "Socket is already bound");
    }

    /** ERR_SOCKET_DGRAM_IS_CONNECTED. */
    public static DgramException isConnected() {
        return new DgramException("ERR_SOCKET_DGRAM_IS_CONNECTED", "Already connected");
    }

    /** ERR_SOCKET_DGRAM_NOT_CONNECTED. */
    public static DgramException notConnected() {
        return new DgramException("ERR_SOCKET_DGRAM_NOT_CONNECTED", "Not connected");
    }

    /** ERR_SOCKET_BAD_PORT, for a port that must be 1..65535 ({@code allowZero=false}) or 0..65535. */
    public static DgramException badPort(String name, int port, boolean allowZero) {
        return new DgramException("ERR_SOCKET_BAD_PORT", name + " should be "
                + (allowZero ? ">=" : ">") + " 0 and < 65536. Received type number (" + port + ").");
    }

    /** ERR_SOCKET_BAD_TYPE. */
    public static DgramException badType() {
        return new DgramException("ERR_SOCKET_BAD_TYPE",
                "Bad socket type specified. Valid types are: udp4, udp6");
    }

    /** ERR_SOCKET_BAD_BUFFER_SIZE. */
    public static DgramException badBufferSize() {
        return new DgramException("ERR_SOCKET_BAD_BUFFER_SIZE", "Buffer size must be a positive integer");
    }

    /** ERR_SOCKET_BUFFER_SIZE for an unbound socket: {@code uv_recv_buffer_size returned EBADF}. */
    public static DgramException bufferSizeUnbound(String which) {
        String syscall = "uv_" + which + "_buffer_size";
        return new DgramException("ERR_SOCKET_BUFFER_SIZE", "Could not get or set buffer size: "
                + syscall + " returned EBADF (bad file descriptor)", UV_EBADF, syscall, null, 0);
    }

    /** A system error EBADF of {@code syscall}: Node's message is {@code "<syscall> EBADF"}. */
    public static DgramException ebadf(String syscall) {
        return new DgramException("EBADF", syscall + " EBADF", UV_EBADF, syscall, null, 0);
    }

    /** EMSGSIZE of send, as Node reports it: {@code send EMSGSIZE 127.0.0.1:12345}. */
    public static DgramException emsgsize(String address, int port) {
        String where = address == null || address.isEmpty() ? "" : " " + address + ":" + port;
        return new DgramException("EMSGSIZE", "send EMSGSIZE" + where, -90, "send", address, port);
    }

    /**
     * ENOBUFS of send, as Node would report it ({@code send ENOBUFS 127.0.0.1:12345}): the client's
     * send window is full and the sender, a listener on the transport's event loop, cannot wait.
     */
    public static DgramException enobufs(String address, int port) {
        String where = address == null || address.isEmpty() ? "" : " " + address + ":" + port;
        return new DgramException("ENOBUFS", "send ENOBUFS" + where + " (the client's send window is full, and a"
                + " listener on the event loop does not wait for room)", -105, "send", address, port);
    }

    /** ERR_DGRAMD_WOULD_BLOCK: {@code what} needs the daemon's answer, which cannot come on the event loop. */
    public static DgramException wouldBlock(String what) {
        String method = Character.toLowerCase(what.charAt(0)) + what.substring(1); // GetRecvBufferSize: the RPC
        return new DgramException(DgramException.ERR_DGRAMD_WOULD_BLOCK, "socket." + method + "() waits for the daemon's answer,"
                + " which cannot arrive while a listener holds the transport's event loop"
                + " (ClientOptions.listenersOnEventLoop): call it from another thread");
    }

    /** ERR_MISSING_ARGS. */
    public static DgramException missingArgs(String name) {
        return new DgramException("ERR_MISSING_ARGS", "The \"" + name + "\" argument must be specified");
    }

    /** ERR_INVALID_ARG_TYPE. */
    public static DgramException invalidArgType(String name, String expected, Object actual) {
        return new DgramException("ERR_INVALID_ARG_TYPE", "The \"" + name + "\" argument must be "
                + expected + ". Received " + (actual == null ? "null" : "an instance of "
                + actual.getClass().getSimpleName()));
    }

    /** ERR_BUFFER_OUT_OF_BOUNDS: {@code "offset"} or {@code "length"}. */
    public static DgramException outOfBounds(String name) {
        return new DgramException("ERR_BUFFER_OUT_OF_BOUNDS",
                "\"" + name + "\" is outside of buffer bounds");
    }
}
