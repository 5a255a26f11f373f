package dev.dgramd.client.internal;

import io.grpc.KnownLength;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/** Protobuf wire-format reading and writing, for the hand-coded messages of the hot paths. */
final class ProtoWire {
    static final int VARINT = 0;
    static final int FIXED64 = 1;
    static final int LENGTH_DELIMITED = 2;
    static final int START_GROUP = 3;
    static final int END_GROUP = 4;
    static final int FIXED32 = 5;

    private ProtoWire() {
    }

    static int tag(int field, int wireType) {
        return field << 3 | wireType;
    }

    static int varint64Size(long v) {
        return v == 0 ? 1 : (64 - Long.numberOfLeadingZeros(v) + 6) / 7;
    }

    /** A length-delimited field of {@code length} bytes, tag (field number below 16) included. */
    static int bytesFieldSize(int length) {
        return 1 + varint64Size(length) + length;
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** A message's bytes, read whole out of gRPC's stream into this thread's scratch array. */
    static final class Input {
        private static final int KEEP_MAX = 1 << 20;
        private static final ThreadLocal<Input> SCRATCH = ThreadLocal.withInitial(Input::new);

        byte[] buf = new byte[4096];
        int length;

        /** Valid until the thread's next call. */
        static Input readFully(InputStream stream) throws IOException {
            int known = stream instanceof KnownLength ? stream.available() : -1;
            if (known < 0) {
                Input one = new Input();
                one.buf = stream.readAllBytes();
                one.length = one.buf.length;
                return one;
            }
            Input in = known <= KEEP_MAX ? SCRATCH.get() : new Input();
            if (in.buf.length < known) {
                in.buf = new byte[Math.max(known, Math.min(KEEP_MAX, in.buf.length * 2))];
            }
            int n = 0;
            while (n < known) {
                int r = stream.read(in.buf, n, known - n);
                if (r < 0) {
                    break;
                }
                n += r;
            }
            if (stream.read() >= 0) {
                throw new IOException("message longer than announced");
            }
            in.length = n;
            return in;
        }
    }

    /** Reads fields out of an array. Throws IOException on malformed input. */
    static final class Reader {
        byte[] buf;
        int pos;
        int end;

        Reader(byte[] buf, int pos, int end) {
            this.buf = buf;
            this.pos = pos;
            this.end = end;
        }

        /** Reads {@code buf[pos, end)} from now on; returns this. */
        Reader reset(byte[] buf, int pos, int end) {
            this.buf = buf;
            this.pos = pos;
            this.end = end;
            return this;
        }

        boolean more() {
            return pos < end;
        }

        int tag() throws IOException {
            long t = varint64();
            if (t >>> 3 == 0 || t > 0xffff_ffffL) {
                throw new IOException("invalid tag " + t);
            }
            return (int) t;
        }

        long varint64() throws IOException {
            long v = 0;
            for (int shift = 0; shift < 64; shift += 7) {
                if (pos >= end) {
                    throw new IOException("truncated varint");
                }
                byte b = buf[pos++];
                v |= (long) (b & 0x7f) << shift;
                if (b >= 0) {
                    return v;
                }
            }
            throw new IOException("malformed varint");
        }

        /** The length of a length-delimited field, checked against the end. */
        int length() throws IOException {
            long len = varint64();
            if (len < 0 || len > end - pos) {
                throw new IOException("truncated field");
            }
            return (int) len;
        }

        /** Reads a length and answers where the field ends. */
        int lengthDelimitedEnd() throws IOException {
            int len = length();
            return pos + len;
        }

        void expectAt(int at) throws IOException {
            if (pos != at) {
                throw new IOException("field overruns its message");
            }
        }

        /** The next {@code len} bytes as a stream for a protobuf parser (rare fields). */
        java.io.ByteArrayInputStream slice(int len) {
            return new java.io.ByteArrayInputStream(buf, pos, len);
        }

        /** Skips the value of a field with tag {@code tag}. */
        void skip(int tag) throws IOException {
            switch (tag & 7) {
                case VARINT -> varint64();
                case FIXED64 -> advance(8);
                case LENGTH_DELIMITED -> advance(length());
                case FIXED32 -> advance(4);
                case START_GROUP -> {
                    int field = tag >>> 3;
                    while (true) {
                        int t = tag();
                        if (t == ProtoWire.tag(field, END_GROUP)) {
                            return;
                        }
                        skip(t);
                    }
                }
                default -> throw new IOException("unexpected wire type in tag " + tag);
            }
        }

        private void advance(int n) throws IOException {
            if (n > end - pos) {
                throw new IOException("truncated field");
            }
            pos += n;
        }
    }

    /** Writes fields through this thread's scratch array, in chunks; large byte fields go out directly. */
    static final class Writer {
        private static final int SIZE = 8192;
        private static final ThreadLocal<Writer> SCRATCH = ThreadLocal.withInitial(Writer::new);

        private final byte[] buf = new byte[SIZE];
        private int pos;
        private OutputStream out;

        static Writer get(OutputStream out) {
            Writer w = SCRATCH.get();
            if (w.out != null) {
                w = new Writer(); // re-entered (a stream writing through another): no sharing
            }
            w.out = out;
            w.pos = 0;
            return w;
        }

        private void room(int n) throws IOException {
            if (pos + n > SIZE) {
                out.write(buf, 0, pos);
                pos = 0;
            }
        }

        void tag(int field, int wireType) throws IOException {
            varint(ProtoWire.tag(field, wireType));
        }

        void varint(long v) throws IOException {
            room(10);
            while ((v & ~0x7fL) != 0) {
                buf[pos++] = (byte) ((v & 0x7f) | 0x80);
                v >>>= 7;
            }
            buf[pos++] = (byte) v;
        }

        void bytesField(int field, byte[] value) throws IOException {
            bytesField(field, value, 0, value.length);
        }

        /** A bytes field of {@code value[offset, offset+length)}. */
        void bytesField(int field, byte[] value, int offset, int length) throws IOException {
            tag(field, LENGTH_DELIMITED);
            varint(length);
            if (length > SIZE / 4) {
                room(SIZE); // flushes
                out.write(value, offset, length);
            } else {
                room(length);
                System.arraycopy(value, offset, buf, pos, length);
                pos += length;
            }
        }

        void finish() throws IOException {
            if (pos > 0) {
                out.write(buf, 0, pos);
                pos = 0;
            }
        }

        /** Done with this writer (written or not). */
        void release() {
            pos = 0;
            out = null;
        }
    }
}
