package dev.dgramd.daemon.policy;

import java.net.InetAddress;
import java.util.Arrays;
import java.util.Objects;

/**
 * What one principal may do, as {@link Policy#rules} resolves it. Immutable and thread-safe.
 *
 * <p>Each check comes in two forms: {@code xAllowed} answers yes or no, {@code xRefusal} returns
 * null when allowed and otherwise one line naming the rule that refused, such as
 * {@code "destination 169.254.169.254 port 80 is in destinations.deny 169.254.0.0/16"}, for the
 * audit log and the caller's error. Neither allocates when the answer is "allowed", apart from the
 * byte array {@link InetAddress#getAddress()} copies (which the JIT can usually elide).
 *
 * <p>Addresses are judged by their bits, never looked up, ignoring any IPv6 zone id. An
 * IPv4-mapped IPv6 address ({@code ::ffff:169.254.169.254}) is judged as the IPv4 address it
 * carries. An IPv6 destination that carries an IPv4 address in a NAT64 ({@code 64:ff9b::/96}), 6to4
 * ({@code 2002::/16}) or IPv4-compatible ({@code ::a.b.c.d}) form is judged as itself and, against
 * {@code destinations.deny}, as the IPv4 address it carries too, since a translator or tunnel
 * delivers it there: {@code 64:ff9b::a9fe:a9fe} is refused by a deny of 169.254.0.0/16. Ports are 0 to 65535, as the caller has already validated them.
 */
public final class Rules {
    private static final long IPV4_LOOPBACK = 0x7F00_0001L;

    private final Cidr[] bindAddresses;
    private final PortRange[] bindPorts;
    private final DestinationRule[] allow;
    private final DestinationRule[] deny;
    private final boolean broadcast;
    private final Cidr[] multicastGroups;
    private final int maxSockets;
    private final long datagramsPerSecond;
    private final long bytesPerSecond;
    private final int maxPayload;
    private final int maxKeepAliveSeconds;

    /** @throws NullPointerException if {@code rules} leaves a key out */
    Rules(PartialRules rules) {
        bindAddresses = Objects.requireNonNull(rules.bindAddresses(), "bind.addresses").toArray(Cidr[]::new);
        bindPorts = Objects.requireNonNull(rules.bindPorts(), "bind.ports").toArray(PortRange[]::new);
        allow = Objects.requireNonNull(rules.allow(), "destinations.allow").toArray(DestinationRule[]::new);
        deny = Objects.requireNonNull(rules.deny(), "destinations.deny").toArray(DestinationRule[]::new);
        broadcast = Objects.requireNonNull(rules.broadcast(), "broadcast");
        multicastGroups = Objects.requireNonNull(rules.multicastGroups(), "multicast.groups").toArray(Cidr[]::new);
        maxSockets = Objects.requireNonNull(rules.maxSockets(), "quotas.maxSockets");
        datagramsPerSecond = Objects.requireNonNull(rules.datagramsPerSecond(), "quotas.datagramsPerSecond");
        bytesPerSecond = Objects.requireNonNull(rules.bytesPerSecond(), "quotas.bytesPerSecond");
        maxPayload = Objects.requireNonNull(rules.maxPayload(), "quotas.maxPayload");
        maxKeepAliveSeconds = Objects.requireNonNull(rules.maxKeepAliveSeconds(), "quotas.maxKeepAliveSeconds");
    }

    /** Whether a socket may bind to {@code local}:{@code port}; see {@link #bindRefusal}. */
    public boolean bindAllowed(InetAddress local, int port) {
        return bindRefusal(local, port) == null;
    }

    /**
     * Null if a socket may bind to {@code local}:{@code port}, else why not. The address must be in
     * {@code bind.addresses} and the port in {@code bind.ports}, except port 0 (the kernel picks
     * one), which is always allowed. The wildcard addresses 0.0.0.0 and :: are judged as
     * themselves, so a CIDR list must include them (or be "any") to allow binding every interface,
     * which an implicit bind (send before bind) does.
     */
    public String bindRefusal(InetAddress local, int port) {
        byte[] bytes = local.getAddress();
        boolean ipv4 = IpAddressBits.isIpv4(bytes);
        long high = IpAddressBits.high(bytes);
        long low = IpAddressBits.low(bytes);
        if (!contains(bindAddresses, ipv4, high, low)) {
            return "bind address " + shown(bytes, ipv4, high, low) + " is not in bind.addresses "
                    + Arrays.toString(bindAddresses);
        }
        if (port != 0 && !contains(bindPorts, port)) {
            return "bind port " + port + " is not in bind.ports " + Arrays.toString(bindPorts);
        }
        return null;
    }

    /** Whether a socket may send to, or connect to, {@code to}:{@code port}; see {@link #destinationRefusal}. */
    public boolean destinationAllowed(InetAddress to, int port) {
        return destinationRefusal(to, port) == null;
    }

    /**
     * Null if a socket may send to, or connect to, {@code to}:{@code port} (a resolved address),
     * else why not. Refused if any {@code destinations.deny} entry matches (for an IPv6 address
     * that carries an IPv4 address, see the class comment, it or the IPv4 address), else if no
     * {@code destinations.allow} entry matches, else if {@code to} is a multicast address
     * (224.0.0.0/4, ff00::/8) outside {@code multicast.groups}.
     *
     * <p>The unspecified address (0.0.0.0, ::, ::ffff:0.0.0.0) is judged as loopback (127.0.0.1,
     * ::1), where Linux delivers a datagram sent to it, so denying loopback denies it too. Broadcast
     * addresses are not singled out: the kernel refuses them unless {@link #broadcastAllowed} let
     * the socket set SO_BROADCAST.
     */
    public String destinationRefusal(InetAddress to, int port) {
        byte[] bytes = to.getAddress();
        boolean ipv4 = IpAddressBits.isIpv4(bytes);
        long high = IpAddressBits.high(bytes);
        long low = IpAddressBits.low(bytes);
        if (high == 0 && low == 0) {
            low = ipv4 ? IPV4_LOOPBACK : 1;
        }
        for (DestinationRule rule : deny) {
            if (rule.matches(ipv4, high, low, port)) {
                return "destination " + shown(bytes, ipv4, high, low) + " port " + port
                        + " is in destinations.deny " + rule;
            }
        }
        if (!ipv4) {
            String embedded = embeddedRefusal(bytes, port);
            if (embedded != null) {
                return embedded;
            }
        }
        boolean allowed = false;
        for (DestinationRule rule : allow) {
            if (rule.matches(ipv4, high, low, port)) {
                allowed = true;
                break;
            }
        }
        if (!allowed) {
            return "destination " + shown(bytes, ipv4, high, low) + " port " + port
                    + " is not in destinations.allow " + Arrays.toString(allow);
        }
        if (isMulticast(ipv4, high, low) && !contains(multicastGroups, ipv4, high, low)) {
            return "destination " + shown(bytes, ipv4, high, low) + " port " + port
                    + " is a multicast group not in multicast.groups " + Arrays.toString(multicastGroups);
        }
        return null;
    }

    /** Null unless the IPv4 address that IPv6 {@code bytes} carries (if any) is in {@code destinations.deny}. */
    private String embeddedRefusal(byte[] bytes, int port) {
        long carried = IpAddressBits.embeddedIpv4(bytes);
        if (carried < 0) {
            return null;
        }
        long judged = carried == 0 ? IPV4_LOOPBACK : carried; // as for 0.0.0.0 itself
        for (DestinationRule rule : deny) {
            if (rule.matches(true, 0, judged, port)) {
                return "destination " + IpAddressBits.format(bytes) + " (" + IpAddressBits.embeddingForm(bytes)
                        + ", carries " + IpAddressBits.format(true, 0, judged) + ") port " + port
                        + " is in destinations.deny " + rule;
            }
        }
        return null;
    }

    /** Whether a socket may turn SO_BROADCAST on ({@code broadcast}); turning it off is always allowed. */
    public boolean broadcastAllowed() {
        return broadcast;
    }

    /** Null if {@link #broadcastAllowed}, else why not. */
    public String broadcastRefusal() {
        return broadcast ? null : "broadcast is not allowed (broadcast: false)";
    }

    /** Whether a socket may join {@code group}; see {@link #multicastGroupRefusal}. */
    public boolean multicastGroupAllowed(InetAddress group) {
        return multicastGroupRefusal(group) == null;
    }

    /**
     * Null if a socket may join {@code group} (also source-specifically), else why not: it must be
     * in {@code multicast.groups}. Leaving a group is always allowed.
     */
    public String multicastGroupRefusal(InetAddress group) {
        byte[] bytes = group.getAddress();
        boolean ipv4 = IpAddressBits.isIpv4(bytes);
        long high = IpAddressBits.high(bytes);
        long low = IpAddressBits.low(bytes);
        if (contains(multicastGroups, ipv4, high, low)) {
            return null;
        }
        return "multicast group " + shown(bytes, ipv4, high, low) + " is not in multicast.groups "
                + Arrays.toString(multicastGroups);
    }

    /** {@code quotas.maxSockets}: how many sockets the principal may have open at once (0: none). */
    public int maxSockets() {
        return maxSockets;
    }

    /** {@code quotas.datagramsPerSecond}: each socket's send rate in datagrams, 0 for unlimited. */
    public long datagramsPerSecond() {
        return datagramsPerSecond;
    }

    /** {@code quotas.bytesPerSecond}: each socket's send rate in payload bytes, 0 for unlimited. */
    public long bytesPerSecond() {
        return bytesPerSecond;
    }

    /** {@code quotas.maxPayload}: the largest datagram payload a socket may send, in bytes. */
    public int maxPayload() {
        return maxPayload;
    }

    /**
     * {@code quotas.maxKeepAliveSeconds}: the longest keep-alive a socket may ask for, the time it
     * waits for a new Events stream once its stream went away. A socket that asks none gets the
     * daemon's --orphan-grace, whatever this says.
     */
    public int maxKeepAliveSeconds() {
        return maxKeepAliveSeconds;
    }

    /** The rules on one line, for the log: every key with its value. */
    @Override
    public String toString() {
        return "bind.addresses " + Arrays.toString(bindAddresses)
                + ", bind.ports " + Arrays.toString(bindPorts)
                + ", destinations.allow " + Arrays.toString(allow)
                + ", destinations.deny " + Arrays.toString(deny)
                + ", broadcast " + broadcast
                + ", multicast.groups " + Arrays.toString(multicastGroups)
                + ", quotas.maxSockets " + maxSockets
                + ", quotas.datagramsPerSecond " + datagramsPerSecond
                + ", quotas.bytesPerSecond " + bytesPerSecond
                + ", quotas.maxPayload " + maxPayload
                + ", quotas.maxKeepAliveSeconds " + maxKeepAliveSeconds;
    }

    private static boolean contains(Cidr[] ranges, boolean ipv4, long high, long low) {
        for (Cidr range : ranges) {
            if (range.matches(ipv4, high, low)) {
                return true;
            }
        }
        return false;
    }

    private static boolean contains(PortRange[] ranges, int port) {
        for (PortRange range : ranges) {
            if (range.contains(port)) {
                return true;
            }
        }
        return false;
    }

    private static boolean isMulticast(boolean ipv4, long high, long low) {
        return ipv4 ? low >>> 28 == 0xE : high >>> 56 == 0xFF;
    }

    /** The address as given, followed by the address it was judged as if that differs. */
    private static String shown(byte[] given, boolean ipv4, long high, long low) {
        String text = IpAddressBits.format(given);
        String judged = IpAddressBits.format(ipv4, high, low);
        return text.equals(judged) ? text : text + " (judged as " + judged + ")";
    }
}
