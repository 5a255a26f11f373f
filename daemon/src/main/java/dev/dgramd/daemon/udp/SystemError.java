package dev.dgramd.daemon.udp;

import io.netty.channel.unix.Errors;
import java.io.IOException;
import java.net.BindException;
import java.net.NoRouteToHostException;
import java.net.PortUnreachableException;
import java.net.UnknownHostException;
import java.util.Locale;

/** The system errors a UDP socket reports, with Node's (libuv's) errno values on Linux. */
public enum SystemError {
    EPERM(-1, "operation not permitted"),
    EBADF(-9, "bad file descriptor"),
    EACCES(-13, "permission denied"),
    EINVAL(-22, "invalid argument"),
    ENFILE(-23, "file table overflow"),
    EMFILE(-24, "too many open files"),
    ENOSYS(-38, "function not implemented"),
    EMSGSIZE(-90, "message too long"),
    ENOPROTOOPT(-92, "protocol not available"),
    EAFNOSUPPORT(-97, "address family not supported"),
    EADDRINUSE(-98, "address already in use"),
    EADDRNOTAVAIL(-99, "address not available"),
    ENETUNREACH(-101, "network is unreachable"),
    ENOBUFS(-105, "no buffer space available"),
    ECONNREFUSED(-111, "connection refused"),
    EHOSTUNREACH(-113, "host is unreachable"),
    ENOTFOUND(-3008, "getaddrinfo ENOTFOUND"),
    EIO(-5, "i/o error");

    private final int errno;
    private final String description;

    SystemError(int errno, String description) {
        this.errno = errno;
        this.description = description;
    }

    /** Node's (negative) errno. */
    public int errno() {
        return errno;
    }

    /** libuv's description, as in Node's {@code err.info}. */
    public String description() {
        return description;
    }

    /** The system error behind an I/O failure of Netty or the JDK; EIO when it cannot be told. */
    public static SystemError of(Throwable failure) {
        if (failure instanceof Errors.NativeIoException) {
            SystemError byErrno = byErrno(((Errors.NativeIoException) failure).expectedErr());
            if (byErrno != null) {
                return byErrno;
            }
        }
        if (failure instanceof PortUnreachableException) {
            return ECONNREFUSED;
        }
        if (failure instanceof UnknownHostException) {
            return ENOTFOUND;
        }
        if (failure instanceof NoRouteToHostException) {
            return EHOSTUNREACH;
        }
        String text = failure.getMessage() == null ? "" : failure.getMessage().toLowerCase(Locale.ROOT);
        if (text.contains("too many open files in system") || text.contains("file table overflow")) {
            return ENFILE;
        }
        if (text.contains("too many open files")) {
            return EMFILE;
        }
        if (text.contains("already in use")) {
            return EADDRINUSE;
        }
        if (text.contains("cannot assign requested address") || text.contains("not available")) {
            return EADDRNOTAVAIL;
        }
        if (text.contains("permission denied")) {
            return EACCES;
        }
        if (text.contains("operation not permitted")) {
            return EPERM;
        }
        if (text.contains("message too long")) {
            return EMSGSIZE;
        }
        if (text.contains("network is unreachable")) {
            return ENETUNREACH;
        }
        if (text.contains("connection refused")) {
            return ECONNREFUSED;
        }
        if (text.contains("invalid argument")) {
            return EINVAL;
        }
        if (text.contains("no buffer space")) {
            return ENOBUFS;
        }
        if (failure instanceof BindException) {
            return EADDRINUSE;
        }
        if (failure.getCause() != null && failure.getCause() != failure && !(failure instanceof IOException)) {
            return of(failure.getCause());
        }
        return EIO;
    }

    private static SystemError byErrno(int errno) {
        int negative = errno > 0 ? -errno : errno;
        for (SystemError e : values()) {
            if (e.errno == negative) {
                return e;
            }
        }
        return null;
    }
}
