package dev.dgramd.ctl;

import dev.dgramd.proto.v1.AddressInfo;
import dev.dgramd.proto.v1.SocketType;
import java.time.Duration;
import java.util.HexFormat;

/** How dgramctl writes addresses, payloads and durations, and reads hex payloads. */
final class Formats {
    private Formats() {
    }

    /** "127.0.0.1:5000", "[::1]:5000"; "-" for an unset address. */
    static String hostPort(AddressInfo a, boolean set) {
        if (!set) {
            return "-";
        }
        return (a.getAddress().contains(":") ? "[" + a.getAddress() + "]" : a.getAddress()) + ":" + a.getPort();
    }

    /** A socket type as Node names it: "udp4", "udp6" (the enum value without its SOCKET_TYPE_ prefix). */
    static String socketType(SocketType type) {
        return type.name().replaceFirst("^SOCKET_TYPE_", "").toLowerCase(java.util.Locale.ROOT);
    }

    /** Lower-case hex, two digits a byte, nothing between: what {@code send --hex} reads. */
    static String hex(byte[] data) {
        return HexFormat.of().formatHex(data);
    }

    /**
     * The payload as UTF-8 text in double quotes, with quotes, backslashes and control characters
     * escaped (\n, \t, \x07), so that one datagram is one line.
     */
    static String text(byte[] data) {
        String s = new String(data, java.nio.charset.StandardCharsets.UTF_8);
        StringBuilder out = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    if (c < 0x20 || c == 0x7f) {
                        out.append(String.format("\\x%02x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        return out.append('"').toString();
    }

    /**
     * The bytes written in {@code hex} (two digits a byte; spaces and colons between bytes allowed).
     *
     * @throws IllegalArgumentException when it is not an even number of hex digits
     */
    static byte[] parseHex(String hex) {
        String digits = hex.replaceAll("[\\s:]", "");
        if (digits.length() % 2 != 0) {
            throw new IllegalArgumentException("--hex needs two hex digits a byte, got '" + hex + "'");
        }
        try {
            return HexFormat.of().parseHex(digits);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--hex needs hex digits (0-9, a-f), got '" + hex + "'");
        }
    }

    /** "3d04h05m06s", "5m06s", "7.250s". */
    static String duration(Duration d) {
        long s = d.getSeconds();
        if (s < 60) {
            return String.format("%d.%03ds", s, d.toMillisPart());
        }
        StringBuilder out = new StringBuilder();
        if (s >= 86_400) {
            out.append(s / 86_400).append('d');
        }
        if (s >= 3_600) {
            out.append(String.format(out.length() > 0 ? "%02dh" : "%dh", (s % 86_400) / 3_600));
        }
        out.append(String.format(out.length() > 0 ? "%02dm" : "%dm", (s % 3_600) / 60));
        return out.append(String.format("%02ds", s % 60)).toString();
    }
}
