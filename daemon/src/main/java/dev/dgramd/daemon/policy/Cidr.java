package dev.dgramd.daemon.policy;

import java.net.InetAddress;
import java.util.List;

/**
 * A range of IPv4 or IPv6 addresses: "10.0.0.0/8", "fe80::/10", or a bare address, which is
 * a /32 or /128. Immutable.
 *
 * <p>An IPv4 range matches only IPv4 addresses and an IPv6 range only IPv6 addresses. IPv4-mapped
 * IPv6 addresses ({@code ::ffff:a.b.c.d}) count as the IPv4 address they carry, on both sides:
 * "::ffff:10.0.0.0/104" is read as "10.0.0.0/8", and {@code ::ffff:10.1.2.3} is in "10.0.0.0/8"
 * but not in "::/0".
 */
final class Cidr {
    /** Every address: 0.0.0.0/0 and ::/0. */
    static final List<Cidr> ALL = List.of(parse("0.0.0.0/0"), parse("::/0"));
    /** Every multicast address: 224.0.0.0/4 and ff00::/8. */
    static final List<Cidr> MULTICAST = List.of(parse("224.0.0.0/4"), parse("ff00::/8"));

    private final boolean ipv4;
    private final long high;
    private final long low;
    private final long maskHigh;
    private final long maskLow;
    private final int prefix;

    /** The range of {@code prefix} bits starting at the given address; bits below the prefix are dropped. */
    private Cidr(boolean ipv4, long high, long low, int prefix) {
        this.ipv4 = ipv4;
        this.prefix = prefix;
        this.maskHigh = ipv4 ? 0 : mask(prefix);
        this.maskLow = ipv4 ? mask(prefix + 32) & 0xFFFF_FFFFL : mask(prefix - 64);
        this.high = high & maskHigh;
        this.low = low & maskLow;
    }

    /**
     * Parses "address/prefix" or a bare address (IPv4 dotted quad or IPv6 literal, no zone id, no
     * host name).
     *
     * @throws IllegalArgumentException naming {@code text} and what is wrong with it, also when
     *     bits below the prefix are set ("10.1.0.0/8")
     */
    static Cidr parse(String text) {
        int slash = text.indexOf('/');
        String addressText = slash >= 0 ? text.substring(0, slash) : text;
        byte[] address = IpAddressBits.parse(addressText);
        if (address == null) {
            String hint = addressText.indexOf('%') >= 0 ? " (zone ids are not allowed)"
                    : addressText.indexOf(':') < 0 && addressText.chars().anyMatch(Character::isLetter)
                    ? " (host names are not allowed)" : "";
            throw new IllegalArgumentException("bad CIDR \"" + text + "\": not an IP address" + hint);
        }
        int bits = address.length * 8;
        int prefix = bits;
        if (slash >= 0) {
            String prefixText = text.substring(slash + 1);
            if (prefixText.isEmpty() || prefixText.length() > 3
                    || !prefixText.chars().allMatch(c -> c >= '0' && c <= '9')
                    || Integer.parseInt(prefixText) > bits) {
                throw new IllegalArgumentException("bad CIDR \"" + text + "\": prefix length must be from 0 to " + bits);
            }
            prefix = Integer.parseInt(prefixText);
        }
        boolean ipv4 = address.length == 4;
        long high = ipv4 ? 0 : IpAddressBits.bits(address, 0, 8);
        long low = ipv4 ? IpAddressBits.bits(address, 0, 4) : IpAddressBits.bits(address, 8, 8);
        int writtenPrefix = prefix;
        if (!ipv4 && prefix >= 96 && high == 0 && low >>> 32 == 0xFFFF) {
            ipv4 = true;
            low &= 0xFFFF_FFFFL;
            prefix -= 96;
        }
        Cidr cidr = new Cidr(ipv4, high, low, prefix);
        if (cidr.high != high || cidr.low != low) {
            throw new IllegalArgumentException("bad CIDR \"" + text + "\": bits below the /" + writtenPrefix
                    + " prefix are set (did you mean " + cidr + "?)");
        }
        return cidr;
    }

    /** Whether {@code address} is in this range (see the class comment for IPv4-mapped addresses). */
    boolean contains(InetAddress address) {
        byte[] bytes = address.getAddress();
        return matches(IpAddressBits.isIpv4(bytes), IpAddressBits.high(bytes), IpAddressBits.low(bytes));
    }

    /** Whether the address with these {@link IpAddressBits} is in this range. */
    boolean matches(boolean ipv4, long high, long low) {
        return ipv4 == this.ipv4 && (high & maskHigh) == this.high && (low & maskLow) == this.low;
    }

    /** Whether every address in this range is also in {@code outer}. */
    boolean isWithin(Cidr outer) {
        return ipv4 == outer.ipv4 && prefix >= outer.prefix && outer.matches(ipv4, high, low);
    }

    /** Canonical text: "10.0.0.0/8", "fe80::/10", "192.0.2.1/32". */
    @Override
    public String toString() {
        return IpAddressBits.format(ipv4, high, low) + "/" + prefix;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof Cidr that && ipv4 == that.ipv4 && high == that.high && low == that.low
                && prefix == that.prefix;
    }

    @Override
    public int hashCode() {
        return Long.hashCode(high) * 31 + Long.hashCode(low) * 17 + prefix * 2 + (ipv4 ? 1 : 0);
    }

    /** A 64-bit mask with the top {@code bits} bits set: none if {@code bits <= 0}, all if {@code bits >= 64}. */
    private static long mask(int bits) {
        if (bits <= 0) {
            return 0;
        }
        return bits >= 64 ? -1L : -1L << (64 - bits);
    }
}
