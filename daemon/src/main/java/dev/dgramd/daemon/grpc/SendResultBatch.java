package dev.dgramd.daemon.grpc;

import com.google.protobuf.CodedOutputStream;
import dev.dgramd.proto.v1.Error;
import java.util.Arrays;

/**
 * One SendStreamResponse as the daemon writes it: one socket's results, encoded by hand from
 * arrays (protobuf's builder makes a SendResult object per datagram). The bytes are those
 * protobuf writes for the same message: fields in number order, default values left out.
 * Confined to the thread that fills it until it is handed to gRPC.
 */
final class SendResultBatch implements ReusedResponseBuffers.Encoded {
    private final String socketId;
    private long[] ids;
    private int[] bytes;
    /** Null while no result failed. */
    private Error[] errors;
    private int count;

    /** @param capacity the results expected (more may be added) */
    SendResultBatch(String socketId, int capacity) {
        this.socketId = socketId;
        int n = Math.max(1, capacity);
        this.ids = new long[n];
        this.bytes = new int[n];
    }

    /** Adds a result: {@code error} null when {@code sent} bytes were sent. */
    void add(long id, int sent, Error error) {
        if (count == ids.length) {
            int n = 2 * count;
            ids = Arrays.copyOf(ids, n);
            bytes = Arrays.copyOf(bytes, n);
            if (errors != null) {
                errors = Arrays.copyOf(errors, n);
            }
        }
        if (error != null && errors == null) {
            errors = new Error[ids.length];
        }
        ids[count] = id;
        bytes[count] = sent;
        if (errors != null) {
            errors[count] = error;
        }
        count++;
    }

    /** The results added. */
    int count() {
        return count;
    }

    /** The id of result {@code i}. */
    long id(int i) {
        return ids[i];
    }

    /** The bytes sent of result {@code i}. */
    int bytes(int i) {
        return bytes[i];
    }

    /** The error of result {@code i}, or null. */
    Error error(int i) {
        return errors == null ? null : errors[i];
    }

    private int resultSize(int i) {
        int size = 0;
        if (ids[i] != 0) {
            size += CodedOutputStream.computeUInt64Size(1, ids[i]);
        }
        if (bytes[i] != 0) {
            size += CodedOutputStream.computeUInt32Size(2, bytes[i]);
        }
        Error e = error(i);
        if (e != null) {
            size += CodedOutputStream.computeMessageSize(3, e);
        }
        return size;
    }

    @Override
    public int serializedSize() {
        int size = socketId.isEmpty() ? 0 : CodedOutputStream.computeStringSize(1, socketId);
        for (int i = 0; i < count; i++) {
            int r = resultSize(i);
            size += CodedOutputStream.computeTagSize(2) + CodedOutputStream.computeUInt32SizeNoTag(r) + r;
        }
        return size;
    }

    @Override
    public void writeTo(CodedOutputStream out) throws java.io.IOException {
        if (!socketId.isEmpty()) {
            out.writeString(1, socketId);
        }
        for (int i = 0; i < count; i++) {
            out.writeTag(2, com.google.protobuf.WireFormat.WIRETYPE_LENGTH_DELIMITED);
            out.writeUInt32NoTag(resultSize(i));
            if (ids[i] != 0) {
                out.writeUInt64(1, ids[i]);
            }
            if (bytes[i] != 0) {
                out.writeUInt32(2, bytes[i]);
            }
            Error e = error(i);
            if (e != null) {
                out.writeMessage(3, e);
            }
        }
    }
}
