package dev.dgramd.client;

import dev.dgramd.client.internal.Errors;
import dev.dgramd.client.internal.KeepAlive;

/**
 * The local mirror of one {@link Socket}'s lifecycle, with Node's rules: whether it is bound,
 * connected, closing, ref'd, and its local and peer addresses. The daemon owns the real socket;
 * this is what the client knows of it, kept so that a call can be refused (or accepted) at once,
 * with Node's error, without asking the daemon. It also owns the socket's share of the
 * {@link KeepAlive}: held while ref'd, bound or binding, and 'close' not yet emitted.
 *
 * <p>Thread-safe: every method takes the one lock once, and none calls out of this class while
 * holding it (but for {@link KeepAlive#hold}, which only counts). The {@code require*} and
 * {@code begin*} methods check and transition in that one acquisition, so two racing callers
 * cannot both pass.
 *
 * <p>The transitions:
 * <ul>
 *   <li>Bind: UNBOUND &rarr; BINDING by {@link #beginBind()} (explicitly), or by
 *       {@link #prepareSend}, {@link #beginConnect()} and {@link #boundImplicitly()} (implicitly:
 *       the daemon binds it first). BINDING &rarr; BOUND by {@link #listening} (the daemon's
 *       'listening', which always wins), {@link #bindAnswered} or {@link #reconcileAnswered};
 *       BINDING &rarr; UNBOUND by a failed explicit bind ({@link #bindAnswered},
 *       {@link #bindFailed()}) or by a reconcile that finds it unbound (EBADF).</li>
 *   <li>Connect: DISCONNECTED &rarr; CONNECTING by {@link #beginConnect()}; CONNECTING &rarr;
 *       CONNECTED by {@link #connected} or a successful {@link #connectAnswered}, back to
 *       DISCONNECTED by a failed one; CONNECTED &rarr; DISCONNECTED by {@link #disconnected()}.</li>
 *   <li>Close: open &rarr; closing by {@link #beginClose()} / {@link #beginCloseIfOpen()} or
 *       {@link #closed()} (the daemon's 'close', which also releases the keep-alive). Closing is
 *       final; while closing, events other than 'close' are not emitted ({@link #isClosing()}).</li>
 * </ul>
 *
 * <p>The errors (made by {@link Errors}): ERR_SOCKET_DGRAM_NOT_RUNNING when closing (every
 * {@code require*}/{@code begin*} and {@link #prepareSend}), ERR_SOCKET_ALREADY_BOUND
 * ({@link #beginBind()}), ERR_SOCKET_DGRAM_IS_CONNECTED ({@link #beginConnect()}, and
 * {@link #prepareSend} with a destination on a connected socket), ERR_SOCKET_DGRAM_NOT_CONNECTED
 * ({@link #requireConnected()}, {@link #remoteAddress()}), ERR_SOCKET_BAD_PORT
 * ({@link #prepareSend} on an unconnected socket), EBADF ({@link #requireBound},
 * {@link #address()}), ERR_SOCKET_BUFFER_SIZE ({@link #requireBoundForBufferSize}). Where a
 * method checks more than one, it checks them in the order Node does, as listed on the method.
 */
final class SocketState {
    enum Bind { UNBOUND, BINDING, BOUND }

    enum Connect { DISCONNECTED, CONNECTING, CONNECTED }

    /**
     * What a send needs, read in the same acquisition that accepted it.
     *
     * @param connected whether the socket is connected (the datagram goes to its peer)
     * @param port the destination port (0 when connected)
     * @param address the destination address (null when connected: the peer's)
     * @param peer the peer when connected (null if unknown or not connected)
     */
    record Send(boolean connected, int port, String address, AddressInfo peer, boolean whileBinding) {
        /** EMSGSIZE as the kernel would report it for this destination. */
        DgramException emsgsize() {
            if (connected) {
                return peer == null ? Errors.emsgsize(null, 0)
                        : Errors.emsgsize(peer.address(), peer.port());
            }
            return Errors.emsgsize(address, port);
        }
    }

    private final Object lock = new Object();
    private final KeepAlive keepAlive = new KeepAlive();
    private Bind bind = Bind.UNBOUND; // guarded by lock
    private Connect connect = Connect.DISCONNECTED; // guarded by lock
    private boolean closing; // close() called or the socket is gone; guarded by lock
    private boolean closeEmitted; // guarded by lock
    private boolean refed = true; // guarded by lock
    private AddressInfo localAddress; // guarded by lock
    private AddressInfo peerAddress; // guarded by lock
    private boolean implicitBind; // BINDING because send/connect/addMembership binds; guarded by lock
    private boolean reconciling; // an Address query checks an implicit bind; guarded by lock
    private boolean holding; // what keepAlive was last told; guarded by lock
    /** What prepareSend returned last: most sends repeat it, and get it again. Guarded by lock. */
    private Send lastSend;

    // ------------------------------------------------------------------------------------ bind

    /**
     * {@code bind()} called: UNBOUND &rarr; BINDING (explicit).
     *
     * @throws DgramException ERR_SOCKET_DGRAM_NOT_RUNNING (closing), then ERR_SOCKET_ALREADY_BOUND
     *     (bound, binding, or implicitly binding)
     */
    void beginBind() {
        synchronized (lock) {
            if (closing) {
                throw Errors.notRunning();
            }
            if (bind != Bind.UNBOUND) {
                throw Errors.alreadyBound();
            }
            bind = Bind.BINDING;
            implicitBind = false;
            updateKeepAlive();
        }
    }

    /**
     * The daemon answered a bind (made by {@link #beginBind()}): if still BINDING, BOUND at
     * {@code bound} (when given) or, on {@code error}, UNBOUND again.
     */
    void bindAnswered(AddressInfo bound, DgramException error) {
        synchronized (lock) {
            if (bind != Bind.BINDING) {
                return;
            }
            if (error == null) {
                bind = Bind.BOUND;
                if (bound != null) {
                    localAddress = bound;
                }
            } else {
                bind = Bind.UNBOUND;
            }
            updateKeepAlive();
        }
    }

    /** A call that binds an unbound socket in the daemon succeeded: UNBOUND &rarr; BINDING (implicit). */
    void boundImplicitly() {
        synchronized (lock) {
            beginImplicitBind();
        }
    }

    /**
     * The daemon's 'listening': BOUND at {@code address}, whatever came before.
     *
     * @return whether to emit it (false once closing)
     */
    boolean listening(AddressInfo address) {
        synchronized (lock) {
            bind = Bind.BOUND;
            implicitBind = false;
            localAddress = address;
            updateKeepAlive();
            return !closing;
        }
    }

    /**
     * The daemon's bind error event: an explicit bind in progress is UNBOUND again, as after a
     * failed bind in Node (an implicit one stays BINDING until reconciled or 'listening').
     *
     * @return whether to emit the error (false once closing; then nothing changes)
     */
    boolean bindFailed() {
        synchronized (lock) {
            if (closing) {
                return false;
            }
            if (bind == Bind.BINDING && !implicitBind) {
                bind = Bind.UNBOUND;
                updateKeepAlive();
            }
            return true;
        }
    }

    /**
     * A send or connect that was to bind implicitly failed: whether to ask the daemon if it bound
     * the socket (implicitly BINDING, open, and no such query already out). When true, the caller
     * must report the answer to {@link #reconcileAnswered}.
     */
    boolean beginReconcile() {
        synchronized (lock) {
            if (bind != Bind.BINDING || !implicitBind || reconciling || closing) {
                return false;
            }
            reconciling = true;
            return true;
        }
    }

    /**
     * The answer to the query of {@link #beginReconcile()}: if still implicitly BINDING, BOUND at
     * {@code bound}, or UNBOUND on EBADF; any other error leaves it BINDING ('listening' may come).
     */
    void reconcileAnswered(AddressInfo bound, DgramException error) {
        synchronized (lock) {
            reconciling = false;
            if (bind != Bind.BINDING || !implicitBind) {
                return;
            }
            if (error == null && bound != null) {
                bind = Bind.BOUND;
                localAddress = bound;
            } else if (error != null && "EBADF".equals(error.code())) {
                bind = Bind.UNBOUND;
                implicitBind = false;
            }
            updateKeepAlive();
        }
    }

    // --------------------------------------------------------------------------------- connect

    /**
     * {@code connect()} called: DISCONNECTED &rarr; CONNECTING, and UNBOUND &rarr; BINDING
     * (implicit).
     *
     * @throws DgramException ERR_SOCKET_DGRAM_IS_CONNECTED (connected or connecting), then
     *     ERR_SOCKET_DGRAM_NOT_RUNNING
     */
    void beginConnect() {
        synchronized (lock) {
            if (connect != Connect.DISCONNECTED) {
                throw Errors.isConnected();
            }
            if (closing) {
                throw Errors.notRunning();
            }
            connect = Connect.CONNECTING;
            beginImplicitBind();
        }
    }

    /**
     * The daemon answered a connect: if still CONNECTING, CONNECTED to {@code peer} (when given)
     * or, on {@code error}, DISCONNECTED.
     */
    void connectAnswered(AddressInfo peer, DgramException error) {
        synchronized (lock) {
            if (connect != Connect.CONNECTING) {
                return;
            }
            if (error == null) {
                connect = Connect.CONNECTED;
                if (peer != null) {
                    peerAddress = peer;
                }
            } else {
                connect = Connect.DISCONNECTED;
            }
        }
    }

    /**
     * The daemon's 'connect': CONNECTED to {@code peer}, whatever came before.
     *
     * @return whether to emit it (false once closing)
     */
    boolean connected(AddressInfo peer) {
        synchronized (lock) {
            connect = Connect.CONNECTED;
            peerAddress = peer;
            return !closing;
        }
    }

    /**
     * Checks that {@code disconnect()} may go ahead.
     *
     * @throws DgramException ERR_SOCKET_DGRAM_NOT_CONNECTED (not connected, or still connecting),
     *     then ERR_SOCKET_DGRAM_NOT_RUNNING
     */
    void requireConnected() {
        synchronized (lock) {
            if (connect != Connect.CONNECTED) {
                throw Errors.notConnected();
            }
            if (closing) {
                throw Errors.notRunning();
            }
        }
    }

    /** The daemon forgot the peer: DISCONNECTED. */
    void disconnected() {
        synchronized (lock) {
            connect = Connect.DISCONNECTED;
            peerAddress = null;
        }
    }

    // ------------------------------------------------------------------------------------ send

    /**
     * A send is accepted: checks its destination against the state, and an unbound socket is
     * BINDING (implicit: the daemon binds it first, emitting 'listening') unless {@code oversized}
     * (answered EMSGSIZE without reaching the daemon).
     *
     * @param destination whether the caller's form of send takes a port and address
     * @throws DgramException on a connected socket ERR_SOCKET_DGRAM_IS_CONNECTED (a port or an
     *     address given), on an unconnected one ERR_SOCKET_BAD_PORT (port outside 1..65535); then
     *     ERR_SOCKET_DGRAM_NOT_RUNNING
     */
    Send prepareSend(boolean destination, int port, String address, boolean oversized) {
        synchronized (lock) {
            boolean isConnected = connect == Connect.CONNECTED;
            if (isConnected) {
                if (destination && (port != 0 || (address != null && !address.isEmpty()))) {
                    throw Errors.isConnected();
                }
                port = 0;
                address = null;
            } else if (port <= 0 || port > 65535) {
                throw Errors.badPort("Port", port, false);
            }
            if (closing) {
                throw Errors.notRunning();
            }
            boolean whileBinding = bind == Bind.BINDING && !implicitBind; // bind() called, its outcome not seen
            if (!oversized) {
                beginImplicitBind();
            }
            AddressInfo peer = isConnected ? peerAddress : null;
            Send last = lastSend;
            if (last != null && last.connected() == isConnected && last.port() == port && last.peer() == peer
                    && last.whileBinding() == whileBinding
                    && (last.address() == address || (address != null && address.equals(last.address())))) {
                return last;
            }
            return lastSend = new Send(isConnected, port, address, peer, whileBinding);
        }
    }

    // ----------------------------------------------------------------------------------- close

    /**
     * {@code close()} called: closing.
     *
     * @throws DgramException ERR_SOCKET_DGRAM_NOT_RUNNING when already closing
     */
    void beginClose() {
        synchronized (lock) {
            if (closing) {
                throw Errors.notRunning();
            }
            closing = true;
        }
    }

    /** Closing, if not already: returns whether this call started it. */
    boolean beginCloseIfOpen() {
        synchronized (lock) {
            boolean start = !closing;
            closing = true;
            return start;
        }
    }

    /** The daemon's 'close': closing, 'close' emitted, the keep-alive released. */
    void closed() {
        synchronized (lock) {
            closing = true;
            closeEmitted = true;
            updateKeepAlive();
        }
    }

    /** Whether close() was called or the socket is gone: events other than 'close' are dropped. */
    boolean isClosing() {
        synchronized (lock) {
            return closing;
        }
    }

    // -------------------------------------------------------------------------------- queries

    /** @throws DgramException ERR_SOCKET_DGRAM_NOT_RUNNING when closing */
    void requireOpen() {
        synchronized (lock) {
            if (closing) {
                throw Errors.notRunning();
            }
        }
    }

    /**
     * Checks that an option of a bound socket may be set.
     *
     * @throws DgramException ERR_SOCKET_DGRAM_NOT_RUNNING (closing), then EBADF of {@code syscall}
     *     (not bound: unbound or still binding)
     */
    void requireBound(String syscall) {
        synchronized (lock) {
            if (closing) {
                throw Errors.notRunning();
            }
            if (bind != Bind.BOUND) {
                throw Errors.ebadf(syscall);
            }
        }
    }

    /**
     * Checks that a buffer size ({@code "recv"} or {@code "send"}) may be read or set.
     *
     * @throws DgramException ERR_SOCKET_DGRAM_NOT_RUNNING (closing), then ERR_SOCKET_BUFFER_SIZE
     *     (not bound)
     */
    void requireBoundForBufferSize(String which) {
        synchronized (lock) {
            if (closing) {
                throw Errors.notRunning();
            }
            if (bind != Bind.BOUND) {
                throw Errors.bufferSizeUnbound(which);
            }
        }
    }

    /**
     * The bound address, known since 'listening' (or a bind's answer).
     *
     * @throws DgramException ERR_SOCKET_DGRAM_NOT_RUNNING (closing), then EBADF of getsockname
     *     (not bound)
     */
    AddressInfo address() {
        synchronized (lock) {
            if (closing) {
                throw Errors.notRunning();
            }
            if (bind != Bind.BOUND || localAddress == null) {
                throw Errors.ebadf("getsockname");
            }
            return localAddress;
        }
    }

    /**
     * The peer, known since 'connect' (or a connect's answer).
     *
     * @throws DgramException ERR_SOCKET_DGRAM_NOT_RUNNING (closing), then
     *     ERR_SOCKET_DGRAM_NOT_CONNECTED
     */
    AddressInfo remoteAddress() {
        synchronized (lock) {
            if (closing) {
                throw Errors.notRunning();
            }
            if (connect != Connect.CONNECTED || peerAddress == null) {
                throw Errors.notConnected();
            }
            return peerAddress;
        }
    }

    // ------------------------------------------------------------------------------- ref/unref

    /** {@code ref()} ({@code true}) or {@code unref()}: whether the socket may hold the JVM. */
    void ref(boolean ref) {
        synchronized (lock) {
            refed = ref;
            updateKeepAlive();
        }
    }

    /** Whether this socket holds the JVM alive now: ref'd, bound or binding, 'close' not emitted. */
    boolean holdsJvm() {
        synchronized (lock) {
            return holding;
        }
    }

    /** E.g. {@code BOUND { address: '127.0.0.1', ... }, CONNECTED, closed}. */
    @Override
    public String toString() {
        synchronized (lock) {
            return bind + (localAddress == null ? "" : " " + localAddress) + ", " + connect
                    + (closing ? ", closed" : "");
        }
    }

    // ------------------------------------------------------------------------------- internals

    /** UNBOUND &rarr; BINDING because the daemon binds the socket on the way. Holds lock. */
    private void beginImplicitBind() {
        if (bind == Bind.UNBOUND) {
            bind = Bind.BINDING;
            implicitBind = true;
            updateKeepAlive();
        }
    }

    /** Holds the JVM while ref'd, bound or binding, and not yet closed ('close' not emitted). Holds lock. */
    private void updateKeepAlive() {
        holding = refed && bind != Bind.UNBOUND && !closeEmitted;
        keepAlive.hold(holding);
    }
}
