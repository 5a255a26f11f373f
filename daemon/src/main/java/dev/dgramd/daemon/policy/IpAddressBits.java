package dev.dgramd.daemon.policy;

/**
 * IP addresses as the bits {@link Cidr} compares: an IPv4 address is its 32 bits in {@code low},
 * an IPv6 address its upper 64 bits in {@code high} and lower 64 in {@code low}. An IPv4-mapped
 * IPv6 address ({@code ::ffff:a.b.c.d}) is the IPv4 address it carries, since that is where the
 * kernel sends a datagram addressed to it.
 *
 * <p>Other IPv6 forms carry an IPv4 address without being judged as it: {@link #embeddedIpv4} finds
 * it in a NAT64 ({@code 64:ff9b::/96}), 6to4 ({@code 2002::/16}) or IPv4-compatible
 * ({@code ::a.b.c.d}) address, so that a deny list can be asked about it too.
 *
 * <p>Literals are parsed here rather than by {@link java.net.InetAddress#getByName}, which would
 * look a malformed literal up as a host name.
 */
final class IpAddressBits {
    /** The upper 64 bits of NAT64's well-known prefix 64:ff9b::/96. */
    private static final long NAT64_HIGH = 0x0064_ff9b_0000_0000L;

    private IpAddressBits() {
    }

    /** Whether {@code address} (4 or 16 bytes) is judged as IPv4: it is IPv4, or IPv4-mapped IPv6. */
    static boolean isIpv4(byte[] address) {
        return address.length == 4 || isMapped(address);
    }

    /** The upper 64 bits of an IPv6 address; 0 for an address judged as IPv4. */
    static long high(byte[] address) {
        return isIpv4(address) ? 0 : bits(address, 0, 8);
    }

    /** The lower 64 bits of an IPv6 address, or the 32 bits of an address judged as IPv4. */
    static long low(byte[] address) {
        if (address.length == 4) {
            return bits(address, 0, 4);
        }
        return isMapped(address) ? bits(address, 12, 4) : bits(address, 8, 8);
    }

    /**
     * The IPv4 address that an IPv6 address carries in one of the forms a translator or tunnel
     * delivers to that IPv4 address, as 32 bits; -1 for any other address (IPv4, IPv4-mapped,
     * plain IPv6). The forms: NAT64's well-known prefix {@code 64:ff9b::/96} (RFC 6052: the last 32
     * bits), 6to4 {@code 2002::/16} (RFC 3056: bits 16 to 47) and IPv4-compatible {@code ::a.b.c.d}
     * (RFC 4291, deprecated: the last 32 bits; not {@code ::} nor {@code ::1}).
     */
    static long embeddedIpv4(byte[] address) {
        if (address.length != 16) {
            return -1;
        }
        long high = bits(address, 0, 8);
        long low = bits(address, 8, 8);
        if (high == NAT64_HIGH && low >>> 32 == 0) {
            return low & 0xFFFF_FFFFL;
        }
        if (high >>> 48 == 0x2002) {
            return high >>> 16 & 0xFFFF_FFFFL;
        }
        if (high == 0 && low >>> 32 == 0 && low > 1) {
            return low;
        }
        return -1;
    }

    /** The name of the form {@link #embeddedIpv4} found: "NAT64", "6to4" or "IPv4-compatible"; null for none. */
    static String embeddingForm(byte[] address) {
        if (embeddedIpv4(address) < 0) {
            return null;
        }
        long high = bits(address, 0, 8);
        return high == NAT64_HIGH ? "NAT64" : high == 0 ? "IPv4-compatible" : "6to4";
    }

    /**
     * The bytes of an IPv4 literal ("192.0.2.1": four decimal parts without leading zeros) or an
     * IPv6 literal ("2001:db8::1", "::ffff:192.0.2.1"; no zone id), or null if {@code text} is
     * neither.
     */
    static byte[] parse(String text) {
        return text.indexOf(':') >= 0 ? parseIpv6(text) : parseIpv4(text);
    }

    /** "192.0.2.1" for IPv4; RFC 5952 text for IPv6 ("2001:db8::1"). */
    static String format(boolean ipv4, long high, long low) {
        if (ipv4) {
            return (low >>> 24 & 0xFF) + "." + (low >>> 16 & 0xFF) + "." + (low >>> 8 & 0xFF) + "." + (low & 0xFF);
        }
        int[] groups = new int[8];
        for (int i = 0; i < 4; i++) {
            groups[i] = (int) (high >>> (48 - 16 * i)) & 0xFFFF;
            groups[i + 4] = (int) (low >>> (48 - 16 * i)) & 0xFFFF;
        }
        int runStart = -1;
        int runLength = 1; // "::" stands for two or more zero groups (RFC 5952 4.2.2)
        for (int i = 0; i < 8; i++) {
            if (groups[i] != 0) {
                continue;
            }
            int end = i;
            while (end < 8 && groups[end] == 0) {
                end++;
            }
            if (end - i > runLength) {
                runStart = i;
                runLength = end - i;
            }
            i = end;
        }
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            if (i == runStart) {
                text.append("::");
                i += runLength - 1;
            } else {
                if (text.length() > 0 && text.charAt(text.length() - 1) != ':') {
                    text.append(':');
                }
                text.append(Integer.toHexString(groups[i]));
            }
        }
        return text.toString();
    }

    /** The text of {@code address} (4 or 16 bytes) as given: a mapped address stays "::ffff:a.b.c.d". */
    static String format(byte[] address) {
        if (isMapped(address)) {
            return "::ffff:" + format(true, 0, low(address));
        }
        return format(address.length == 4, address.length == 4 ? 0 : bits(address, 0, 8), low(address));
    }

    private static boolean isMapped(byte[] address) {
        if (address.length != 16) {
            return false;
        }
        for (int i = 0; i < 10; i++) {
            if (address[i] != 0) {
                return false;
            }
        }
        return address[10] == (byte) 0xFF && address[11] == (byte) 0xFF;
    }

    /** {@code count} bytes (at most 8) from {@code from} as an unsigned big-endian number. */
    static long bits(byte[] bytes, int from, int count) {
        long value = 0;
        for (int i = from; i < from + count; i++) {
            value = value << 8 | bytes[i] & 0xFF;
        }
        return value;
    }

    private static byte[] parseIpv4(String text) {
        String[] parts = text.split("\\.", -1);
        if (parts.length != 4) {
            return null;
        }
        byte[] address = new byte[4];
        for (int i = 0; i < 4; i++) {
            String part = parts[i];
            if (part.isEmpty() || part.length() > 3 || (part.length() > 1 && part.charAt(0) == '0')
                    || !part.chars().allMatch(c -> c >= '0' && c <= '9')) {
                return null;
            }
            int value = Integer.parseInt(part);
            if (value > 255) {
                return null;
            }
            address[i] = (byte) value;
        }
        return address;
    }

    private static byte[] parseIpv6(String text) {
        int gap = text.indexOf("::");
        if (gap >= 0 && text.indexOf("::", gap + 1) >= 0) {
            return null;
        }
        int[] head = gap >= 0 ? groups(text.substring(0, gap), false) : groups(text, true);
        int[] tail = gap >= 0 ? groups(text.substring(gap + 2), true) : new int[0];
        if (head == null || tail == null) {
            return null;
        }
        int given = head.length + tail.length;
        if (gap >= 0 ? given > 7 : given != 8) {
            return null;
        }
        byte[] address = new byte[16];
        for (int i = 0; i < head.length; i++) {
            address[2 * i] = (byte) (head[i] >>> 8);
            address[2 * i + 1] = (byte) head[i];
        }
        for (int i = 0; i < tail.length; i++) {
            int at = 16 - 2 * (tail.length - i);
            address[at] = (byte) (tail[i] >>> 8);
            address[at + 1] = (byte) tail[i];
        }
        return address;
    }

    /** The 16-bit groups of "a:b:c" ("" is none); the last may be dotted IPv4 if {@code last}. */
    private static int[] groups(String text, boolean last) {
        if (text.isEmpty()) {
            return new int[0];
        }
        String[] parts = text.split(":", -1);
        byte[] ipv4 = last && parts[parts.length - 1].indexOf('.') >= 0 ? parseIpv4(parts[parts.length - 1]) : null;
        int hexParts = ipv4 != null ? parts.length - 1 : parts.length;
        int[] groups = new int[ipv4 != null ? parts.length + 1 : parts.length];
        for (int i = 0; i < hexParts; i++) {
            String part = parts[i];
            if (part.isEmpty() || part.length() > 4) {
                return null;
            }
            int value = 0;
            for (int j = 0; j < part.length(); j++) {
                int digit = hexDigit(part.charAt(j));
                if (digit < 0) {
                    return null;
                }
                value = value << 4 | digit;
            }
            groups[i] = value;
        }
        if (ipv4 != null) {
            groups[hexParts] = (ipv4[0] & 0xFF) << 8 | ipv4[1] & 0xFF;
            groups[hexParts + 1] = (ipv4[2] & 0xFF) << 8 | ipv4[3] & 0xFF;
        }
        return groups;
    }

    private static int hexDigit(char c) {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        return c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    }
}
