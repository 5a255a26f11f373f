package dev.dgramd.client.internal;

import io.grpc.Drainable;
import io.grpc.KnownLength;
import io.grpc.MethodDescriptor;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/** A SendStreamRequest as written: one socket's datagrams, encoded from the ops themselves. */
final class SendBatch {
    final byte[] socketId;
    final SendOp[] ops;
    final int count;
    private int size = -1;

    SendBatch(byte[] socketId, SendOp[] ops, int count) {
        this.socketId = socketId;
        this.ops = ops;
        this.count = count;
    }

    /** The encoded size in bytes. */
    int size() {
        if (size < 0) {
            int total = socketId.length == 0 ? 0 : ProtoWire.bytesFieldSize(socketId.length);
            for (int i = 0; i < count; i++) {
                total += ProtoWire.bytesFieldSize(datagramSize(ops[i]));
            }
            size = total;
        }
        return size;
    }

    /**
     * An OutboundDatagram's body. Fields in the order written: id, port, emit_error, address,
     * data (the payload last, so that it can go out without a copy into the scratch buffer).
     */
    private static int datagramSize(SendOp op) {
        int size = 0;
        if (op.id != 0) {
            size += 1 + ProtoWire.varint64Size(op.id);
        }
        if (op.port != 0) {
            size += 1 + ProtoWire.varint64Size(op.port); // int32: a negative one takes 10 bytes
        }
        if (op.emitError()) {
            size += 2;
        }
        if (op.address.length > 0) {
            size += ProtoWire.bytesFieldSize(op.address.length);
        }
        if (op.bytes > 0) {
            size += ProtoWire.bytesFieldSize(op.bytes);
        }
        return size;
    }

    /** Writes the encoding to {@code out}; returns its size. */
    int writeTo(OutputStream out) throws IOException {
        ProtoWire.Writer w = ProtoWire.Writer.get(out);
        try {
            write(w);
            w.finish();
        } finally {
            w.release();
        }
        return size();
    }

    private void write(ProtoWire.Writer w) throws IOException {
        if (socketId.length > 0) {
            w.bytesField(1, socketId);
        }
        for (int i = 0; i < count; i++) {
            SendOp op = ops[i];
            w.tag(2, ProtoWire.LENGTH_DELIMITED);
            w.varint(datagramSize(op));
            if (op.id != 0) {
                w.tag(1, ProtoWire.VARINT);
                w.varint(op.id);
            }
            if (op.port != 0) {
                w.tag(3, ProtoWire.VARINT);
                w.varint(op.port); // sign-extended, as protobuf writes an int32
            }
            if (op.emitError()) {
                w.tag(5, ProtoWire.VARINT);
                w.varint(1);
            }
            if (op.address.length > 0) {
                w.bytesField(4, op.address);
            }
            if (op.bytes > 0) {
                w.bytesField(2, op.data(), op.offset, op.bytes);
            }
        }
    }

    static final class Marshaller implements MethodDescriptor.Marshaller<SendBatch> {
        @Override
        public InputStream stream(SendBatch value) {
            return new Stream(value);
        }

        @Override
        public SendBatch parse(InputStream stream) {
            throw new UnsupportedOperationException("the client does not read SendStreamRequest messages");
        }
    }


    /** A SendStreamRequest's bytes for gRPC: drained straight into the transport's buffers. */
    private static final class Stream extends InputStream implements Drainable, KnownLength {
        private final SendBatch batch;
        private byte[] bytes; // only when read as a plain stream (gRPC drains it)
        private int pos;
        private boolean drained;

        Stream(SendBatch batch) {
            this.batch = batch;
        }

        @Override
        public int drainTo(OutputStream target) throws IOException {
            if (drained || bytes != null) {
                throw new IllegalStateException("already read");
            }
            drained = true;
            return batch.writeTo(target);
        }

        @Override
        public int available() {
            if (bytes != null) {
                return bytes.length - pos;
            }
            return drained ? 0 : batch.size();
        }

        private byte[] bytes() throws IOException {
            if (bytes == null) {
                if (drained) {
                    throw new IllegalStateException("already drained");
                }
                java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(batch.size());
                batch.writeTo(out);
                bytes = out.toByteArray();
            }
            return bytes;
        }

        @Override
        public int read() throws IOException {
            byte[] b = bytes();
            return pos < b.length ? b[pos++] & 0xff : -1;
        }

        @Override
        public int read(byte[] dst, int off, int len) throws IOException {
            byte[] b = bytes();
            if (pos >= b.length) {
                return -1;
            }
            int n = Math.min(len, b.length - pos);
            System.arraycopy(b, pos, dst, off, n);
            pos += n;
            return n;
        }
    }
}
