package dev.dgramd.daemon;

import dev.dgramd.proto.v1.DgramGrpc;
import dev.dgramd.proto.v1.SendStreamRequest;
import dev.dgramd.proto.v1.SendStreamResponse;
import io.grpc.Channel;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * One SendStream call: what the test writes goes through {@link #requests()}, the daemon's result
 * batches queue up for {@link #next()}, and {@link #end()} completes with the call's end (null when
 * it completed, the failure otherwise). Every wait is bounded.
 */
public final class SendStreamRecorder implements StreamObserver<SendStreamResponse> {
    private final LinkedBlockingQueue<SendStreamResponse> results = new LinkedBlockingQueue<>();
    private final CompletableFuture<Throwable> end = new CompletableFuture<>();
    private final StreamObserver<SendStreamRequest> requests;

    private SendStreamRecorder(DgramGrpc.DgramStub stub) {
        this.requests = stub.sendStream(this);
    }

    /** Opens a SendStream on {@code channel}. */
    static SendStreamRecorder open(Channel channel) {
        return new SendStreamRecorder(DgramGrpc.newStub(channel));
    }

    /** Opens a SendStream through {@code stub} (with its deadline, credentials, ...). */
    static SendStreamRecorder open(DgramGrpc.DgramStub stub) {
        return new SendStreamRecorder(stub);
    }

    /** The request side of the call. */
    StreamObserver<SendStreamRequest> requests() {
        return requests;
    }

    /** The next result batch; fails the test if none comes within the timeout. */
    SendStreamResponse next() throws InterruptedException {
        SendStreamResponse r = results.poll(DaemonTestBase.TIMEOUT_SECONDS, TimeUnit.SECONDS);
        if (r == null) {
            throw new AssertionError("no SendStream result within " + DaemonTestBase.TIMEOUT_SECONDS + " s");
        }
        return r;
    }

    /** A result batch that is already here, or null. */
    SendStreamResponse poll() {
        return results.poll();
    }

    /** Completes when the call ends: with null when it completed, with the failure when it failed. */
    CompletableFuture<Throwable> end() {
        return end;
    }

    @Override
    public void onNext(SendStreamResponse value) {
        results.add(value);
    }

    @Override
    public void onError(Throwable t) {
        end.complete(t);
    }

    @Override
    public void onCompleted() {
        end.complete(null);
    }
}
