package dev.dgramd.daemon.grpc;

import com.google.protobuf.InvalidProtocolBufferException;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * One SendStreamRequest as its bytes, read by hand: protobuf's generated parser makes four
 * objects and two arrays per datagram (the message, its builder, the payload's copy and
 * ByteString, the address's String), this view none. {@link #parse} checks the bytes as that
 * parser would (same accepted input, same complaints: an invalid tag or wire type, a truncated or
 * malformed varint, a bad length, invalid UTF-8 in a string, a stray end-group tag; unknown
 * fields skipped, the last of a repeated scalar wins); a {@link Datagrams} cursor then reads the
 * datagrams in order.
 *
 * <p>The bytes live in an array the parsing thread reuses ({@link Marshaller}): a view is valid
 * until that thread parses its next message, so whoever gets one reads it at once (the SendStream
 * call does, in its {@code onNext}, on the thread gRPC parsed it on).
 */
final class SendBatchView {
    /**
     * The largest message whose bytes go into the parsing thread's array (a transport event loop's:
     * the server runs calls on them); a larger one gets an array of its own. The Java client's
     * batches stay below it (256 KiB of payloads, one datagram more).
     */
    static final int MAX_REUSED = 512 * 1024;
    private static final ThreadLocal<byte[][]> REUSED = ThreadLocal.withInitial(() -> new byte[1][]);
    private static final int VARINT = 0;
    private static final int FIXED64 = 1;
    private static final int LENGTH_DELIMITED = 2;
    private static final int START_GROUP = 3;
    private static final int END_GROUP = 4;
    private static final int FIXED32 = 5;
    private static final int MAX_NESTING = 100;

    private final byte[] bytes;
    private final int length;
    private final String socketId;
    private final int count;
    private final long payloadBytes;

    private SendBatchView(byte[] bytes, int length, String socketId, int count, long payloadBytes) {
        this.bytes = bytes;
        this.length = length;
        this.socketId = socketId;
        this.count = count;
        this.payloadBytes = payloadBytes;
    }

    /** socket_id. */
    String socketId() {
        return socketId;
    }

    /** How many datagrams. */
    int count() {
        return count;
    }

    /** Their payload bytes, all together. */
    long payloadBytes() {
        return payloadBytes;
    }

    /**
     * The request in {@code bytes[0, length)}, checked.
     *
     * @throws InvalidProtocolBufferException as protobuf's parser of SendStreamRequest would
     */
    static SendBatchView parse(byte[] bytes, int length) throws InvalidProtocolBufferException {
        Reader r = new Reader(bytes, 0, length);
        String socketId = "";
        int count = 0;
        long payload = 0;
        int lastIdStart = -1;
        int lastIdLength = 0;
        Reader d = new Reader(bytes, 0, 0);
        while (!r.atEnd()) {
            int tag = r.tag();
            if (tag == (1 << 3 | LENGTH_DELIMITED)) {
                int n = r.length();
                Reader.checkUtf8(bytes, r.position, n); // each one, as protobuf does, though the last wins
                lastIdStart = r.position;
                lastIdLength = n;
                r.skip(n);
            } else if (tag == (2 << 3 | LENGTH_DELIMITED)) {
                int n = r.length();
                d.reset(r.position, n);
                payload += checkDatagram(d);
                r.skip(n);
                count++;
            } else {
                r.skipField(tag, 0);
            }
        }
        if (lastIdStart >= 0) {
            socketId = new String(bytes, lastIdStart, lastIdLength, StandardCharsets.UTF_8);
        }
        return new SendBatchView(bytes, length, socketId, count, payload);
    }

    /** Checks one OutboundDatagram in {@code d}; returns its payload's size. */
    private static int checkDatagram(Reader d) throws InvalidProtocolBufferException {
        int data = 0;
        while (!d.atEnd()) {
            int tag = d.tag();
            switch (tag) {
                case 1 << 3 | VARINT, 3 << 3 | VARINT, 5 << 3 | VARINT -> d.varint();
                case 2 << 3 | LENGTH_DELIMITED -> {
                    data = d.length();
                    d.skip(data);
                }
                case 4 << 3 | LENGTH_DELIMITED -> {
                    int n = d.length();
                    Reader.checkUtf8(d.bytes, d.position, n);
                    d.skip(n);
                }
                default -> d.skipField(tag, 0);
            }
        }
        return data;
    }

    /**
     * Reads the datagrams of one view after another; made once, reused. An address that repeats
     * the previous datagram's (of this view or an earlier one) is the same String.
     */
    static final class Datagrams {
        private final Reader top = new Reader(null, 0, 0);
        private final Reader d = new Reader(null, 0, 0);
        private byte[] lastAddress = new byte[0];
        private String lastAddressText = "";
        private long id;
        private int port;
        private String address;
        private boolean emitError;
        private int dataOffset;
        private int dataLength;

        /** Starts reading {@code view}. */
        void start(SendBatchView view) {
            top.bytes = view.bytes;
            top.reset(0, view.length);
            d.bytes = view.bytes;
        }

        /** Moves to the next datagram; false when there is none. The view was checked: no failure here. */
        boolean next() {
            try {
                while (!top.atEnd()) {
                    int tag = top.tag();
                    if (tag == (2 << 3 | LENGTH_DELIMITED)) {
                        int n = top.length();
                        d.reset(top.position, n);
                        top.skip(n);
                        read();
                        return true;
                    }
                    top.skipField(tag, 0);
                }
                return false;
            } catch (InvalidProtocolBufferException e) {
                throw new IllegalStateException("a checked SendStreamRequest does not read", e);
            }
        }

        private void read() throws InvalidProtocolBufferException {
            id = 0;
            port = 0;
            address = "";
            emitError = false;
            dataOffset = 0;
            dataLength = 0;
            int addressStart = -1;
            int addressLength = 0;
            while (!d.atEnd()) {
                int tag = d.tag();
                switch (tag) {
                    case 1 << 3 | VARINT -> id = d.varint();
                    case 3 << 3 | VARINT -> port = (int) d.varint();
                    case 5 << 3 | VARINT -> emitError = d.varint() != 0;
                    case 2 << 3 | LENGTH_DELIMITED -> {
                        dataLength = d.length();
                        dataOffset = d.position;
                        d.skip(dataLength);
                    }
                    case 4 << 3 | LENGTH_DELIMITED -> {
                        addressLength = d.length();
                        addressStart = d.position;
                        d.skip(addressLength);
                    }
                    default -> d.skipField(tag, 0);
                }
            }
            if (addressStart >= 0 && addressLength > 0) {
                if (!Arrays.equals(d.bytes, addressStart, addressStart + addressLength, lastAddress, 0,
                        lastAddress.length)) {
                    lastAddress = Arrays.copyOfRange(d.bytes, addressStart, addressStart + addressLength);
                    lastAddressText = new String(lastAddress, StandardCharsets.UTF_8);
                }
                address = lastAddressText;
            }
        }

        long id() {
            return id;
        }

        int port() {
            return port;
        }

        /** The address, "" when absent. */
        String address() {
            return address;
        }

        boolean emitError() {
            return emitError;
        }

        /** The array holding the payload (the view's). */
        byte[] dataArray() {
            return d.bytes;
        }

        int dataOffset() {
            return dataOffset;
        }

        int dataLength() {
            return dataLength;
        }
    }

    /** The wire format, read from an array region: what protobuf's CodedInputStream does, for the types used here. */
    private static final class Reader {
        byte[] bytes;
        int position;
        int limit;

        Reader(byte[] bytes, int position, int length) {
            this.bytes = bytes;
            reset(position, length);
        }

        void reset(int position, int length) {
            this.position = position;
            this.limit = position + length;
        }

        boolean atEnd() {
            return position >= limit;
        }

        int tag() throws InvalidProtocolBufferException {
            int tag = (int) varint();
            if (tag >>> 3 == 0) {
                throw new InvalidProtocolBufferException("Protocol message contained an invalid tag (zero).");
            }
            return tag;
        }

        /**
         * A varint, as protobuf's array decoder reads it, quirk included: of a ten-byte varint
         * with at least ten bytes left (its fast path) bit 63 is always set, else (its slow path)
         * bit 63 is the tenth byte's lowest bit. Only canonical encodings agree on it.
         */
        long varint() throws InvalidProtocolBufferException {
            boolean fastPath = limit - position >= 10;
            long value = 0;
            for (int shift = 0; shift < 64; shift += 7) {
                if (position >= limit) {
                    throw truncated();
                }
                byte b = bytes[position++];
                value |= (long) (b & 0x7f) << shift;
                if (b >= 0) {
                    return shift == 63 && fastPath ? value | Long.MIN_VALUE : value;
                }
            }
            throw new InvalidProtocolBufferException("CodedInputStream encountered a malformed varint.");
        }

        /** A length prefix, checked against what is left. */
        int length() throws InvalidProtocolBufferException {
            int n = (int) varint();
            if (n < 0) {
                throw new InvalidProtocolBufferException("CodedInputStream encountered an embedded string or message "
                        + "which claimed to have negative size.");
            }
            if (n > limit - position) {
                throw truncated();
            }
            return n;
        }

        void skip(int n) throws InvalidProtocolBufferException {
            if (n > limit - position) {
                throw truncated();
            }
            position += n;
        }

        /** Skips the field of {@code tag} (unknown here), groups included. */
        void skipField(int tag, int depth) throws InvalidProtocolBufferException {
            switch (tag & 7) {
                case VARINT -> varint();
                case FIXED64 -> skip(8);
                case LENGTH_DELIMITED -> skip(length());
                case START_GROUP -> {
                    if (depth >= MAX_NESTING) {
                        throw new InvalidProtocolBufferException("Protocol message had too many levels of nesting."
                                + "  May be malicious.  Use setRecursionLimit() to increase the recursion depth limit.");
                    }
                    int end = (tag >>> 3) << 3 | END_GROUP;
                    while (true) {
                        if (atEnd()) {
                            throw truncated();
                        }
                        int t = tag();
                        if (t == end) {
                            break;
                        }
                        skipField(t, depth + 1);
                    }
                }
                case END_GROUP -> throw new InvalidProtocolBufferException(
                        "Protocol message end-group tag did not match expected tag.");
                case FIXED32 -> skip(4);
                default -> throw new InvalidProtocolBufferException("Protocol message tag had invalid wire type.");
            }
        }

        private static InvalidProtocolBufferException truncated() {
            return new InvalidProtocolBufferException("While parsing a protocol message, the input ended unexpectedly "
                    + "in the middle of a field.  This could mean either that the input has been truncated or that an "
                    + "embedded message misreported its own length.");
        }

        /** Well-formed UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF), as protobuf requires of a string. */
        static void checkUtf8(byte[] b, int offset, int length) throws InvalidProtocolBufferException {
            int i = offset;
            int end = offset + length;
            while (i < end) {
                int c = b[i++];
                if (c >= 0) {
                    continue;
                }
                c &= 0xff;
                int more;
                int min;
                if (c >= 0xc2 && c <= 0xdf) {
                    more = 1;
                    min = 0x80;
                } else if (c >= 0xe0 && c <= 0xef) {
                    more = 2;
                    min = 0x800;
                } else if (c >= 0xf0 && c <= 0xf4) {
                    more = 3;
                    min = 0x10000;
                } else {
                    throw invalidUtf8();
                }
                if (end - i < more) {
                    throw invalidUtf8();
                }
                int cp = c & (0x3f >> more);
                for (int k = 0; k < more; k++) {
                    int cc = b[i++] & 0xff;
                    if ((cc & 0xc0) != 0x80) {
                        throw invalidUtf8();
                    }
                    cp = cp << 6 | (cc & 0x3f);
                }
                if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
                    throw invalidUtf8();
                }
            }
        }

        private static InvalidProtocolBufferException invalidUtf8() {
            return new InvalidProtocolBufferException("Protocol message had invalid UTF-8.");
        }
    }

    /** SendStreamRequest's marshaller for the daemon's side of the call: parses into a view; never streams one. */
    static final class Marshaller implements MethodDescriptor.Marshaller<SendBatchView> {
        @Override
        public InputStream stream(SendBatchView value) {
            return new java.io.ByteArrayInputStream(value.bytes, 0, value.length);
        }

        @Override
        public SendBatchView parse(InputStream stream) {
            try {
                int size = stream.available();
                byte[][] slot = REUSED.get();
                byte[] array = slot[0];
                if (array == null || array.length < size) {
                    array = new byte[Math.max(size, 4096)];
                    if (array.length <= MAX_REUSED) {
                        slot[0] = array;
                    }
                }
                int n = 0;
                while (true) {
                    if (n == array.length) {
                        // available() told less than there is (gRPC's streams know their length): grow, unshared
                        int b = stream.read();
                        if (b < 0) {
                            break;
                        }
                        array = Arrays.copyOf(array, 2 * array.length + 1);
                        array[n++] = (byte) b;
                    }
                    int r = stream.read(array, n, array.length - n);
                    if (r < 0) {
                        break;
                    }
                    n += r;
                }
                return SendBatchView.parse(array, n);
            } catch (IOException e) { // InvalidProtocolBufferException among them, as protobuf's marshaller answers
                throw Status.INTERNAL.withDescription("Invalid protobuf byte sequence").withCause(e).asRuntimeException();
            }
        }
    }
}
