package dev.dgramd.client.internal;

import io.grpc.MethodDescriptor;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;

/** A SendStreamResponse as read: the results' ids, bytes and errors (null when none failed). */
final class SendResults {
    long[] ids;
    int[] bytes;
    dev.dgramd.proto.v1.Error[] errors;
    int count;

    SendResults(int expected) {
        ids = new long[expected];
        bytes = new int[expected];
    }

    private int add(long id) {
        if (count == ids.length) {
            ids = Arrays.copyOf(ids, Math.max(4, count * 2));
            bytes = Arrays.copyOf(bytes, ids.length);
            if (errors != null) {
                errors = Arrays.copyOf(errors, ids.length);
            }
        }
        ids[count] = id;
        bytes[count] = 0;
        return count++;
    }

    private void error(int i, dev.dgramd.proto.v1.Error e) {
        if (errors == null) {
            errors = new dev.dgramd.proto.v1.Error[ids.length];
        }
        errors[i] = e;
    }

    /** Decodes a SendStreamResponse; unknown fields are skipped. */
    static SendResults decode(byte[] buf, int pos, int end) throws IOException {
        SendResults r = new SendResults(Math.max(4, Math.min(1024, (end - pos) / 8))); // a result: ~9 bytes
        ProtoWire.Reader in = new ProtoWire.Reader(buf, pos, end);
        while (in.more()) {
            int tag = in.tag();
            if (tag == ProtoWire.tag(2, ProtoWire.LENGTH_DELIMITED)) {
                int resultEnd = in.lengthDelimitedEnd();
                long id = 0;
                int sent = 0;
                dev.dgramd.proto.v1.Error error = null;
                while (in.pos < resultEnd) {
                    int t = in.tag();
                    if (t == ProtoWire.tag(1, ProtoWire.VARINT)) {
                        id = in.varint64();
                    } else if (t == ProtoWire.tag(2, ProtoWire.VARINT)) {
                        sent = (int) in.varint64();
                    } else if (t == ProtoWire.tag(3, ProtoWire.LENGTH_DELIMITED)) {
                        int len = in.length();
                        // a message field seen twice merges, as protobuf's parser does
                        error = error == null ? dev.dgramd.proto.v1.Error.parseFrom(in.slice(len))
                                : error.toBuilder().mergeFrom(in.slice(len)).build();
                        in.pos += len;
                    } else {
                        in.skip(t);
                    }
                }
                in.expectAt(resultEnd);
                int i = r.add(id);
                r.bytes[i] = sent;
                if (error != null) {
                    r.error(i, error);
                }
            } else {
                in.skip(tag);
            }
        }
        return r;
    }

    static final class Marshaller implements MethodDescriptor.Marshaller<SendResults> {
        @Override
        public InputStream stream(SendResults value) {
            throw new UnsupportedOperationException("the client does not write SendStreamResponse messages");
        }

        @Override
        public SendResults parse(InputStream stream) {
            try {
                ProtoWire.Input in = ProtoWire.Input.readFully(stream);
                return SendResults.decode(in.buf, 0, in.length);
            } catch (IOException e) {
                throw io.grpc.Status.INTERNAL.withDescription("invalid SendStreamResponse").withCause(e)
                        .asRuntimeException();
            }
        }
    }
}
