package dev.dgramd.daemon.grpc;

import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;

/**
 * Refuses every call of the service it guards that reaches its method once the daemon has begun to
 * hand its sockets to another process: UNAVAILABLE with ErrorInfo {@code ERR_DGRAMD_RESTARTING},
 * so that a client makes the call again on the new process. The test is made where the method would
 * run (a unary or server-streaming call's half-close, a bidi call's start), so that once the gate is
 * closed and every event loop has run one turn, no method is running or left to run.
 */
final class HandOverGate implements ServerInterceptor {
    private volatile boolean closed;

    /** From now on every new call is refused. */
    void close() {
        closed = true;
    }

    /** Calls are taken again (a hand-over that failed). */
    void open() {
        closed = false;
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                                                       ServerCallHandler<Q, R> next) {
        if (closed) {
            refuse(call);
            return new ServerCall.Listener<>() {};
        }
        if (call.getMethodDescriptor().getType().clientSendsOneMessage()) {
            return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(next.startCall(call, headers)) {
                private boolean refused;

                @Override
                public void onHalfClose() {
                    if (closed) {
                        refused = true;
                        refuse(call);
                        return;
                    }
                    super.onHalfClose();
                }

                @Override
                public void onMessage(Q message) {
                    if (!refused) {
                        super.onMessage(message);
                    }
                }
            };
        }
        return next.startCall(call, headers);
    }

    private static void refuse(ServerCall<?, ?> call) {
        io.grpc.StatusRuntimeException refused = ErrorMapping.restarting();
        Metadata trailers = refused.getTrailers() == null ? new Metadata() : refused.getTrailers();
        Status status = refused.getStatus();
        call.close(status, trailers);
    }
}
