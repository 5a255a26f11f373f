package dev.dgramd.daemon.udp;

import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.socket.DatagramChannel;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;

/**
 * A socket's options as Node sets them: argument checks with Node's errors, the {@link SocketGuard}
 * for what the policy judges (broadcast, group joins), and the setsockopt calls. Whether the socket
 * is open and bound is the {@link UdpSocket}'s to check before calling; everything here runs on
 * the socket's event loop and throws {@link DgramError}.
 */
final class ChannelOptions {
    private final DatagramChannel channel;
    private final SocketConfig config;
    private final SocketGuard guard;
    private final boolean ipv6;

    ChannelOptions(DatagramChannel channel, SocketConfig config, SocketGuard guard) {
        this.channel = channel;
        this.config = config;
        this.guard = guard;
        this.ipv6 = config.family() == SocketConfig.Family.IPV6;
    }

    /** A group join or leave, checked and ready to apply once the socket is bound. */
    @FunctionalInterface
    interface Membership {
        void apply();
    }

    /** The options of createSocket, set just before bind. Fails with ENOSYS where the transport cannot. */
    void applyBeforeBind() {
        if (config.reuseAddr()) {
            channel.config().setReuseAddress(true);
        }
        if (config.reusePort() && !channel.config().setOption(EpollChannelOption.SO_REUSEPORT, true)) {
            throw DgramError.system(SystemError.ENOSYS, "bind", null, 0);
        }
        if (ipv6 && config.ipv6Only()) {
            Sockopts.setIpv6Only(channel, true);
        }
        if (config.recvBufferSize() > 0) {
            channel.config().setReceiveBufferSize(config.recvBufferSize());
        }
        if (config.sendBufferSize() > 0) {
            channel.config().setSendBufferSize(config.sendBufferSize());
        }
    }

    /** setBroadcast(flag); turning it on is the guard's to allow (EACCES). */
    void setBroadcast(boolean flag) {
        DgramError refused = flag ? guard.checkBroadcast() : null;
        if (refused != null) {
            throw refused;
        }
        channel.config().setBroadcast(flag);
    }

    /** Fails with EINVAL (syscall {@code syscall}) unless {@code min <= ttl <= 255}; Node checks before the bind state. */
    static void checkTtl(int ttl, int min, String syscall) {
        if (ttl < min || ttl > 255) {
            throw DgramError.system(SystemError.EINVAL, syscall, null, 0);
        }
    }

    /** setTTL(ttl), checked by {@link #checkTtl}; answers ttl. */
    int setTtl(int ttl) {
        Sockopts.setTtl(channel, ipv6, ttl);
        return ttl;
    }

    /** setMulticastTTL(ttl), checked by {@link #checkTtl}; answers ttl. */
    int setMulticastTtl(int ttl) {
        Sockopts.setMulticastTtl(channel, ipv6, ttl);
        return ttl;
    }

    /** setMulticastLoopback(flag); answers flag. */
    boolean setMulticastLoopback(boolean flag) {
        Sockopts.setMulticastLoopback(channel, ipv6, flag);
        return flag;
    }

    /**
     * setMulticastInterface(iface): an IPv4 interface address for udp4; "::%name" or "::%index" (or
     * "::") for udp6. Fails with EINVAL, EADDRNOTAVAIL.
     */
    void setMulticastInterface(String iface) {
        if (ipv6) {
            Sockopts.setMulticastInterface(channel, null, interfaceIndex(iface, "setMulticastInterface"));
            return;
        }
        InetAddress a = AddressResolver.parseLiteral(iface == null ? "" : iface);
        if (!(a instanceof Inet4Address)) {
            throw DgramError.system(SystemError.EINVAL, "setMulticastInterface", null, 0);
        }
        Sockopts.setMulticastInterface(channel, a, 0);
    }

    /**
     * Checks a group join or leave now (EINVAL for a malformed, foreign-family or non-multicast
     * address; the guard for a join) and returns it ready to apply; applying fails with EADDRINUSE,
     * EADDRNOTAVAIL, ... as the kernel answers.
     *
     * @param source null for any-source multicast
     * @param iface null or empty to let the system choose
     */
    Membership membership(boolean join, String source, String group, String iface, String syscall) {
        InetAddress groupAddress = AddressResolver.parseLiteral(group == null ? "" : group);
        InetAddress sourceAddress = source == null ? null : AddressResolver.parseLiteral(source);
        boolean familyOk = groupAddress != null && (groupAddress instanceof Inet6Address) == ipv6
                && (source == null || (sourceAddress != null && (sourceAddress instanceof Inet6Address) == ipv6));
        if (!familyOk || !groupAddress.isMulticastAddress()) {
            throw DgramError.system(SystemError.EINVAL, syscall, null, 0);
        }
        DgramError refused = join ? guard.checkMembership(groupAddress, sourceAddress, syscall) : null;
        if (refused != null) {
            throw refused;
        }
        InetAddress v4Interface = null;
        int v6Index = 0;
        if (iface != null && !iface.isEmpty()) {
            if (ipv6) {
                v6Index = interfaceIndex(iface, syscall);
            } else {
                v4Interface = AddressResolver.parseLiteral(iface);
                if (!(v4Interface instanceof Inet4Address)) {
                    throw DgramError.system(SystemError.EINVAL, syscall, null, 0);
                }
            }
        }
        InetAddress v4 = v4Interface;
        int v6 = v6Index;
        return () -> Sockopts.membership(channel, join, groupAddress, sourceAddress, v4, v6, syscall);
    }

    /** Fails with ERR_SOCKET_BAD_BUFFER_SIZE unless {@code 0 <= size <= 2^31-1}; Node checks before the bind state. */
    static void checkBufferSize(long size) {
        if (size < 0 || size > Integer.MAX_VALUE) {
            throw DgramError.of("ERR_SOCKET_BAD_BUFFER_SIZE", "Buffer size must be a positive integer");
        }
    }

    /** Node's ERR_SOCKET_BUFFER_SIZE for a buffer size asked of an unbound socket. */
    static DgramError bufferSizeUnbound(boolean send) {
        String which = send ? "uv_send_buffer_size" : "uv_recv_buffer_size";
        return DgramError.of("ERR_SOCKET_BUFFER_SIZE",
                "Could not get or set buffer size: " + which + " returned EBADF (bad file descriptor)");
    }

    /** Sets SO_SNDBUF or SO_RCVBUF unless {@code newSize} is 0, and answers the size the kernel reports. */
    int bufferSize(boolean send, long newSize) {
        if (newSize > 0) {
            if (send) {
                channel.config().setSendBufferSize((int) newSize);
            } else {
                channel.config().setReceiveBufferSize((int) newSize);
            }
        }
        return send ? channel.config().getSendBufferSize() : channel.config().getReceiveBufferSize();
    }

    private static int interfaceIndex(String iface, String syscall) {
        if (iface != null && iface.equals("::")) {
            return 0;
        }
        int percent = iface == null ? -1 : iface.indexOf('%');
        if (percent < 0) {
            throw DgramError.system(SystemError.EINVAL, syscall, null, 0);
        }
        String scope = iface.substring(percent + 1);
        try {
            if (scope.chars().allMatch(Character::isDigit) && !scope.isEmpty()) {
                return Integer.parseInt(scope);
            }
            // An unknown interface name is scope 0, the default interface, as libuv's if_nametoindex gives.
            NetworkInterface ni = NetworkInterface.getByName(scope);
            return ni == null ? 0 : ni.getIndex();
        } catch (SocketException | NumberFormatException e) {
            throw DgramError.system(SystemError.EINVAL, syscall, null, 0);
        }
    }
}
