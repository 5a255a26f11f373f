package dev.dgramd.daemon.udp;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.SocketProtocolFamily;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.Future;

/**
 * The Netty transport: epoll where the native library loads (Linux x86_64), NIO elsewhere.
 * One event loop group serves the gRPC server and every UDP socket.
 */
public final class Transport implements AutoCloseable {
    private final boolean epoll;
    private final EventLoopGroup group;

    private Transport(boolean epoll, int threads) {
        this.epoll = epoll;
        IoHandlerFactory handlers = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        this.group = new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory("dgramd-loop", true), handlers);
    }

    /**
     * Starts the event loops.
     *
     * @param threads event loop threads; 0 for Netty's default (twice the cores)
     * @param allowNative false forces NIO even where epoll is available
     */
    public static Transport start(int threads, boolean allowNative) {
        return new Transport(allowNative && Epoll.isAvailable(), threads);
    }

    /** "epoll" or "nio". */
    public String name() {
        return epoll ? "epoll" : "nio";
    }

    /** The event loops shared by the gRPC server and the UDP sockets. */
    public EventLoopGroup group() {
        return group;
    }

    /** The client channel type for a gRPC channel on this transport (the daemon's own warm-up). */
    public Class<? extends io.netty.channel.Channel> clientChannelType() {
        return epoll ? io.netty.channel.epoll.EpollSocketChannel.class
                : io.netty.channel.socket.nio.NioSocketChannel.class;
    }

    /** The server channel type for the gRPC server on this transport. */
    public Class<? extends ServerChannel> serverChannelType() {
        return epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
    }

    DatagramChannel newDatagramChannel(SocketConfig.Family family) {
        SocketProtocolFamily f = family == SocketConfig.Family.IPV4 ? SocketProtocolFamily.INET : SocketProtocolFamily.INET6;
        return epoll ? new EpollDatagramChannel(f) : new NioDatagramChannel(f);
    }

    /**
     * A datagram channel on socket {@code fd}, made by another process and passed over a unix
     * socket: not registered, not reading ({@code autoRead} off) until its reader is in place.
     *
     * @throws IllegalStateException on the NIO transport, which cannot adopt a descriptor
     */
    DatagramChannel adoptDatagramChannel(int fd) {
        if (!epoll) {
            throw new IllegalStateException("taking over a socket needs the epoll transport");
        }
        EpollDatagramChannel channel = new EpollDatagramChannel(fd);
        channel.config().setAutoRead(false);
        return channel;
    }

    /**
     * Whether the kernel takes several datagrams in one send on {@code channel} (UDP_SEGMENT,
     * Linux 4.18 and later, through the epoll transport).
     */
    static boolean segments(DatagramChannel channel) {
        return channel instanceof EpollDatagramChannel && io.netty.channel.epoll.SegmentedDatagramPacket.isSupported();
    }

    /** The file descriptor of {@code channel}, for handing it to another process; -1 on NIO. */
    static int descriptor(DatagramChannel channel) {
        return channel instanceof EpollDatagramChannel e ? e.fd().intValue() : -1;
    }

    /** Stops the event loops; the returned future completes when they are gone. */
    public Future<?> shutdown() {
        return group.shutdownGracefully(0, 2, java.util.concurrent.TimeUnit.SECONDS);
    }

    @Override
    public void close() {
        shutdown().awaitUninterruptibly();
    }
}
