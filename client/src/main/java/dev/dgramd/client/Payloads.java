package dev.dgramd.client;

import dev.dgramd.client.internal.Errors;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The payload of a {@link Socket#send}, from each form Node accepts, checked as Node checks it
 * (ERR_INVALID_ARG_TYPE, ERR_BUFFER_OUT_OF_BOUNDS). Each returns the array to send from: the
 * caller's own, or a new one (a string's bytes, a list's concatenation). The send copies what it
 * sends before it returns: the caller may change its array afterwards.
 */
final class Payloads {
    /** No UDP payload is larger (IPv4 allows 65507 bytes, IPv6 without jumbograms 65527). */
    static final int MAX_UDP_PAYLOAD = 65535;

    private Payloads() {}

    /** {@code msg}, checked. */
    static byte[] buffer(byte[] msg) {
        if (msg == null) {
            throw notABuffer();
        }
        return msg;
    }

    /** The UTF-8 bytes of {@code msg}. */
    static byte[] utf8(String msg) {
        if (msg == null) {
            throw notABuffer();
        }
        return msg.getBytes(StandardCharsets.UTF_8);
    }

    /** {@code msg}, checked to hold {@code [offset, offset+length)}. */
    static byte[] range(byte[] msg, int offset, int length) {
        if (msg == null) {
            throw notABuffer();
        }
        if (offset < 0 || offset > msg.length) {
            throw Errors.outOfBounds("offset");
        }
        if (length < 0 || (long) offset + length > msg.length) {
            throw Errors.outOfBounds("length");
        }
        return msg;
    }

    /**
     * The buffers, concatenated; more than {@link #MAX_UDP_PAYLOAD} bytes in all give an array one
     * byte longer than that (answered EMSGSIZE without being sent: no need to copy).
     */
    static byte[] concat(List<byte[]> msg) {
        if (msg == null) {
            throw notABuffer();
        }
        byte[][] parts = msg.toArray(new byte[0][]); // one pass over what the list holds now
        long total = 0;
        for (byte[] part : parts) {
            if (part == null) {
                throw Errors.invalidArgType("buffer list arguments", "of type string or an instance of "
                        + "Buffer, TypedArray, or DataView", msg);
            }
            total += part.length;
        }
        if (total > MAX_UDP_PAYLOAD) {
            return new byte[MAX_UDP_PAYLOAD + 1];
        }
        byte[] out = new byte[(int) total];
        int pos = 0;
        for (byte[] part : parts) {
            System.arraycopy(part, 0, out, pos, part.length);
            pos += part.length;
        }
        return out;
    }

    private static DgramException notABuffer() {
        return Errors.invalidArgType("buffer", "of type string or an instance of Buffer, "
                + "TypedArray, or DataView", null);
    }
}
