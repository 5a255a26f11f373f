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
}
