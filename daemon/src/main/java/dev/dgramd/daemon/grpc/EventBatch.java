package dev.dgramd.daemon.grpc;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.WireFormat;
import dev.dgramd.daemon.udp.SocketEvent;
import java.io.IOException;
import java.util.Arrays;

/**
 * One EventsResponse as the daemon writes it: one socket's events, its 'message' events encoded by
 * hand straight from {@code udp/}'s (protobuf's builders make a SocketEvent, a Message and a
 * ByteString per datagram). The bytes are those protobuf writes for the same message: fields in
 * number order, default values left out. The other events, few, are the contract's SocketEvent,
 * built by {@link Protos}.
 *
 * <p>A batch shares the payload arrays of its 'message' events and holds no state of the socket's.
 * A borrowed message's bytes ({@link SocketEvent.Message#borrowed()}) are valid only until its read
 * burst ends, so a batch with one is encoded before then: gRPC serializes a message in the call that
 * hands it over. Filled on one thread (the socket's event loop), then handed to gRPC and not changed
 * again.
 */
final class EventBatch implements ReusedResponseBuffers.Encoded {
    private final String socketId;
    private final boolean attached;
    private long droppedMessages;
    private long droppedErrors;
    private long droppedMessagesBudget;
    private long kernelDroppedMessages;
    /** Each a {@link SocketEvent.Message} (with its sender in {@link #senders}) or the contract's SocketEvent. */
    private Object[] events;
    private Protos.Sender[] senders;
    private int count;

    /**
     * @param socketId the id the batch announces, or null
     * @param attached whether the announcement says the stream attached to an open socket
     * @param capacity the events expected (more may be added)
     */
    EventBatch(String socketId, boolean attached, int capacity) {
        this.socketId = socketId == null ? "" : socketId;
        this.attached = attached;
        this.events = new Object[capacity];
        this.senders = new Protos.Sender[capacity];
    }

    /** A batch of no event that announces {@code socketId}. */
    static EventBatch announcement(String socketId, boolean attached) {
        return new EventBatch(socketId, attached, 0);
    }

    /** Sets the counts of what was dropped since the previous batch. */
    void dropped(long messages, long errors, long messagesBudget, long kernelMessages) {
        this.droppedMessages = messages;
        this.droppedErrors = errors;
        this.droppedMessagesBudget = messagesBudget;
        this.kernelDroppedMessages = kernelMessages;
    }

    /** Adds 'message' {@code m} from {@code sender} (its address as {@link Protos#sender} wrote it). */
    void add(SocketEvent.Message m, Protos.Sender sender) {
        room();
        events[count] = m;
        senders[count] = sender;
        count++;
    }

    /** Adds {@code e}, an event other than 'message'. */
    void add(dev.dgramd.proto.v1.SocketEvent e) {
        room();
        events[count++] = e;
    }

    private void room() {
        if (count == events.length) {
            int n = Math.max(4, 2 * count);
            events = Arrays.copyOf(events, n);
            senders = Arrays.copyOf(senders, n);
        }
    }

    /** The events added. */
    int count() {
        return count;
    }

    /** The announced id, or "" when the batch announces none. */
    String socketId() {
        return socketId;
    }

    /** True when the last event is 'close': the stream's last batch. */
    boolean endsWithClose() {
        return count > 0 && events[count - 1] instanceof dev.dgramd.proto.v1.SocketEvent e && e.hasClose();
    }

    @Override
    public int serializedSize() {
        int size = 0;
        for (int i = 0; i < count; i++) {
            size += CodedOutputStream.computeTagSize(1) + lengthDelimited(eventSize(i));
        }
        size += uint64Size(2, droppedMessages) + uint64Size(3, droppedErrors);
        if (!socketId.isEmpty()) {
            size += CodedOutputStream.computeStringSize(4, socketId);
        }
        if (attached) {
            size += CodedOutputStream.computeBoolSize(5, true);
        }
        return size + uint64Size(6, droppedMessagesBudget) + uint64Size(7, kernelDroppedMessages);
    }

    @Override
    public void writeTo(CodedOutputStream out) throws IOException {
        for (int i = 0; i < count; i++) {
            if (events[i] instanceof SocketEvent.Message m) {
                writeMessage(out, m, senders[i]);
            } else {
                out.writeMessage(1, (dev.dgramd.proto.v1.SocketEvent) events[i]);
            }
        }
        writeUInt64(out, 2, droppedMessages);
        writeUInt64(out, 3, droppedErrors);
        if (!socketId.isEmpty()) {
            out.writeString(4, socketId);
        }
        if (attached) {
            out.writeBool(5, true);
        }
        writeUInt64(out, 6, droppedMessagesBudget);
        writeUInt64(out, 7, kernelDroppedMessages);
    }

    private int eventSize(int i) {
        if (events[i] instanceof SocketEvent.Message m) {
            return CodedOutputStream.computeTagSize(3) + lengthDelimited(messageSize(m, senders[i]));
        }
        return ((dev.dgramd.proto.v1.SocketEvent) events[i]).getSerializedSize();
    }

    // SocketEvent{message(3): Message{data(1), rinfo(2): RemoteInfo{address(1), family(2), port(3), size(4)}}}
    private static void writeMessage(CodedOutputStream out, SocketEvent.Message m, Protos.Sender sender)
            throws IOException {
        int rinfo = rinfoSize(m, sender);
        int message = messageSize(m, rinfo);
        out.writeTag(1, WireFormat.WIRETYPE_LENGTH_DELIMITED);
        out.writeUInt32NoTag(CodedOutputStream.computeTagSize(3) + lengthDelimited(message));
        out.writeTag(3, WireFormat.WIRETYPE_LENGTH_DELIMITED);
        out.writeUInt32NoTag(message);
        if (m.length() > 0) {
            out.writeByteArray(1, m.array(), m.offset(), m.length());
        }
        out.writeTag(2, WireFormat.WIRETYPE_LENGTH_DELIMITED);
        out.writeUInt32NoTag(rinfo);
        writeBytes(out, 1, sender.address());
        writeBytes(out, 2, sender.family());
        if (m.sender().getPort() != 0) {
            out.writeUInt32(3, m.sender().getPort());
        }
        if (m.length() != 0) {
            out.writeUInt32(4, m.length());
        }
    }

    private static int messageSize(SocketEvent.Message m, Protos.Sender sender) {
        return messageSize(m, rinfoSize(m, sender));
    }

    private static int messageSize(SocketEvent.Message m, int rinfo) {
        int data = m.length() == 0 ? 0 : CodedOutputStream.computeTagSize(1) + lengthDelimited(m.length());
        return data + CodedOutputStream.computeTagSize(2) + lengthDelimited(rinfo);
    }

    private static int rinfoSize(SocketEvent.Message m, Protos.Sender sender) {
        int size = bytesSize(1, sender.address()) + bytesSize(2, sender.family());
        if (m.sender().getPort() != 0) {
            size += CodedOutputStream.computeUInt32Size(3, m.sender().getPort());
        }
        if (m.length() != 0) {
            size += CodedOutputStream.computeUInt32Size(4, m.length());
        }
        return size;
    }

    /** A length prefix and the {@code length} bytes it announces. */
    private static int lengthDelimited(int length) {
        return CodedOutputStream.computeUInt32SizeNoTag(length) + length;
    }

    private static int bytesSize(int field, byte[] value) {
        return value.length == 0 ? 0 : CodedOutputStream.computeByteArraySize(field, value);
    }

    private static void writeBytes(CodedOutputStream out, int field, byte[] value) throws IOException {
        if (value.length > 0) {
            out.writeByteArray(field, value);
        }
    }

    private static int uint64Size(int field, long value) {
        return value == 0 ? 0 : CodedOutputStream.computeUInt64Size(field, value);
    }

    private static void writeUInt64(CodedOutputStream out, int field, long value) throws IOException {
        if (value != 0) {
            out.writeUInt64(field, value);
        }
    }
}
