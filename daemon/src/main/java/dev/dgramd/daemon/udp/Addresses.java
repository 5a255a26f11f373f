package dev.dgramd.daemon.udp;

import io.netty.util.NetUtil;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;

/** Addresses written as Node writes them. */
public final class Addresses {
    private Addresses() {
    }

    /** "127.0.0.1", "::1", "fe80::1%eth0": a scope is named by its interface, as libuv names it. */
    public static String text(InetAddress address) {
        String text = NetUtil.toAddressString(address);
        if (address instanceof Inet6Address six && six.getScopeId() != 0) {
            text += "%" + scopeName(six);
        }
        return text;
    }

    /** The interface name of a scoped address (received ones carry only the index), or the index. */
    private static String scopeName(Inet6Address six) {
        if (six.getScopedInterface() != null) {
            return six.getScopedInterface().getName();
        }
        try {
            NetworkInterface iface = NetworkInterface.getByIndex(six.getScopeId());
            return iface != null ? iface.getName() : String.valueOf(six.getScopeId());
        } catch (SocketException e) {
            return String.valueOf(six.getScopeId());
        }
    }

    /**
     * The address as a socket of {@code family} reports it: on a udp6 socket an IPv4 peer is shown
     * as an IPv4-mapped IPv6 address ("::ffff:127.0.0.1"), as Node shows it.
     */
    public static String text(InetAddress address, SocketConfig.Family family) {
        if (family == SocketConfig.Family.IPV6 && address instanceof Inet4Address) {
            return "::ffff:" + address.getHostAddress();
        }
        return text(address);
    }

    /** "IPv4" or "IPv6" for an address as a socket of {@code family} reports it. */
    public static String family(InetAddress address, SocketConfig.Family family) {
        return family == SocketConfig.Family.IPV6 || address instanceof Inet6Address ? "IPv6" : "IPv4";
    }
}
