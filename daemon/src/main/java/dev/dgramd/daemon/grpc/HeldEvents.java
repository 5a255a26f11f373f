package dev.dgramd.daemon.grpc;

import dev.dgramd.daemon.udp.SocketEvent;
import java.util.List;

/**
 * What a socket's event stream holds, for the daemon process that takes the socket over: the
 * events not yet sent (never 'close': the socket is open), the drop counts not yet reported and the
 * totals so far, the keep-alive ({@code keepAliveNanos}, negative: never reaped), and whether the
 * socket is to be closed when no stream attaches within it ({@code reapable}: it had a stream).
 */
public record HeldEvents(List<SocketEvent> queued, long droppedMessages, long droppedMessagesBudget,
                         long droppedErrors, long kernelDropped, long droppedMessagesTotal,
                         long droppedMessagesBudgetTotal, long droppedErrorsTotal, long keepAliveNanos,
                         boolean reapable) {
    public HeldEvents {
        queued = List.copyOf(queued);
    }
}
