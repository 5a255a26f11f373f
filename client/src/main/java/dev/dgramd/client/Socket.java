package dev.dgramd.client;

import static dev.dgramd.client.Payloads.MAX_UDP_PAYLOAD;
import static dev.dgramd.client.Payloads.buffer;
import static dev.dgramd.client.Payloads.concat;
import static dev.dgramd.client.Payloads.range;
import static dev.dgramd.client.Payloads.utf8;

import dev.dgramd.client.internal.ClientCore;
import dev.dgramd.client.internal.Errors;
import dev.dgramd.client.internal.RemoteSocket;
import dev.dgramd.client.internal.SocketCalls;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Node's {@code dgram.Socket}, whose UDP socket lives in the dgramd daemon. Made by
 * {@link DgramClient#createSocket}. Every method of Node's has the same name and meaning here.
 *
 * <p><b>Events</b> ('listening', 'connect', 'message', 'error', 'close') are delivered to the
 * listeners registered with {@link #on(String, Runnable) on}/{@code once}/... on the socket's
 * listener thread: one thread at a time per socket, in the order the daemon emitted them. By
 * default that is a thread of the client's listener pool, never a gRPC thread, and a slow
 * listener delays only its own socket; with {@link ClientOptions#listenersOnEventLoop} it is the
 * connection's event loop (lower latency; a blocking listener stalls the connection, so there a
 * full send window fails a send with ENOBUFS, setters do not wait and getters that need the
 * daemon throw ERR_DGRAMD_WOULD_BLOCK). Send callbacks run there too.
 * A listener's exception is logged and the next listener runs. An 'error' nobody listens to is
 * logged (Node would crash the process).
 *
 * <p><b>Non-blocking like Node</b>: {@code bind}, {@code connect}, {@code send} and {@code close}
 * check their arguments and the socket's state at once, throwing {@link DgramException} with
 * Node's code, then return; system errors (EADDRINUSE, ENOTFOUND, ...) arrive later as 'error'
 * (or in the send callback). Operations reach the daemon in the order they were called; the
 * first one also makes the socket there (bind, the usual first, in the same call).
 * Remote differences: {@code send} blocks while the client's window of unacknowledged sends is
 * full ({@link ClientOptions#maxPendingSendBytes}); the setters and getters that need an answer
 * ({@code setTTL}, {@code addMembership}, {@code getRecvBufferSize}, ...) wait for the daemon,
 * bounded by {@link ClientOptions#callTimeout} (else ERR_DGRAMD_TIMEOUT).
 *
 * <p>When the daemon goes away or closes the socket on its own, the socket emits 'error' with
 * code {@value DgramException#ERR_DGRAMD_UNAVAILABLE}, then 'close'. When the daemon cannot
 * make the socket at its first call (unreachable, credentials refused, a quota), the socket emits
 * 'error' with the reason, then 'close'.
 *
 * <p>Thread-safe.
 */
public final class Socket implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Socket.class);

    private final DgramClient client;
    private final String type;
    private final RemoteSocket remote;
    private final SocketCalls calls;
    private final Emitter emitter = new Emitter();
    private final SocketState state = new SocketState();
    private final CompletableFuture<Void> closed = new CompletableFuture<>();

    /** After a failed send, on the listener thread: the implicit bind may not have happened. */
    private final Runnable onSendFailure = this::reconcileImplicitBind;

    Socket(DgramClient client, ClientCore core, SocketOptions options, MessageListener onMessage) {
        this.client = client;
        this.type = options.type();
        if (onMessage != null) {
            emitter.add("message", onMessage, false, false);
        }
        this.remote = core.newSocket(SocketCalls.createRequest(options), new Events());
        this.calls = new SocketCalls(remote);
    }

    /** {@code "udp4"} or {@code "udp6"}. */
    public String type() {
        return type;
    }

    // ------------------------------------------------------------------------------------ bind

    /** {@code socket.bind()}: any free port, all interfaces. */
    public Socket bind() {
        return bind(0, null, false, null);
    }

    /** {@code socket.bind(port)}. */
    public Socket bind(int port) {
        return bind(port, null, false, null);
    }

    /** {@code socket.bind(port, address)}. */
    public Socket bind(int port, String address) {
        return bind(port, address, false, null);
    }

    /** {@code socket.bind(callback)}. */
    public Socket bind(Runnable callback) {
        return bind(0, null, false, callback);
    }

    /** {@code socket.bind(port, callback)}. */
    public Socket bind(int port, Runnable callback) {
        return bind(port, null, false, callback);
    }

    /**
     * {@code socket.bind(port, address, callback)}: binds to {@code port} (0: any free port) on
     * {@code address} ({@code null}: all interfaces; a host name is resolved by the daemon). Returns
     * at once; 'listening' follows (and {@code callback}, a once-listener of it that is removed if
     * 'error' comes first), or 'error' (EADDRINUSE, EADDRNOTAVAIL, ENOTFOUND, ...) after which the
     * socket is unbound again and bind may be retried. Sends issued before the bind completes go
     * out after it; if it fails they fail with its error.
     *
     * @throws DgramException ERR_SOCKET_BAD_PORT (port outside 0..65535; Node 20 would wrap it
     *     silently), ERR_SOCKET_DGRAM_NOT_RUNNING (closed), ERR_SOCKET_ALREADY_BOUND (bound, binding,
     *     or implicitly bound by send/connect)
     */
    public Socket bind(int port, String address, Runnable callback) {
        return bind(port, address, false, callback);
    }

    /** {@code socket.bind(options)}. */
    public Socket bind(BindOptions options) {
        return bind(options, null);
    }

    /** {@code socket.bind(options, callback)}; see {@link #bind(int, String, Runnable)}. */
    public Socket bind(BindOptions options, Runnable callback) {
        if (options == null) {
            throw Errors.invalidArgType("options", "of type object", null);
        }
        return bind(options.port(), options.address(), options.exclusive(), callback);
    }

    private Socket bind(int port, String address, boolean exclusive, Runnable callback) {
        if (port < 0 || port > 65535) {
            throw Errors.badPort("Port", port, true);
        }
        state.beginBind();
        if (callback != null) {
            // Node: the callback runs on 'listening', and is dropped if 'error' comes first
            Runnable[] onListening = new Runnable[1];
            ErrorListener[] onError = new ErrorListener[1];
            onError[0] = e -> {
                emitter.remove("error", onError[0]);
                emitter.remove("listening", onListening[0]);
            };
            onListening[0] = () -> {
                emitter.remove("error", onError[0]);
                emitter.remove("listening", onListening[0]);
                callback.run();
            };
            emitter.add("error", onError[0], false, false);
            emitter.add("listening", onListening[0], false, false);
        }
        if (calls.createWithBind(port, address, exclusive)) {
            // The first operation: created and bound in one call; 'listening' or the bind's
            // 'error' comes as an event (Events.onListening, Events.onBindError).
            return this;
        }
        calls.bind(port, address, exclusive, (bound, error, reported) -> {
                    state.bindAnswered(bound, error);
                    if (error != null && !reported) {
                        report(error);
                    }
                });
        return this;
    }

    // --------------------------------------------------------------------------------- connect

    /** {@code socket.connect(port)}: to 127.0.0.1 (udp4) or ::1 (udp6). */
    public void connect(int port) {
        connect(port, null, null);
    }

    /** {@code socket.connect(port, address)}. */
    public void connect(int port, String address) {
        connect(port, address, null);
    }

    /** {@code socket.connect(port, callback)}. */
    public void connect(int port, Runnable callback) {
        connect(port, null, callback);
    }

    /**
     * {@code socket.connect(port, address, callback)}: associates the socket with one peer
     * ({@code address} null: 127.0.0.1 or ::1), binding it first if needed. Returns at once;
     * 'connect' follows (and {@code callback}, a once-listener of it), or 'error' (ENOTFOUND, ...)
     * after which the socket is disconnected and {@code callback} removed. Until 'connect', the
     * socket is not connected: send() still needs a port.
     *
     * @throws DgramException ERR_SOCKET_BAD_PORT (port outside 1..65535),
     *     ERR_SOCKET_DGRAM_IS_CONNECTED (connected or connecting), ERR_SOCKET_DGRAM_NOT_RUNNING
     */
    public void connect(int port, String address, Runnable callback) {
        if (port <= 0 || port > 65535) {
            throw Errors.badPort("Port", port, false);
        }
        state.beginConnect();
        if (callback != null) {
            emitter.add("connect", callback, true, false);
        }
        calls.connect(port, address, (peer, error, reported) -> {
                    state.connectAnswered(peer, error);
                    if (error != null) {
                        if (callback != null) {
                            emitter.remove("connect", callback);
                        }
                        if (!reported) {
                            report(error);
                        }
                        reconcileImplicitBind();
                    }
                });
    }

    /**
     * {@code socket.disconnect()}: forgets the peer (blocking until the daemon did).
     *
     * @throws DgramException ERR_SOCKET_DGRAM_NOT_CONNECTED (not connected, or still connecting),
     *     ERR_SOCKET_DGRAM_NOT_RUNNING
     */
    public void disconnect() {
        state.requireConnected();
        calls.disconnect();
        state.disconnected();
    }

    // ------------------------------------------------------------------------------------ send

    /** {@code socket.send(msg)} on a connected socket. */
    public void send(byte[] msg) {
        send(msg, (SendCallback) null);
    }

    /** {@code socket.send(msg, callback)} on a connected socket. */
    public void send(byte[] msg, SendCallback callback) {
        sendAll(buffer(msg), false, 0, null, callback);
    }

    /** {@code socket.send(msg, port)}: to 127.0.0.1 (udp4) or ::1 (udp6). */
    public void send(byte[] msg, int port) {
        send(msg, port, null, null);
    }

    /** {@code socket.send(msg, port, callback)}. */
    public void send(byte[] msg, int port, SendCallback callback) {
        send(msg, port, null, callback);
    }

    /** {@code socket.send(msg, port, address)}. */
    public void send(byte[] msg, int port, String address) {
        send(msg, port, address, null);
    }

    /**
     * {@code socket.send(msg, port, address, callback)}: sends one datagram to {@code
     * address:port} ({@code address} null or empty: 127.0.0.1 / ::1; a host name is resolved by
     * the daemon), binding the socket first if needed. The array is copied before this returns.
     * {@code callback} gets {@code (null, bytes)} once the kernel took the datagram, or the error
     * (EMSGSIZE, ENOTFOUND, ...); without a callback an error is emitted as 'error'. Blocks while
     * the client's window of unacknowledged sends is full.
     *
     * @throws DgramException ERR_INVALID_ARG_TYPE (msg null), ERR_SOCKET_BAD_PORT (port outside
     *     1..65535 on an unconnected socket), ERR_SOCKET_DGRAM_IS_CONNECTED (port or address given
     *     on a connected socket), ERR_SOCKET_DGRAM_NOT_RUNNING, ERR_DGRAMD_CLIENT_CLOSED
     */
    public void send(byte[] msg, int port, String address, SendCallback callback) {
        sendAll(buffer(msg), true, port, address, callback);
    }

    /** {@code socket.send(msg, offset, length)} on a connected socket. */
    public void send(byte[] msg, int offset, int length) {
        send(msg, offset, length, (SendCallback) null);
    }

    /** {@code socket.send(msg, offset, length, callback)} on a connected socket. */
    public void send(byte[] msg, int offset, int length, SendCallback callback) {
        sendData(range(msg, offset, length), offset, length, false, 0, null, callback);
    }

    /** {@code socket.send(msg, offset, length, port)}. */
    public void send(byte[] msg, int offset, int length, int port) {
        send(msg, offset, length, port, null, null);
    }

    /** {@code socket.send(msg, offset, length, port, address)}. */
    public void send(byte[] msg, int offset, int length, int port, String address) {
        send(msg, offset, length, port, address, null);
    }

    /**
     * {@code socket.send(msg, offset, length, port, address, callback)}: sends {@code
     * msg[offset, offset+length)}; otherwise as {@link #send(byte[], int, String, SendCallback)}.
     *
     * @throws DgramException ERR_BUFFER_OUT_OF_BOUNDS ({@code "offset"} or {@code "length"} outside
     *     the array), and the errors of {@link #send(byte[], int, String, SendCallback)}
     */
    public void send(byte[] msg, int offset, int length, int port, String address,
            SendCallback callback) {
        sendData(range(msg, offset, length), offset, length, true, port, address, callback);
    }

    /** {@code socket.send([buf1, buf2, ...])} on a connected socket. */
    public void send(List<byte[]> msg) {
        send(msg, (SendCallback) null);
    }

    /** {@code socket.send([buf1, buf2, ...], callback)} on a connected socket. */
    public void send(List<byte[]> msg, SendCallback callback) {
        sendAll(concat(msg), false, 0, null, callback);
    }

    /** {@code socket.send([buf1, buf2, ...], port)}. */
    public void send(List<byte[]> msg, int port) {
        send(msg, port, null, null);
    }

    /** {@code socket.send([buf1, buf2, ...], port, callback)}. */
    public void send(List<byte[]> msg, int port, SendCallback callback) {
        send(msg, port, null, callback);
    }

    /** {@code socket.send([buf1, buf2, ...], port, address)}. */
    public void send(List<byte[]> msg, int port, String address) {
        send(msg, port, address, null);
    }

    /**
     * {@code socket.send([buf1, buf2, ...], port, address, callback)}: the buffers, concatenated,
     * as one datagram (an empty list sends an empty datagram); otherwise as
     * {@link #send(byte[], int, String, SendCallback)}.
     *
     * @throws DgramException ERR_INVALID_ARG_TYPE (the list or an element is null)
     */
    public void send(List<byte[]> msg, int port, String address, SendCallback callback) {
        sendAll(concat(msg), true, port, address, callback);
    }

    /** {@code socket.send(string)} on a connected socket (UTF-8). */
    public void send(String msg) {
        send(msg, (SendCallback) null);
    }

    /** {@code socket.send(string, callback)} on a connected socket (UTF-8). */
    public void send(String msg, SendCallback callback) {
        sendAll(utf8(msg), false, 0, null, callback);
    }

    /** {@code socket.send(string, port)} (UTF-8). */
    public void send(String msg, int port) {
        send(msg, port, null, null);
    }

    /** {@code socket.send(string, port, callback)} (UTF-8). */
    public void send(String msg, int port, SendCallback callback) {
        send(msg, port, null, callback);
    }

    /** {@code socket.send(string, port, address)} (UTF-8). */
    public void send(String msg, int port, String address) {
        send(msg, port, address, null);
    }

    /** {@code socket.send(string, port, address, callback)}: the UTF-8 bytes of {@code msg}. */
    public void send(String msg, int port, String address, SendCallback callback) {
        sendAll(utf8(msg), true, port, address, callback);
    }

    /**
     * {@code socket.send(string, offset, length, port, address, callback)}: offset and length
     * count bytes of the UTF-8 encoding, as in Node.
     */
    public void send(String msg, int offset, int length, int port, String address,
            SendCallback callback) {
        sendData(range(utf8(msg), offset, length), offset, length, true, port, address, callback);
    }

    /** {@code socket.send(string, offset, length)} on a connected socket (byte offsets). */
    public void send(String msg, int offset, int length) {
        send(msg, offset, length, (SendCallback) null);
    }

    /** {@code socket.send(string, offset, length, port)} (byte offsets of the UTF-8 encoding). */
    public void send(String msg, int offset, int length, int port) {
        send(msg, offset, length, port, null, null);
    }

    /** {@code socket.send(string, offset, length, port, address)} (byte offsets). */
    public void send(String msg, int offset, int length, int port, String address) {
        send(msg, offset, length, port, address, null);
    }

    /** {@code socket.send(string, offset, length, callback)} on a connected socket. */
    public void send(String msg, int offset, int length, SendCallback callback) {
        sendData(range(utf8(msg), offset, length), offset, length, false, 0, null, callback);
    }

    private void sendAll(byte[] data, boolean destination, int port, String address, SendCallback callback) {
        sendData(data, 0, data.length, destination, port, address, callback);
    }

    /** Sends {@code data[offset, offset+length)}, copied before this returns. */
    private void sendData(byte[] data, int offset, int length, boolean destination, int port, String address,
            SendCallback callback) {
        boolean oversized = length > MAX_UDP_PAYLOAD;
        SocketState.Send send = state.prepareSend(destination, port, address, oversized);
        if (oversized) {
            // no UDP datagram is that big: answer as the kernel would, without shipping it
            DgramException e = send.emsgsize();
            remote.dispatch(() -> {
                if (callback != null) {
                    callback.done(e, 0);
                } else if (!state.isClosing()) {
                    emitError(e);
                }
            });
            return;
        }
        remote.send(data, offset, length, send.port(), send.address(), callback, onSendFailure, send.whileBinding());
    }

    // ----------------------------------------------------------------------------------- close

    /**
     * {@code socket.close()}: stops receiving and closes the socket in the daemon, after the
     * operations already issued (earlier sends still go out). 'close' follows. Events other than
     * 'close' are no longer delivered. Returns nothing, unlike Node's, because {@link
     * AutoCloseable#close()} is void; {@link #close(Runnable)} returns the socket.
     *
     * @throws DgramException ERR_SOCKET_DGRAM_NOT_RUNNING when already closed
     */
    @Override
    public void close() {
        close(null);
    }

    /**
     * {@code socket.close(callback)}: as {@link #close()}, {@code callback} listening to 'close'
     * (added even when this throws, as in Node).
     *
     * @return this socket
     * @throws DgramException ERR_SOCKET_DGRAM_NOT_RUNNING when already closed
     */
    public Socket close(Runnable callback) {
        if (callback != null) {
            emitter.add("close", callback, false, false);
        }
        state.beginClose();
        remote.close();
        return this;
    }

    /**
     * {@code socket[Symbol.asyncDispose]()}: closes the socket unless already closed; the future
     * completes once 'close' was emitted (at once if it was). Never throws.
     */
    public CompletableFuture<Void> closeAsync() {
        if (state.beginCloseIfOpen()) {
            remote.close();
        }
        return closed.copy();
    }

    // --------------------------------------------------------------------------------- queries

    /**
     * {@code socket.address()}: the bound address, known locally since 'listening'.
     *
     * @throws DgramException EBADF (syscall getsockname) when not bound yet,
     *     ERR_SOCKET_DGRAM_NOT_RUNNING when closed
     */
    public AddressInfo address() {
        return state.address();
    }

    /**
     * {@code socket.remoteAddress()}: the peer, known locally since 'connect'.
     *
     * @throws DgramException ERR_SOCKET_DGRAM_NOT_CONNECTED, ERR_SOCKET_DGRAM_NOT_RUNNING
     */
    public AddressInfo remoteAddress() {
        return state.remoteAddress();
    }

    /**
     * {@code socket.setBroadcast(flag)}: SO_BROADCAST.
     *
     * @throws DgramException EBADF when not bound, ERR_SOCKET_DGRAM_NOT_RUNNING
     */
    public void setBroadcast(boolean flag) {
        state.requireBound("setBroadcast");
        calls.setBroadcast(flag);
    }

    /**
     * {@code socket.setTTL(ttl)}: IP_TTL, 1..255.
     *
     * @return the TTL now in force
     * @throws DgramException EINVAL (syscall setTTL) outside 1..255, EBADF when not bound,
     *     ERR_SOCKET_DGRAM_NOT_RUNNING
     */
    public int setTTL(int ttl) {
        state.requireBound("setTTL");
        return calls.setTtl(ttl);
    }

    /**
     * {@code socket.setMulticastTTL(ttl)}: IP_MULTICAST_TTL, 0..255.
     *
     * @return the TTL now in force
     * @throws DgramException EINVAL (syscall setMulticastTTL) outside 0..255, EBADF when not bound,
     *     ERR_SOCKET_DGRAM_NOT_RUNNING
     */
    public int setMulticastTTL(int ttl) {
        state.requireBound("setMulticastTTL");
        return calls.setMulticastTtl(ttl);
    }

    /**
     * {@code socket.setMulticastLoopback(flag)}: IP_MULTICAST_LOOP.
     *
     * @return the flag now in force
     * @throws DgramException EBADF when not bound, ERR_SOCKET_DGRAM_NOT_RUNNING
     */
    public boolean setMulticastLoopback(boolean flag) {
        state.requireBound("setMulticastLoopback");
        return calls.setMulticastLoopback(flag);
    }

    /**
     * {@code socket.setMulticastInterface(interface)}: IPv4: the interface's address ("0.0.0.0":
     * the system's choice); IPv6: {@code "::%ifname"}.
     *
     * @throws DgramException ERR_INVALID_ARG_TYPE (null), EINVAL, EADDRNOTAVAIL, EBADF when not
     *     bound, ERR_SOCKET_DGRAM_NOT_RUNNING
     */
    public void setMulticastInterface(String multicastInterface) {
        state.requireOpen();
        if (multicastInterface == null) {
            throw Errors.invalidArgType("interfaceAddress", "of type string", null);
        }
        state.requireBound("setMulticastInterface");
        calls.setMulticastInterface(multicastInterface);
    }

    /** {@code socket.addMembership(multicastAddress)}: the system chooses the interface. */
    public void addMembership(String multicastAddress) {
        addMembership(multicastAddress, null);
    }

    /**
     * {@code socket.addMembership(multicastAddress, multicastInterface)}: joins a group, binding
     * the socket first if needed.
     *
     * @throws DgramException ERR_MISSING_ARGS (no group), EINVAL (not a multicast address),
     *     EADDRINUSE (already joined), EADDRNOTAVAIL, ERR_SOCKET_DGRAM_NOT_RUNNING
     */
    public void addMembership(String multicastAddress, String multicastInterface) {
        String iface = membershipInterface(multicastAddress, multicastInterface);
        calls.membership(true, multicastAddress, iface);
        state.boundImplicitly();
    }

    /** {@code socket.dropMembership(multicastAddress)}. */
    public void dropMembership(String multicastAddress) {
        dropMembership(multicastAddress, null);
    }

    /**
     * {@code socket.dropMembership(multicastAddress, multicastInterface)}: leaves a group.
     *
     * @throws DgramException ERR_MISSING_ARGS, EADDRNOTAVAIL (not joined), EINVAL,
     *     ERR_SOCKET_DGRAM_NOT_RUNNING
     */
    public void dropMembership(String multicastAddress, String multicastInterface) {
        String iface = membershipInterface(multicastAddress, multicastInterface);
        calls.membership(false, multicastAddress, iface);
    }

    /** {@code socket.addSourceSpecificMembership(sourceAddress, groupAddress)}. */
    public void addSourceSpecificMembership(String sourceAddress, String groupAddress) {
        addSourceSpecificMembership(sourceAddress, groupAddress, null);
    }

    /**
     * {@code socket.addSourceSpecificMembership(sourceAddress, groupAddress, multicastInterface)}:
     * joins a source-specific group, binding the socket first if needed.
     *
     * @throws DgramException ERR_INVALID_ARG_TYPE (source or group null), EINVAL,
     *     ERR_SOCKET_DGRAM_NOT_RUNNING
     */
    public void addSourceSpecificMembership(String sourceAddress, String groupAddress,
            String multicastInterface) {
        String iface = ssmInterface(sourceAddress, groupAddress, multicastInterface);
        calls.sourceSpecificMembership(true, sourceAddress, groupAddress, iface);
        state.boundImplicitly();
    }

    /** {@code socket.dropSourceSpecificMembership(sourceAddress, groupAddress)}. */
    public void dropSourceSpecificMembership(String sourceAddress, String groupAddress) {
        dropSourceSpecificMembership(sourceAddress, groupAddress, null);
    }

    /**
     * {@code socket.dropSourceSpecificMembership(sourceAddress, groupAddress, multicastInterface)}.
     *
     * @throws DgramException ERR_INVALID_ARG_TYPE (source or group null), EINVAL, EADDRNOTAVAIL,
     *     ERR_SOCKET_DGRAM_NOT_RUNNING
     */
    public void dropSourceSpecificMembership(String sourceAddress, String groupAddress,
            String multicastInterface) {
        String iface = ssmInterface(sourceAddress, groupAddress, multicastInterface);
        calls.sourceSpecificMembership(false, sourceAddress, groupAddress, iface);
    }

    /** Checks a membership call's arguments; returns the interface address to send ("" for none). */
    private String membershipInterface(String multicastAddress, String multicastInterface) {
        state.requireOpen();
        if (multicastAddress == null || multicastAddress.isEmpty()) {
            throw Errors.missingArgs("multicastAddress");
        }
        return multicastInterface == null ? "" : multicastInterface;
    }

    /** Checks a source-specific membership call's arguments; returns the interface address to send. */
    private String ssmInterface(String source, String group, String iface) {
        state.requireOpen();
        if (source == null) {
            throw Errors.invalidArgType("sourceAddress", "of type string", null);
        }
        if (group == null) {
            throw Errors.invalidArgType("groupAddress", "of type string", null);
        }
        return iface == null ? "" : iface;
    }

    /**
     * {@code socket.getRecvBufferSize()}: SO_RCVBUF in bytes.
     *
     * @throws DgramException ERR_SOCKET_BUFFER_SIZE when not bound, ERR_SOCKET_DGRAM_NOT_RUNNING
     */
    public int getRecvBufferSize() {
        return getBufferSize("recv");
    }

    /**
     * {@code socket.getSendBufferSize()}: SO_SNDBUF in bytes.
     *
     * @throws DgramException ERR_SOCKET_BUFFER_SIZE when not bound, ERR_SOCKET_DGRAM_NOT_RUNNING
     */
    public int getSendBufferSize() {
        return getBufferSize("send");
    }

    /**
     * {@code socket.setRecvBufferSize(size)}: SO_RCVBUF (Linux doubles it); 0 changes nothing, as
     * in Node.
     *
     * @throws DgramException ERR_SOCKET_BAD_BUFFER_SIZE (negative), ERR_SOCKET_BUFFER_SIZE (not
     *     bound, or refused), ERR_SOCKET_DGRAM_NOT_RUNNING
     */
    public void setRecvBufferSize(int size) {
        setBufferSize("recv", size);
    }

    /**
     * {@code socket.setSendBufferSize(size)}: SO_SNDBUF (Linux doubles it); 0 changes nothing.
     *
     * @throws DgramException ERR_SOCKET_BAD_BUFFER_SIZE (negative), ERR_SOCKET_BUFFER_SIZE (not
     *     bound, or refused), ERR_SOCKET_DGRAM_NOT_RUNNING
     */
    public void setSendBufferSize(int size) {
        setBufferSize("send", size);
    }

    private int getBufferSize(String which) {
        state.requireBoundForBufferSize(which);
        return calls.bufferSize(!"recv".equals(which));
    }

    private void setBufferSize(String which, int size) {
        if (size < 0) {
            throw Errors.badBufferSize();
        }
        state.requireBoundForBufferSize(which);
        if (size == 0) {
            return;
        }
        calls.setBufferSize(!"recv".equals(which), size);
    }

    /**
     * {@code socket.getSendQueueSize()}: payload bytes this socket handed to send() that the daemon
     * has not answered yet (queued in the client, or in flight). Node counts the bytes libuv has
     * not yet handed to the kernel; here the queue is the client's.
     */
    public long getSendQueueSize() {
        return remote.queuedBytes();
    }

    /** {@code socket.getSendQueueCount()}: the datagrams counted by {@link #getSendQueueSize()}. */
    public long getSendQueueCount() {
        return remote.queuedCount();
    }

    /**
     * dgramd extension: how many 'message' events the daemon dropped for this socket: because its
     * listeners fell behind (more than {@link ClientOptions#eventBatchesInFlight} batches waiting),
     * or because the daemon's event budget was full. {@link #dropped()} breaks it down and adds the
     * datagrams the kernel dropped. Node has no such bound: its process would buffer without limit.
     */
    public long droppedMessages() {
        return remote.droppedMessages();
    }

    /**
     * dgramd extension: every datagram lost on its way to this socket's 'message' listeners, by
     * where: the daemon host's kernel, the daemon's budget, or the daemon for these listeners
     * ({@code daemon() + listeners() == droppedMessages()}). Node reports none of these.
     */
    public DroppedMessages dropped() {
        long budget = remote.droppedMessagesBudget(); // first: the total is counted before its part
        long all = remote.droppedMessages();
        return new DroppedMessages(remote.droppedMessagesKernel(), budget, all - budget);
    }

    // ------------------------------------------------------------------------------- ref/unref

    /**
     * {@code socket.ref()}: the socket keeps the JVM alive again while bound and open (the
     * default). Idempotent.
     */
    public Socket ref() {
        state.ref(true);
        return this;
    }

    /**
     * {@code socket.unref()}: the socket no longer keeps the JVM alive: the JVM may exit while it
     * is still bound, as a Node process may. Idempotent.
     */
    public Socket unref() {
        state.ref(false);
        return this;
    }

    // -------------------------------------------------------------------------- EventEmitter

    /** {@code socket.on(event, listener)} for 'listening', 'connect', 'close' (or any event). */
    public Socket on(String event, Runnable listener) {
        emitter.add(event, listener, false, false);
        return this;
    }

    /** {@code socket.on('error', listener)}. */
    public Socket on(String event, ErrorListener listener) {
        emitter.add(event, listener, false, false);
        return this;
    }

    /** {@code socket.on('message', listener)}. */
    public Socket on(String event, MessageListener listener) {
        emitter.add(event, listener, false, false);
        return this;
    }

    /** {@code socket.addListener(event, listener)}: same as {@link #on(String, Runnable)}. */
    public Socket addListener(String event, Runnable listener) {
        return on(event, listener);
    }

    /** {@code socket.addListener('error', listener)}. */
    public Socket addListener(String event, ErrorListener listener) {
        return on(event, listener);
    }

    /** {@code socket.addListener('message', listener)}. */
    public Socket addListener(String event, MessageListener listener) {
        return on(event, listener);
    }

    /** {@code socket.once(event, listener)}: removed before its first call. */
    public Socket once(String event, Runnable listener) {
        emitter.add(event, listener, true, false);
        return this;
    }

    /** {@code socket.once('error', listener)}. */
    public Socket once(String event, ErrorListener listener) {
        emitter.add(event, listener, true, false);
        return this;
    }

    /** {@code socket.once('message', listener)}. */
    public Socket once(String event, MessageListener listener) {
        emitter.add(event, listener, true, false);
        return this;
    }

    /** {@code socket.prependListener(event, listener)}: called before the others. */
    public Socket prependListener(String event, Runnable listener) {
        emitter.add(event, listener, false, true);
        return this;
    }

    /** {@code socket.prependListener('error', listener)}. */
    public Socket prependListener(String event, ErrorListener listener) {
        emitter.add(event, listener, false, true);
        return this;
    }

    /** {@code socket.prependListener('message', listener)}. */
    public Socket prependListener(String event, MessageListener listener) {
        emitter.add(event, listener, false, true);
        return this;
    }

    /** {@code socket.prependOnceListener(event, listener)}. */
    public Socket prependOnceListener(String event, Runnable listener) {
        emitter.add(event, listener, true, true);
        return this;
    }

    /** {@code socket.prependOnceListener('error', listener)}. */
    public Socket prependOnceListener(String event, ErrorListener listener) {
        emitter.add(event, listener, true, true);
        return this;
    }

    /** {@code socket.prependOnceListener('message', listener)}. */
    public Socket prependOnceListener(String event, MessageListener listener) {
        emitter.add(event, listener, true, true);
        return this;
    }

    /** {@code socket.removeListener(event, listener)}: the latest registration of it. */
    public Socket removeListener(String event, Runnable listener) {
        emitter.remove(event, listener);
        return this;
    }

    /** {@code socket.removeListener('error', listener)}. */
    public Socket removeListener(String event, ErrorListener listener) {
        emitter.remove(event, listener);
        return this;
    }

    /** {@code socket.removeListener('message', listener)}. */
    public Socket removeListener(String event, MessageListener listener) {
        emitter.remove(event, listener);
        return this;
    }

    /** {@code socket.off(event, listener)}: same as removeListener. */
    public Socket off(String event, Runnable listener) {
        return removeListener(event, listener);
    }

    /** {@code socket.off('error', listener)}. */
    public Socket off(String event, ErrorListener listener) {
        return removeListener(event, listener);
    }

    /** {@code socket.off('message', listener)}. */
    public Socket off(String event, MessageListener listener) {
        return removeListener(event, listener);
    }

    /** {@code socket.removeAllListeners()}. */
    public Socket removeAllListeners() {
        emitter.removeAll(null);
        return this;
    }

    /** {@code socket.removeAllListeners(event)}. */
    public Socket removeAllListeners(String event) {
        emitter.removeAll(event);
        return this;
    }

    /** {@code socket.listenerCount(event)}. */
    public int listenerCount(String event) {
        return emitter.count(event);
    }

    /**
     * {@code socket.emit(event)}: calls the listeners of {@code event} now, on the calling thread.
     *
     * @return whether there were listeners
     */
    public boolean emit(String event) {
        return emitter.emit(event, true);
    }

    /**
     * {@code socket.emit('error', err)}. As in Node, with no 'error' listener {@code err} is
     * thrown.
     */
    public boolean emit(String event, DgramException error) {
        boolean had = emitter.emit(event, true, error);
        if (!had && "error".equals(event) && error != null) {
            throw error;
        }
        return had;
    }

    /** {@code socket.emit('message', msg, rinfo)}. */
    public boolean emit(String event, byte[] msg, RemoteInfo rinfo) {
        return emitter.emit(event, true, msg, rinfo);
    }

    @Override
    public String toString() {
        return "Socket{" + type + ", " + state + "}";
    }

    // ------------------------------------------------------------------------------- internals

    /**
     * A send or connect that was to bind the socket implicitly failed: whether the daemon bound it
     * cannot be told from here ('listening' comes on another stream, if at all), so ask it, in
     * order, rather than stay 'binding' forever. A 'listening' that arrives later wins anyway.
     */
    private void reconcileImplicitBind() {
        if (state.beginReconcile()) {
            calls.address((bound, error, reported) -> state.reconcileAnswered(bound, error));
        }
    }

    /** Emits an error the daemon did not emit itself, in order, unless the socket is closing. */
    private void report(DgramException error) {
        if ("ERR_SOCKET_DGRAM_NOT_RUNNING".equals(error.code())) {
            return; // the socket is gone: its event stream says so
        }
        remote.dispatch(() -> {
            if (!state.isClosing()) {
                emitError(error);
            }
        });
    }

    private void emitError(DgramException error) {
        if (!emitter.emit("error", false, error)) {
            log.warn("unhandled 'error' event on dgram socket {}", remote.id(), error);
        }
    }

    /** The daemon's events, on the listener thread. */
    private final class Events implements RemoteSocket.Events {
        @Override
        public void onListening(AddressInfo address) {
            if (state.listening(address)) {
                emitter.emit("listening", false);
            }
        }

        @Override
        public void onConnect(AddressInfo remoteInfo) {
            if (state.connected(remoteInfo)) {
                emitter.emit("connect", false);
            }
        }

        @Override
        public void onMessage(byte[] data, RemoteInfo rinfo) {
            if (!state.isClosing()) {
                emitter.emitMessage(data, rinfo);
            }
        }

        @Override
        public void onError(DgramException error) {
            if (!state.isClosing()) {
                emitError(error);
            }
        }

        @Override
        public void onBindError(DgramException error) {
            // The listeners see the socket unbound, as after a failed bind in Node.
            if (state.bindFailed()) {
                emitError(error);
            }
        }

        @Override
        public void onClose() {
            state.closed();
            try {
                emitter.emit("close", false);
            } finally {
                closed.complete(null);
                client.forget(Socket.this);
            }
        }
    }
}
