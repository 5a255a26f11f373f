package dev.dgramd.client.internal;

import dev.dgramd.client.RemoteInfo;
import dev.dgramd.proto.v1.SocketEvent;
import java.util.Arrays;

/**
 * An EventsResponse as read: for each event, either a 'message' (its payload and rinfo) or the
 * event as protobuf parsed it (the rare ones, and any 'message' encoded unusually). Public for
 * the benchmarks only.
 */
public final class EventBatch {
    String socketId; // EventsResponse.socket_id: the first batch of a call that created its socket
    int bindError = -1; // the event that is the 'error' of the bind made with the socket, if any
    long droppedMessages;
    long droppedMessagesBudget; // EventsResponse.dropped_messages_budget: of droppedMessages
    long kernelDroppedMessages; // EventsResponse.kernel_dropped_messages
    long droppedErrors;
    int count;
    byte[][] data;
    RemoteInfo[] rinfo;
    /** Null while every event is a 'message' read by hand (the usual batch). */
    private SocketEvent[] other;

    EventBatch(int expected) {
        data = new byte[expected][];
        rinfo = new RemoteInfo[expected];
    }

    /** True when the batch's last event is 'close' (the socket's last event). */
    boolean endsWithClose() {
        SocketEvent last = count == 0 ? null : other(count - 1);
        return last != null && last.getEventCase() == SocketEvent.EventCase.CLOSE;
    }

    /** Event {@code i} as protobuf parsed it, or null when it is a 'message' read by hand. */
    SocketEvent other(int i) {
        return other == null ? null : other[i];
    }

    /** Sets event {@code i} (added already) to {@code e}, as protobuf parsed it. */
    void other(int i, SocketEvent e) {
        if (other == null) {
            other = new SocketEvent[data.length];
        }
        other[i] = e;
    }

    /** Events in the batch. */
    public int count() {
        return count;
    }

    /** The payload of event {@code i} when it is a 'message' read by hand, else null. */
    public byte[] data(int i) {
        return data[i];
    }

    /** The rinfo of event {@code i} when {@link #data} is not null. */
    public RemoteInfo rinfo(int i) {
        return rinfo[i];
    }

    int add() {
        if (count == data.length) {
            data = Arrays.copyOf(data, Math.max(4, count * 2));
            rinfo = Arrays.copyOf(rinfo, data.length);
            if (other != null) {
                other = Arrays.copyOf(other, data.length);
            }
        }
        return count++;
    }
}
