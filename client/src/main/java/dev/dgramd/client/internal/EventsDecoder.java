package dev.dgramd.client.internal;

import dev.dgramd.client.RemoteInfo;
import dev.dgramd.proto.v1.SocketEvent;
import io.grpc.MethodDescriptor;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Reads EventsResponse messages, keeping the last sender's RemoteInfo (and its address and family
 * as they came) so that a busy peer's is decoded once. One batch at a time. Public for the
 * benchmarks only.
 */
public final class EventsDecoder {
    private static final int EVENT_MESSAGE = 3;
    private static final byte[] NO_BYTES = {};
    private RemoteInfo lastRinfo;
    private byte[] lastAddress = NO_BYTES;
    private byte[] lastFamily = NO_BYTES;
    // Reused for each event and its 'message': one batch at a time.
    private final ProtoWire.Reader eventReader = new ProtoWire.Reader(NO_BYTES, 0, 0);
    private final ProtoWire.Reader messageReader = new ProtoWire.Reader(NO_BYTES, 0, 0);

    /**
     * Decodes an EventsResponse (the wire format of dgramd.v1.EventsResponse; unknown fields skipped).
     * Payloads are copied out, one array each; the RemoteInfo of the same sender, port and size as
     * the previous 'message' is that one again. On the transport thread, one batch at a time.
     */
    public EventBatch decode(byte[] buf, int pos, int end) throws IOException {
        // sized for small datagrams (an event costs about 30 bytes more than its payload)
        EventBatch batch = new EventBatch(Math.max(4, Math.min(1024, (end - pos) / 64)));
        ProtoWire.Reader in = new ProtoWire.Reader(buf, pos, end);
        while (in.more()) {
            int tag = in.tag();
            if (tag == ProtoWire.tag(1, ProtoWire.LENGTH_DELIMITED)) {
                int len = in.length();
                decodeEvent(batch, buf, in.pos, in.pos + len);
                in.pos += len;
            } else if (tag == ProtoWire.tag(2, ProtoWire.VARINT)) {
                batch.droppedMessages = in.varint64();
            } else if (tag == ProtoWire.tag(3, ProtoWire.VARINT)) {
                batch.droppedErrors = in.varint64();
            } else if (tag == ProtoWire.tag(4, ProtoWire.LENGTH_DELIMITED)) {
                int len = in.length();
                batch.socketId = new String(buf, in.pos, len, StandardCharsets.UTF_8);
                in.pos += len;
            } else if (tag == ProtoWire.tag(6, ProtoWire.VARINT)) {
                batch.droppedMessagesBudget = in.varint64();
            } else if (tag == ProtoWire.tag(7, ProtoWire.VARINT)) {
                batch.kernelDroppedMessages = in.varint64();
            } else {
                in.skip(tag);
            }
        }
        return batch;
    }

    /** One SocketEvent in {@code buf[start, end)}. */
    private void decodeEvent(EventBatch batch, byte[] buf, int start, int end) throws IOException {
        // The usual event is exactly one 'message' field: read it here. Anything else (another
        // event, a oneof field seen twice, ...) goes to protobuf's parser, which knows the rules.
        ProtoWire.Reader in = eventReader.reset(buf, start, end);
        int messageStart = -1;
        int messageEnd = -1;
        boolean plain = true;
        while (in.more() && plain) {
            int tag = in.tag();
            int field = tag >>> 3;
            if (field == EVENT_MESSAGE && (tag & 7) == ProtoWire.LENGTH_DELIMITED && messageStart < 0) {
                int len = in.length();
                messageStart = in.pos;
                messageEnd = in.pos + len;
                in.pos += len;
            } else if (field >= 1 && field <= 5) {
                plain = false;
            } else {
                in.skip(tag);
            }
        }
        int i = batch.add();
        if (plain && messageStart >= 0) {
            decodeMessage(batch, i, buf, messageStart, messageEnd);
        } else {
            batch.other(i, SocketEvent.parseFrom(java.nio.ByteBuffer.wrap(buf, start, end - start)));
        }
    }

    private void decodeMessage(EventBatch batch, int i, byte[] buf, int start, int end) throws IOException {
        ProtoWire.Reader in = messageReader.reset(buf, start, end);
        int dataStart = 0;
        int dataLen = 0;
        int addressStart = 0;
        int addressLen = 0;
        int familyStart = 0;
        int familyLen = 0;
        int port = 0;
        int size = 0;
        while (in.more()) {
            int tag = in.tag();
            if (tag == ProtoWire.tag(1, ProtoWire.LENGTH_DELIMITED)) {
                dataLen = in.length();
                dataStart = in.pos;
                in.pos += dataLen;
            } else if (tag == ProtoWire.tag(2, ProtoWire.LENGTH_DELIMITED)) {
                // rinfo; seen twice, the second merges into the first (its fields win)
                int rinfoEnd = in.lengthDelimitedEnd();
                while (in.pos < rinfoEnd) {
                    int t = in.tag();
                    if (t == ProtoWire.tag(1, ProtoWire.LENGTH_DELIMITED)) {
                        addressLen = in.length();
                        addressStart = in.pos;
                        in.pos += addressLen;
                    } else if (t == ProtoWire.tag(2, ProtoWire.LENGTH_DELIMITED)) {
                        familyLen = in.length();
                        familyStart = in.pos;
                        in.pos += familyLen;
                    } else if (t == ProtoWire.tag(3, ProtoWire.VARINT)) {
                        port = (int) in.varint64();
                    } else if (t == ProtoWire.tag(4, ProtoWire.VARINT)) {
                        size = (int) in.varint64();
                    } else {
                        in.skip(t);
                    }
                }
                in.expectAt(rinfoEnd);
            } else {
                in.skip(tag);
            }
        }
        byte[] data = dataLen == 0 ? NO_BYTES : Arrays.copyOfRange(buf, dataStart, dataStart + dataLen);
        if (size == 0) {
            size = data.length;
        }
        RemoteInfo last = lastRinfo;
        boolean sameSender = last != null
                && Arrays.equals(buf, addressStart, addressStart + addressLen, lastAddress, 0, lastAddress.length)
                && Arrays.equals(buf, familyStart, familyStart + familyLen, lastFamily, 0, lastFamily.length);
        RemoteInfo rinfo;
        if (sameSender && last.port() == port && last.size() == size) {
            rinfo = last; // immutable: the listeners may share it
        } else if (sameSender) {
            rinfo = new RemoteInfo(last.address(), last.family(), port, size);
        } else {
            rinfo = new RemoteInfo(new String(buf, addressStart, addressLen, StandardCharsets.UTF_8),
                    family(buf, familyStart, familyLen), port, size);
            lastAddress = Arrays.copyOfRange(buf, addressStart, addressStart + addressLen);
            lastFamily = Arrays.copyOfRange(buf, familyStart, familyStart + familyLen);
        }
        lastRinfo = rinfo;
        batch.data[i] = data;
        batch.rinfo[i] = rinfo;
    }

    /** Reads the Events stream's messages with a decoder of its own: one per call. */
    static final class Marshaller implements MethodDescriptor.Marshaller<EventBatch> {
        private final EventsDecoder decoder = new EventsDecoder();

        @Override
        public InputStream stream(EventBatch value) {
            throw new UnsupportedOperationException("the client does not write EventsResponse messages");
        }

        @Override
        public EventBatch parse(InputStream stream) {
            try {
                ProtoWire.Input in = ProtoWire.Input.readFully(stream);
                return decoder.decode(in.buf, 0, in.length);
            } catch (IOException e) {
                throw io.grpc.Status.INTERNAL.withDescription("invalid EventsResponse").withCause(e).asRuntimeException();
            }
        }
    }

    private static final byte[] IPV4 = {'I', 'P', 'v', '4'};
    private static final byte[] IPV6 = {'I', 'P', 'v', '6'};

    private static String family(byte[] buf, int start, int len) {
        if (Arrays.equals(buf, start, start + len, IPV4, 0, 4)) {
            return "IPv4";
        }
        if (Arrays.equals(buf, start, start + len, IPV6, 0, 4)) {
            return "IPv6";
        }
        return new String(buf, start, len, StandardCharsets.UTF_8);
    }
}
