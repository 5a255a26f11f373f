package dev.dgramd.client;

/**
 * The options of {@link DgramClient#createSocket(SocketOptions)}: Node's {@code
 * dgram.createSocket(options)}. Fluent: {@code new SocketOptions().type("udp4").reuseAddr(true)}.
 */
public final class SocketOptions {
    private String type;
    private boolean reuseAddr;
    private boolean reusePort;
    private boolean ipv6Only;
    private int recvBufferSize;
    private int sendBufferSize;
    private String name;
    private java.time.Duration keepAlive;

    /** No type yet (required), every flag off, system buffer sizes. */
    public SocketOptions() {}

    /** {@code "udp4"} or {@code "udp6"} (required); else createSocket throws ERR_SOCKET_BAD_TYPE. */
    public SocketOptions type(String type) {
        this.type = type;
        return this;
    }

    /** SO_REUSEADDR: bind succeeds even if another socket that also set it holds the port. */
    public SocketOptions reuseAddr(boolean reuseAddr) {
        this.reuseAddr = reuseAddr;
        return this;
    }

    /** SO_REUSEPORT: sockets that all set it share the port. */
    public SocketOptions reusePort(boolean reusePort) {
        this.reusePort = reusePort;
        return this;
    }

    /** IPV6_V6ONLY for udp6: binding {@code ::} does not take the IPv4 port too. */
    public SocketOptions ipv6Only(boolean ipv6Only) {
        this.ipv6Only = ipv6Only;
        return this;
    }

    /** SO_RCVBUF in bytes, applied at bind; 0 (the default) keeps the system's. */
    public SocketOptions recvBufferSize(int recvBufferSize) {
        this.recvBufferSize = recvBufferSize;
        return this;
    }

    /** SO_SNDBUF in bytes, applied at bind; 0 (the default) keeps the system's. */
    public SocketOptions sendBufferSize(int sendBufferSize) {
        this.sendBufferSize = sendBufferSize;
        return this;
    }

    /** The type, or {@code null}. */
    public String type() {
        return type;
    }

    /** The SO_REUSEADDR flag. */
    public boolean reuseAddr() {
        return reuseAddr;
    }

    /** The SO_REUSEPORT flag. */
    public boolean reusePort() {
        return reusePort;
    }

    /** The IPV6_V6ONLY flag. */
    public boolean ipv6Only() {
        return ipv6Only;
    }

    /** SO_RCVBUF to apply at bind, 0 for the system's. */
    public int recvBufferSize() {
        return recvBufferSize;
    }

    /** SO_SNDBUF to apply at bind, 0 for the system's. */
    public int sendBufferSize() {
        return sendBufferSize;
    }

    /**
     * A dgramd extension: the socket's name, unique among the open sockets of this client's
     * principal (1 to 128 letters, digits or {@code ._-:/}; {@code null} for none, the default).
     * When an open socket of the principal holds the name, for instance one whose program was
     * restarted within its {@link #keepAlive}, the new {@link Socket} attaches to it instead of
     * making one: it emits 'listening' with the address the socket has (and 'connect' when it is
     * connected), then the datagrams that arrived while no client listened (those beyond the
     * daemon's bound are counted in {@link Socket#droppedMessages()}). A first {@code bind} of an
     * attached socket that is bound already does not bind again: its callback runs on that
     * 'listening'. The type must be the socket's; the other options are the ones it was made with.
     * A bad name fails the socket's first call with ERR_INVALID_ARG_VALUE.
     */
    public SocketOptions name(String name) {
        this.name = name;
        return this;
    }

    /**
     * A dgramd extension: how long the socket waits for its client to come back (a new client
     * attaching by {@link #name}) after this one went away, before the daemon closes it. {@code null}
     * (the default): the daemon's {@code --orphan-grace}; zero: closed as soon as the client goes
     * away. Above the daemon policy's {@code quotas.maxKeepAliveSeconds}, the socket's first call
     * fails with EACCES.
     */
    public SocketOptions keepAlive(java.time.Duration keepAlive) {
        this.keepAlive = keepAlive;
        return this;
    }

    /** The name given by {@link #name(String)}, or null. */
    public String name() {
        return name;
    }

    /** The keep-alive given by {@link #keepAlive(java.time.Duration)}, or null. */
    public java.time.Duration keepAlive() {
        return keepAlive;
    }
}
