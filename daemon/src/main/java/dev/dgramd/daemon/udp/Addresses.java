package dev.dgramd.daemon.udp;

import io.netty.util.NetUtil;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;

/** Addresses written as Node writes them. */
public final class Addresses {
    private Addresses() {
    }

    /** "127.0.0.1", "::1", "fe80::1%eth0". */
    public static String text(InetAddress address) {
        String text = NetUtil.toAddressString(address);
        if (address instanceof Inet6Address six && six.getScopeId() != 0) {
            text += "%" + (six.getScopedInterface() != null ? six.getScopedInterface().getName() : six.getScopeId());
        }
        return text;
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
