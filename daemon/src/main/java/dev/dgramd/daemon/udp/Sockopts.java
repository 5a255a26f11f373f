package dev.dgramd.daemon.udp;

import io.netty.channel.Channel;
import io.netty.channel.ChannelException;
import io.netty.channel.unix.IntegerUnixChannelOption;
import io.netty.channel.unix.RawUnixChannelOption;
import io.netty.channel.unix.UnixChannel;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The socket options Netty has no portable switch for, set the way libuv sets them (so the kernel
 * answers Node's errors): TTLs, multicast loop/interface, memberships, connect/disconnect.
 * Linux with the native transport only; elsewhere each call fails with ENOSYS.
 */
final class Sockopts {
    private static final int SOL_IP = 0;
    private static final int SOL_IPV6 = 41;
    private static final int IP_TTL = 2;
    private static final int IP_MULTICAST_IF = 32;
    private static final int IP_MULTICAST_TTL = 33;
    private static final int IP_MULTICAST_LOOP = 34;
    private static final int IP_ADD_MEMBERSHIP = 35;
    private static final int IP_DROP_MEMBERSHIP = 36;
    private static final int IP_ADD_SOURCE_MEMBERSHIP = 39;
    private static final int IP_DROP_SOURCE_MEMBERSHIP = 40;
    private static final int IPV6_UNICAST_HOPS = 16;
    private static final int IPV6_MULTICAST_IF = 17;
    private static final int IPV6_MULTICAST_HOPS = 18;
    private static final int IPV6_MULTICAST_LOOP = 19;
    private static final int IPV6_ADD_MEMBERSHIP = 20;
    private static final int IPV6_DROP_MEMBERSHIP = 21;
    private static final int IPV6_V6ONLY = 26;
    private static final int MCAST_JOIN_SOURCE_GROUP = 46;
    private static final int MCAST_LEAVE_SOURCE_GROUP = 47;
    private static final int AF_INET6 = 10;
    private static final int SOCKADDR_STORAGE = 128;
    /** getsockopt(SOL_SOCKET, SO_MEMINFO): SK_MEMINFO_VARS (9) u32 values; the last, SK_MEMINFO_DROPS, is sk_drops. */
    private static final RawUnixChannelOption SO_MEMINFO = new RawUnixChannelOption("SO_MEMINFO", 1, 55, 9 * 4);
    private static final int SK_MEMINFO_DROPS = 8;

    private Sockopts() {
    }

    static void setTtl(Channel ch, boolean ipv6, int ttl) {
        setInt(ch, ipv6 ? SOL_IPV6 : SOL_IP, ipv6 ? IPV6_UNICAST_HOPS : IP_TTL, ttl, "setTTL");
    }

    static void setMulticastTtl(Channel ch, boolean ipv6, int ttl) {
        setInt(ch, ipv6 ? SOL_IPV6 : SOL_IP, ipv6 ? IPV6_MULTICAST_HOPS : IP_MULTICAST_TTL, ttl, "setMulticastTTL");
    }

    static void setMulticastLoopback(Channel ch, boolean ipv6, boolean on) {
        setInt(ch, ipv6 ? SOL_IPV6 : SOL_IP, ipv6 ? IPV6_MULTICAST_LOOP : IP_MULTICAST_LOOP, on ? 1 : 0,
                "setMulticastLoopback");
    }

    static void setIpv6Only(Channel ch, boolean on) {
        setInt(ch, SOL_IPV6, IPV6_V6ONLY, on ? 1 : 0, "bind");
    }

    /** IPv4: the interface address; IPv6: the interface index (0 for the default). */
    static void setMulticastInterface(Channel ch, InetAddress v4Interface, int v6Index) {
        if (v4Interface != null) {
            setRaw(ch, SOL_IP, IP_MULTICAST_IF, ByteBuffer.wrap(v4Interface.getAddress()), "setMulticastInterface");
        } else {
            setInt(ch, SOL_IPV6, IPV6_MULTICAST_IF, v6Index, "setMulticastInterface");
        }
    }

    /**
     * Joins or leaves {@code group}, optionally only for {@code source}.
     *
     * @param v4Interface the IPv4 interface address (null for any), IPv4 groups only
     * @param v6Index the interface index (0 for any), IPv6 groups only
     */
    static void membership(Channel ch, boolean join, InetAddress group, InetAddress source,
                           InetAddress v4Interface, int v6Index, String syscall) {
        if (group instanceof Inet4Address) {
            byte[] iface = v4Interface == null ? new byte[4] : v4Interface.getAddress();
            ByteBuffer req = ByteBuffer.allocate(source == null ? 8 : 12);
            req.put(group.getAddress()).put(iface);
            if (source != null) {
                req.put(source.getAddress());
            }
            int opt = source == null ? (join ? IP_ADD_MEMBERSHIP : IP_DROP_MEMBERSHIP)
                    : (join ? IP_ADD_SOURCE_MEMBERSHIP : IP_DROP_SOURCE_MEMBERSHIP);
            setRaw(ch, SOL_IP, opt, req.flip(), syscall);
        } else if (source == null) {
            ByteBuffer req = ByteBuffer.allocate(20).order(ByteOrder.nativeOrder());
            req.put(group.getAddress()).putInt(v6Index);
            setRaw(ch, SOL_IPV6, join ? IPV6_ADD_MEMBERSHIP : IPV6_DROP_MEMBERSHIP, req.flip(), syscall);
        } else {
            // struct group_source_req { uint32 gsr_interface; (pad to 8) sockaddr_storage group, source; }
            ByteBuffer req = ByteBuffer.allocate(8 + 2 * SOCKADDR_STORAGE).order(ByteOrder.nativeOrder());
            req.putInt(v6Index).putInt(0);
            putSockaddrIn6(req, (Inet6Address) group);
            putSockaddrIn6(req, (Inet6Address) source);
            setRaw(ch, SOL_IPV6, join ? MCAST_JOIN_SOURCE_GROUP : MCAST_LEAVE_SOURCE_GROUP, req.flip(), syscall);
        }
    }

    private static void putSockaddrIn6(ByteBuffer req, Inet6Address address) {
        int start = req.position();
        req.putShort((short) AF_INET6);
        req.order(ByteOrder.BIG_ENDIAN).putShort((short) 0).putInt(0).put(address.getAddress());
        req.order(ByteOrder.nativeOrder()).putInt(address.getScopeId());
        req.position(start + SOCKADDR_STORAGE);
    }

    /**
     * Linux's drops counter of the socket (the one /proc/net/udp shows, read with SO_MEMINFO):
     * datagrams the kernel dropped because the receive buffer was full, since the socket was made.
     * A 32-bit counter in the kernel. -1 when it cannot be read (NIO transport, closed socket).
     */
    static long kernelDrops(Channel ch) {
        if (!(ch instanceof UnixChannel) || !ch.isOpen()) {
            return -1;
        }
        try {
            ByteBuffer info = ch.config().getOption(SO_MEMINFO);
            if (info == null || info.capacity() < (SK_MEMINFO_DROPS + 1) * 4) {
                return -1;
            }
            return Integer.toUnsignedLong(info.order(ByteOrder.nativeOrder()).getInt(SK_MEMINFO_DROPS * 4));
        } catch (ChannelException e) {
            return -1;
        }
    }

    private static final ByteBuffer EMPTY = ByteBuffer.allocateDirect(1);

    /** sendto(2) of a zero-length datagram. */
    static void sendEmpty(Channel ch, InetSocketAddress to) {
        try {
            socket(ch, "send").sendTo(EMPTY, 0, 0, to.getAddress(), to.getPort());
        } catch (IOException e) {
            throw DgramError.system(SystemError.of(e), "send", Addresses.text(to.getAddress()), to.getPort());
        }
    }

    /** connect(2) on the socket without telling Netty, so reads keep reporting each sender. */
    static void connect(Channel ch, InetSocketAddress remote) {
        try {
            socket(ch, "connect").connect(remote);
        } catch (IOException e) {
            throw DgramError.system(SystemError.of(e), "connect", Addresses.text(remote.getAddress()), remote.getPort());
        }
    }

    /** connect(2) with AF_UNSPEC: the socket takes datagrams from anyone again. */
    static void disconnect(Channel ch) {
        try {
            socket(ch, "disconnect").disconnect();
        } catch (IOException e) {
            throw DgramError.system(SystemError.of(e), "disconnect", null, 0);
        }
    }

    private static io.netty.channel.unix.Socket socket(Channel ch, String syscall) {
        if (ch instanceof UnixChannel unix && unix.fd() instanceof io.netty.channel.unix.Socket s) {
            return s;
        }
        throw unsupported(syscall);
    }

    private static void setInt(Channel ch, int level, int optname, int value, String syscall) {
        set(ch, new IntegerUnixChannelOption("opt" + level + "." + optname, level, optname), value, syscall);
    }

    private static void setRaw(Channel ch, int level, int optname, ByteBuffer value, String syscall) {
        set(ch, new RawUnixChannelOption("opt" + level + "." + optname, level, optname, value.remaining()), value,
                syscall);
    }

    private static <T> void set(Channel ch, io.netty.channel.ChannelOption<T> option, T value, String syscall) {
        if (!(ch instanceof UnixChannel)) {
            throw unsupported(syscall);
        }
        try {
            if (!ch.config().setOption(option, value)) {
                throw unsupported(syscall);
            }
        } catch (ChannelException e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            throw DgramError.system(SystemError.of(cause), syscall, null, 0);
        }
    }

    private static DgramError unsupported(String syscall) {
        return DgramError.system(SystemError.ENOSYS, syscall, null, 0);
    }
}
