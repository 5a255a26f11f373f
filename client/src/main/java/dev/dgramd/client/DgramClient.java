package dev.dgramd.client;

import dev.dgramd.client.internal.ClientCore;
import dev.dgramd.client.internal.Errors;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A connection to one dgramd daemon, and the factory of its sockets: the Java side of Node's
 * {@code dgram} module. Connecting is lazy (as gRPC's), and so is a socket (as libuv's): an
 * unreachable daemon shows at a socket's first call (bind, send, connect, ...), which makes the
 * socket emit 'error' ERR_DGRAMD_UNAVAILABLE, then 'close'; so do a failed TLS handshake and
 * (ERR_DGRAMD_UNAUTHENTICATED) a refused token. See {@link ClientOptions} for TLS, tokens and
 * Unix domain sockets.
 *
 * <pre>{@code
 * try (DgramClient dgram = DgramClient.connect("127.0.0.1:50051")) {
 *   Socket server = dgram.createSocket("udp4");
 *   server.on("message", (msg, rinfo) -> ...);
 *   server.bind(41234);
 *   ...
 * }
 * }</pre>
 *
 * <p>Its threads are daemon threads: only ref'd, bound sockets keep the JVM alive (see
 * {@link Socket#ref()}). Thread-safe.
 */
public final class DgramClient implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(DgramClient.class);

    private final ClientCore core;
    private final long closeWaitMillis;
    private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    private DgramClient(ClientOptions options) {
        this.core = new ClientCore(options);
        this.closeWaitMillis = Math.min(options.callTimeout().toMillis(), 5000);
    }

    /** A client of the daemon at {@code target} ({@code "127.0.0.1:50051"}), default options. */
    public static DgramClient connect(String target) {
        return connect(new ClientOptions().target(target));
    }

    /**
     * A client with these options. Reads the TLS files now; the connection itself is made, as
     * always, by the first call.
     *
     * @throws IllegalArgumentException a TLS file that cannot be read or holds no valid PEM
     *     certificate or key (the message names the file); a {@code unix:} target where netty's
     *     epoll transport is missing
     */
    public static DgramClient connect(ClientOptions options) {
        if (options == null) {
            throw Errors.invalidArgType("options", "of type object", null);
        }
        return new DgramClient(options);
    }

    /** The daemon's address. */
    public String target() {
        return core.target();
    }

    /**
     * {@code dgram.createSocket(type)}: see {@link #createSocket(SocketOptions, MessageListener)}.
     * An unreachable daemon (ERR_DGRAMD_UNAVAILABLE, a failed TLS handshake too) or refused
     * credentials (ERR_DGRAMD_UNAUTHENTICATED) show at the socket's first call, as 'error' then
     * 'close'.
     *
     * @param type {@code "udp4"} or {@code "udp6"}
     * @throws DgramException ERR_SOCKET_BAD_TYPE, ERR_DGRAMD_CLIENT_CLOSED
     */
    public Socket createSocket(String type) {
        return createSocket(new SocketOptions().type(type), null);
    }

    /** {@code dgram.createSocket(type, callback)}: {@code onMessage} listens to 'message'. */
    public Socket createSocket(String type, MessageListener onMessage) {
        return createSocket(new SocketOptions().type(type), onMessage);
    }

    /** {@code dgram.createSocket(options)}; see {@link #createSocket(String)}. */
    public Socket createSocket(SocketOptions options) {
        return createSocket(options, null);
    }

    /**
     * {@code dgram.createSocket(options, callback)}: an unbound socket. Returns at once: the daemon
     * makes the socket with its first call (in the same call as the socket's first bind, when that
     * comes first), as libuv makes the system socket at the first bind. A socket closed before any
     * call never reaches the daemon. When the daemon cannot make it (unreachable, credentials
     * refused, a policy quota such as EMFILE), that first call fails: the socket emits 'error'
     * with the reason, then 'close'.
     *
     * @throws DgramException ERR_SOCKET_BAD_TYPE, ERR_SOCKET_BAD_BUFFER_SIZE (negative buffer
     *     size), ERR_DGRAMD_CLIENT_CLOSED
     */
    public Socket createSocket(SocketOptions options, MessageListener onMessage) {
        if (options == null || !("udp4".equals(options.type()) || "udp6".equals(options.type()))) {
            throw Errors.badType();
        }
        if (options.recvBufferSize() < 0 || options.sendBufferSize() < 0) {
            throw Errors.badBufferSize();
        }
        if (closed) {
            throw Errors.clientClosed();
        }
        Socket socket = new Socket(this, core, options, onMessage);
        sockets.add(socket);
        return socket;
    }

    void forget(Socket socket) {
        sockets.remove(socket);
    }

    /**
     * Closes every open socket (waiting, bounded, for their 'close'), then the connection.
     * Idempotent. Called on a listener thread, it does not wait for the sockets.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        List<CompletableFuture<Void>> closing = new ArrayList<>();
        for (Socket s : sockets) {
            closing.add(s.closeAsync());
        }
        if (!closing.isEmpty() && !ClientCore.onListenerThread()) {
            try {
                CompletableFuture.allOf(closing.toArray(new CompletableFuture<?>[0]))
                        .get(closeWaitMillis, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (Exception e) {
                log.debug("not every socket closed in {} ms: {}", closeWaitMillis, e.toString());
            }
        }
        core.shutdown(closeWaitMillis);
    }
}
