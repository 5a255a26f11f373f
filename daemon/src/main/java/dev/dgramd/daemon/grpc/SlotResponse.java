package dev.dgramd.daemon.grpc;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.WireFormat;
import dev.dgramd.proto.v1.SessionEnd;
import java.io.IOException;

/**
 * One SessionResponse as the daemon writes it: a slot's {@link EventBatch}, encoded by hand, or
 * its end. The bytes are those protobuf writes for the same message.
 */
final class SlotResponse implements ReusedResponseBuffers.Encoded {
    private final int slot;
    private final EventBatch events;
    private final SessionEnd end;
    /** The batch's encoded size (0 for an end), which both the size and the length prefix need. */
    private final int batchSize;

    private SlotResponse(int slot, EventBatch events, SessionEnd end) {
        this.slot = slot;
        this.events = events;
        this.end = end;
        this.batchSize = events == null ? 0 : events.serializedSize();
    }

    /** Slot {@code slot}'s {@code batch}. */
    static SlotResponse events(int slot, EventBatch batch) {
        return new SlotResponse(slot, batch, null);
    }

    /** Slot {@code slot}'s end. */
    static SlotResponse end(int slot, SessionEnd end) {
        return new SlotResponse(slot, null, end);
    }

    @Override
    public int serializedSize() {
        int size = slot == 0 ? 0 : CodedOutputStream.computeUInt32Size(1, slot);
        if (events == null) {
            return size + CodedOutputStream.computeMessageSize(3, end);
        }
        return size + CodedOutputStream.computeTagSize(2) + CodedOutputStream.computeUInt32SizeNoTag(batchSize)
                + batchSize;
    }

    @Override
    public void writeTo(CodedOutputStream out) throws IOException {
        if (slot != 0) {
            out.writeUInt32(1, slot);
        }
        if (events != null) {
            out.writeTag(2, WireFormat.WIRETYPE_LENGTH_DELIMITED);
            out.writeUInt32NoTag(batchSize);
            events.writeTo(out);
        } else {
            out.writeMessage(3, end);
        }
    }
}
