package dev.dgramd.daemon.grpc;

import com.google.protobuf.MessageLite;
import io.grpc.ForwardingServerCall;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code --max-message-bytes}, answered so that a client can tell it from any other failure: a call
 * whose request message is larger than the limit is closed with RESOURCE_EXHAUSTED and an ErrorInfo
 * with reason {@value #TOO_LARGE}; the message is not delivered. On a SendStream that ends the whole
 * stream: the handler is told the call is cancelled (its results still due go nowhere), so every
 * datagram on the stream not answered yet is answered by that status.
 *
 * <p>gRPC's transport refuses a message above its own limit before it reads it, with no details;
 * so the transport's limit is set to {@link #transportLimit(int)}, twice this one, and this
 * interceptor refuses what lies between. Above the transport's limit the call still fails with
 * RESOURCE_EXHAUSTED, without ErrorInfo (its message starts "gRPC message exceeds maximum size").
 *
 * <p>Installed server-wide, before every other interceptor but the metrics, so that it sees every
 * call and the metrics see its refusals.
 */
public final class MessageSizeLimit implements ServerInterceptor {
    /** The ErrorInfo reason of a message over the limit. */
    public static final String TOO_LARGE = "ERR_DGRAMD_MESSAGE_TOO_LARGE";
    private static final Logger log = LoggerFactory.getLogger(MessageSizeLimit.class);

    private final int limit;

    /** @param limit the largest request message, in bytes (its serialized size), a call may carry */
    public MessageSizeLimit(int limit) {
        if (limit <= 0) {
            throw new IllegalArgumentException("limit must be positive: " + limit);
        }
        this.limit = limit;
    }

    /** The limit to give gRPC's transport for a daemon limit of {@code limit} bytes: twice it, at most 2^31-1. */
    public static int transportLimit(int limit) {
        return (int) Math.min(Integer.MAX_VALUE, 2L * limit);
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                                                      ServerCallHandler<Q, R> next) {
        Guarded<Q, R> guarded = new Guarded<>(call);
        return new Checked<>(next.startCall(guarded, headers), guarded);
    }

    /**
     * The call as the handler sees it: once refused, what the handler still sends is dropped (the
     * call is closed already). Whether the handler closed it itself is kept, so as not to close twice.
     */
    private static final class Guarded<Q, R> extends ForwardingServerCall.SimpleForwardingServerCall<Q, R> {
        private volatile boolean refused;
        private volatile boolean closed;

        Guarded(ServerCall<Q, R> call) {
            super(call);
        }

        @Override
        public void sendHeaders(Metadata headers) {
            if (!refused) {
                super.sendHeaders(headers);
            }
        }

        @Override
        public void sendMessage(R message) {
            if (!refused) {
                super.sendMessage(message);
            }
        }

        @Override
        public void close(Status status, Metadata trailers) {
            if (!refused) {
                closed = true;
                super.close(status, trailers);
            }
        }

        /** Closes the call with {@code failure} (after {@code refused} is set). */
        void refuse(StatusRuntimeException failure) {
            delegate().close(failure.getStatus(), failure.getTrailers());
        }
    }

    /**
     * The size of a request message on the wire: a parsed message's serialized size, or the bytes
     * left in the stream of one not parsed yet (MalformedMessages parses inside the call; gRPC's
     * transport streams know their length).
     */
    private static int size(Object message) {
        if (message instanceof MessageLite m) {
            return m.getSerializedSize();
        }
        if (message instanceof java.io.InputStream in) {
            try {
                return in.available();
            } catch (java.io.IOException e) {
                return 0;
            }
        }
        return 0;
    }

    /** The listener: checks each message's size before the handler sees it. Called on one thread at a time. */
    private final class Checked<Q, R> extends ForwardingServerCallListener.SimpleForwardingServerCallListener<Q> {
        private final Guarded<Q, R> call;
        private boolean refused;

        Checked(ServerCall.Listener<Q> listener, Guarded<Q, R> call) {
            super(listener);
            this.call = call;
        }

        @Override
        public void onMessage(Q message) {
            if (refused) {
                return;
            }
            int size = size(message);
            if (size <= limit) {
                super.onMessage(message);
                return;
            }
            refused = true;
            String method = call.getMethodDescriptor().getFullMethodName();
            log.warn("{}: refused a request message of {} bytes, over --max-message-bytes {}", method, size, limit);
            // From here on the handler's answers are dropped; it learns the call is over (a
            // SendStream stops answering: its cancel handler waits for an answer being sent), then
            // the client gets the status.
            boolean closedByHandler = call.closed;
            call.refused = true;
            super.onCancel();
            if (!closedByHandler) {
                StatusRuntimeException tooLarge = ErrorMapping.daemonStatus(com.google.rpc.Code.RESOURCE_EXHAUSTED,
                        TOO_LARGE, "message of " + size + " bytes is larger than the daemon's limit of " + limit
                                + " bytes (dgramd --max-message-bytes); nothing of it was done");
                call.refuse(tooLarge);
            }
        }

        @Override
        public void onHalfClose() {
            if (!refused) {
                super.onHalfClose();
            }
        }

        @Override
        public void onCancel() {
            if (!refused) {
                super.onCancel();
            }
        }

        @Override
        public void onComplete() {
            if (!refused) {
                super.onComplete();
            }
        }

        @Override
        public void onReady() {
            if (!refused) {
                super.onReady();
            }
        }
    }
}
