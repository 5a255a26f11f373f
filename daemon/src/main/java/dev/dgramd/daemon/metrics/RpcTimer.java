package dev.dgramd.daemon.metrics;

import io.grpc.ForwardingServerCall.SimpleForwardingServerCall;
import io.grpc.ForwardingServerCallListener.SimpleForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Timer;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Times every gRPC call from its start to its end (the status the server sent, or the client's
 * cancellation) into the timer {@code dgramd.rpc}, tagged with the full method name
 * ({@code dgramd.v1.Dgram/Send}) and the status code. Both tag sets are bounded: only registered
 * methods reach interceptors.
 */
final class RpcTimer implements ServerInterceptor {
    private final Meter.MeterProvider<Timer> timers;

    RpcTimer(Meter.MeterProvider<Timer> timers) {
        this.timers = timers;
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                                                      ServerCallHandler<Q, R> next) {
        Stopwatch stopwatch = new Stopwatch(call.getMethodDescriptor().getFullMethodName());
        ServerCall<Q, R> timed = new SimpleForwardingServerCall<>(call) {
            @Override
            public void close(Status status, Metadata trailers) {
                stopwatch.stop(status.getCode());
                super.close(status, trailers);
            }
        };
        return new SimpleForwardingServerCallListener<>(next.startCall(timed, headers)) {
            @Override
            public void onCancel() {
                stopwatch.stop(Status.Code.CANCELLED);
                super.onCancel();
            }
        };
    }

    /** One call's time; the first stop (close or cancel) is recorded, later ones are ignored. */
    private final class Stopwatch {
        private final long start = System.nanoTime();
        private final String method;
        private final AtomicBoolean stopped = new AtomicBoolean();

        Stopwatch(String method) {
            this.method = method;
        }

        void stop(Status.Code code) {
            if (stopped.compareAndSet(false, true)) {
                timers.withTags("method", method, "code", code.name())
                        .record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
            }
        }
    }
}
