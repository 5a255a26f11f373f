package dev.dgramd.daemon.grpc;

import com.google.protobuf.Any;
import com.google.rpc.ErrorInfo;
import dev.dgramd.daemon.udp.DgramError;
import dev.dgramd.daemon.udp.SystemError;
import dev.dgramd.proto.v1.Error;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import java.util.concurrent.CompletionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Turns {@link DgramError}s into the contract's shapes: a gRPC status with ErrorInfo, or an {@link Error}. */
final class ErrorMapping {
    static final String DOMAIN = "dgramd";
    /**
     * A status travels in HTTP/2 trailers, which peers cap (8 KiB by default): text that echoes
     * user input (a host name, say) is cut to these lengths there. Events carry it whole.
     */
    private static final int MAX_ADDRESS_CHARS = 256;
    private static final int MAX_MESSAGE_CHARS = 1024;
    private static final Logger log = LoggerFactory.getLogger(ErrorMapping.class);

    private ErrorMapping() {
    }

    /** The Node error behind {@code failure}; an unexpected failure becomes EIO (and is logged). */
    static DgramError unwrap(Throwable failure) {
        DgramError e = DgramError.causeOf(failure);
        if (e != null) {
            return e;
        }
        Throwable t = failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
        log.warn("unexpected failure", t);
        return DgramError.system(SystemError.of(t), "unknown", null, 0);
    }

    static StatusRuntimeException toStatus(Throwable failure) {
        DgramError e = unwrap(failure);
        return toStatus(e, statusCode(e));
    }

    /** The status code for {@code e}: by its refusal when dgramd refused it, else by its Node code. */
    static com.google.rpc.Code statusCode(DgramError e) {
        if (e.refusal() == DgramError.Refusal.FORBIDDEN) {
            return com.google.rpc.Code.PERMISSION_DENIED;
        }
        if (e.refusal() == DgramError.Refusal.QUOTA) {
            return com.google.rpc.Code.RESOURCE_EXHAUSTED;
        }
        return statusCode(e.code());
    }

    static StatusRuntimeException toStatus(DgramError e, com.google.rpc.Code code) {
        ErrorInfo.Builder info = ErrorInfo.newBuilder().setReason(e.code()).setDomain(DOMAIN);
        if (e.syscall() != null) {
            info.putMetadata("syscall", e.syscall());
        }
        if (e.errno() != 0) {
            info.putMetadata("errno", Integer.toString(e.errno()));
        }
        if (e.address() != null) {
            info.putMetadata("address", bounded(e.address(), MAX_ADDRESS_CHARS));
        }
        if (e.port() != 0) {
            info.putMetadata("port", Integer.toString(e.port()));
        }
        if (e.rule() != null) {
            info.putMetadata("policy", bounded(e.rule(), MAX_MESSAGE_CHARS));
        }
        com.google.rpc.Status status = com.google.rpc.Status.newBuilder()
                .setCode(code.getNumber())
                .setMessage(bounded(e.getMessage(), MAX_MESSAGE_CHARS))
                .addDetails(Any.pack(info.build()))
                .build();
        return StatusProto.toStatusRuntimeException(status);
    }

    /**
     * A failure of dgramd's own (not of a socket): status {@code code} with an ErrorInfo whose reason
     * is {@code reason} (an ERR_DGRAMD_* code), domain "dgramd", no metadata.
     */
    static StatusRuntimeException daemonStatus(com.google.rpc.Code code, String reason, String message) {
        return StatusProto.toStatusRuntimeException(com.google.rpc.Status.newBuilder()
                .setCode(code.getNumber())
                .setMessage(bounded(message, MAX_MESSAGE_CHARS))
                .addDetails(Any.pack(ErrorInfo.newBuilder().setReason(reason).setDomain(DOMAIN).build()))
                .build());
    }

    /** UNAVAILABLE with ErrorInfo ERR_DGRAMD_RESTARTING: what a stream or call gets while the daemon hands over. */
    static StatusRuntimeException restarting() {
        return toStatus(DgramError.restarting());
    }

    private static String bounded(String text, int max) {
        return text.length() <= max ? text : text.substring(0, max) + "...";
    }

    /** The status code for a Node error code, as the contract lists them. */
    static com.google.rpc.Code statusCode(String nodeCode) {
        switch (nodeCode) {
            case "ERR_SOCKET_BAD_PORT":
            case "ERR_SOCKET_BAD_TYPE":
            case "ERR_INVALID_ARG_VALUE":
            case "ERR_INVALID_ARG_TYPE":
            case "ERR_MISSING_ARGS":
            case "ERR_OUT_OF_RANGE":
            case "ERR_SOCKET_BAD_BUFFER_SIZE":
            case "EINVAL":
            case "EMSGSIZE":
            case "EADDRNOTAVAIL":
            case "EAFNOSUPPORT":
                return com.google.rpc.Code.INVALID_ARGUMENT;
            case "ERR_SOCKET_DGRAM_NOT_RUNNING":
            case "ERR_SOCKET_DGRAM_IS_CONNECTED":
            case "ERR_SOCKET_DGRAM_NOT_CONNECTED":
            case "ERR_SOCKET_ALREADY_BOUND":
            case "ERR_SOCKET_BUFFER_SIZE":
            case "EBADF":
                return com.google.rpc.Code.FAILED_PRECONDITION;
            case "ENOTFOUND":
                return com.google.rpc.Code.NOT_FOUND;
            case "EADDRINUSE":
            case "ERR_EVENTS_ALREADY_ATTACHED":
                return com.google.rpc.Code.ALREADY_EXISTS;
            case "EACCES":
            case "EPERM":
                return com.google.rpc.Code.PERMISSION_DENIED;
            case "ENOBUFS":
            case "EMFILE":
            case "ENFILE":
            case "EAI_AGAIN":
                return com.google.rpc.Code.RESOURCE_EXHAUSTED;
            case "ENOSYS":
            case "ENOPROTOOPT":
                return com.google.rpc.Code.UNIMPLEMENTED;
            case "ENETUNREACH":
            case "EHOSTUNREACH":
            case "ECONNREFUSED":
            case DgramError.RESTARTING:
                return com.google.rpc.Code.UNAVAILABLE;
            default:
                return com.google.rpc.Code.INTERNAL;
        }
    }

    /**
     * The status for a socket id that names no open socket: FAILED_PRECONDITION when it was closed
     * not long ago, NOT_FOUND otherwise; reason ERR_SOCKET_DGRAM_NOT_RUNNING either way.
     */
    static StatusRuntimeException unknownSocket(boolean closed, String socketId) {
        String shown = socketId.length() > 64 ? socketId.substring(0, 64) + "..." : socketId;
        if (closed) {
            return toStatus(DgramError.of("ERR_SOCKET_DGRAM_NOT_RUNNING", "Not running: socket "
                    + shown + " is closed"), com.google.rpc.Code.FAILED_PRECONDITION);
        }
        return toStatus(DgramError.of("ERR_SOCKET_DGRAM_NOT_RUNNING", "Not running: no socket with id '"
                + shown + "'"), com.google.rpc.Code.NOT_FOUND);
    }

    static Error toProto(DgramError e) {
        Error.Builder b = Error.newBuilder().setCode(e.code()).setErrorNumber(e.errno()).setMessage(e.getMessage());
        if (e.syscall() != null) {
            b.setSyscall(e.syscall());
        }
        if (e.address() != null) {
            b.setAddress(e.address());
        }
        b.setPort(Math.max(0, e.port()));
        return b.build();
    }
}
