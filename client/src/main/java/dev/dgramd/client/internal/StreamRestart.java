package dev.dgramd.client.internal;

import dev.dgramd.client.DgramException;
import dev.dgramd.proto.v1.EventsRequest;
import io.grpc.ClientCall;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ClientResponseObserver;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One socket's event stream across daemon restarts by hand-over: tells whether the stream's end
 * was a restart, re-attaches to the new process, and tells the socket's calls whether to go again.
 *
 * <p>When the daemon hands its sockets to a new process it ends the stream with
 * {@link Errors#RESTARTING} after every batch it had sent, and refuses calls the same way. The
 * socket then opens its stream again by id on the new process, once it listens at the same target
 * (the call waits for the channel; {@link ClientCore#daemonRestarting} has it reconnect at once),
 * within {@link ClientCore#restartTimeoutMillis}. The new process announces the re-attach with
 * the socket's id in its first batch, then sends the events queued meanwhile: none twice. A call
 * the restart refused goes again once re-attached; a call that failed on a refused connection while
 * the stream said nothing yet waits for the stream's verdict (a restart, or a lost daemon).
 */
final class StreamRestart {
    private static final Logger log = LoggerFactory.getLogger(StreamRestart.class);
    /** The pause before a call refused by a restarting daemon is made again. */
    static final long RETRY_MILLIS = 10;

    /** What the re-attach needs of its socket. */
    interface Host {
        /** The socket's id. */
        String id();

        /** A new Events call (reading batches as the socket's stream does), waiting for the channel to be ready. */
        ClientCall<EventsRequest, EventBatch> newEventsCall();

        /** True when {@code call} is the socket's event stream now. */
        boolean isEventsCall(ClientCallStreamObserver<EventsRequest> call);

        /** {@code call} is the socket's event stream from now on. */
        void attached(ClientCallStreamObserver<EventsRequest> call);

        /** A batch of the re-attached stream. */
        void onBatch(EventBatch batch);

        /** The re-attached stream failed (it may be another restart). */
        void streamFailed(Errors.RpcFailure f);

        /** The re-attached stream ended without 'close'. */
        void streamEnded();

        /** The socket could not re-attach: it finishes with {@code error} ('error', then 'close'). */
        void gaveUp(DgramException error);

        /** True once the socket has finished. */
        boolean finished();
    }

    /** Until when a call may be made again while the daemon restarts (nanoTime); 0 until it is first refused. */
    static final class Deadline {
        private volatile long nanos;

        /** The deadline; 0 when none was set, negative when the next failure is the answer. */
        long nanos() {
            return nanos;
        }
    }

    private final ClientCore core;
    private final Host socket;
    /** While re-attaching: completes once re-attached, or given up. Completed otherwise. */
    private volatile CompletableFuture<Void> reattached = CompletableFuture.completedFuture(null);
    /** Completes when the current stream ends: true when it ended because the daemon restarts. */
    private volatile CompletableFuture<Boolean> streamEnd = new CompletableFuture<>();
    /** The call re-attaching now, until it is the socket's event stream. */
    private volatile ClientCallStreamObserver<EventsRequest> attaching;

    StreamRestart(ClientCore core, Host socket) {
        this.core = core;
        this.socket = socket;
    }

    /**
     * The socket's event stream ended, failing with {@code f} (null: it completed without 'close').
     * True when the daemon is restarting: the socket re-attaches and must not finish; false when
     * the end is final.
     */
    boolean streamEnded(Errors.RpcFailure f) {
        CompletableFuture<Boolean> ended = streamEnd;
        if (f != null && Errors.restarting(f)) {
            start();
            ended.complete(true);
            return true;
        }
        ended.complete(false);
        return false;
    }

    private void start() {
        CompletableFuture<Void> done = new CompletableFuture<>();
        reattached = done;
        streamEnd = new CompletableFuture<>();
        core.daemonRestarting();
        log.debug("socket {}: dgramd is restarting; re-attaching to the new process", socket.id());
        long deadline = System.nanoTime() + core.restartTimeoutMillis() * 1_000_000L;
        try {
            core.schedule(() -> gaveUp(done, Errors.unavailable(
                    "dgramd did not come back within the restart timeout (ClientOptions.restartTimeout)", null)),
                    core.restartTimeoutMillis());
        } catch (RuntimeException e) { // the client is shutting down
            gaveUp(done, Errors.clientClosed());
            return;
        }
        attach(done, deadline);
    }

    private void attach(CompletableFuture<Void> done, long deadline) {
        if (socket.finished() || done.isDone()) {
            return;
        }
        int inFlight = core.eventBatchesInFlight();
        ClientCalls.asyncServerStreamingCall(socket.newEventsCall(),
                EventsRequest.newBuilder().setSocketId(socket.id()).build(),
                new ClientResponseObserver<EventsRequest, EventBatch>() {
                    @Override
                    public void beforeStart(ClientCallStreamObserver<EventsRequest> c) {
                        c.disableAutoRequestWithInitial(inFlight);
                        done.whenComplete((v, e) -> {
                            if (reattached == done && !socket.isEventsCall(c)) {
                                c.cancel("gave up re-attaching", null); // timed out meanwhile
                            }
                        });
                        attaching = c;
                    }

                    @Override
                    public void onNext(EventBatch batch) {
                        if (!done.isDone() && batch.socketId != null) {
                            socket.attached(attaching);
                            if (done.complete(null)) {
                                core.restartDone();
                                log.debug("socket {}: re-attached to the restarted dgramd", socket.id());
                            }
                        }
                        socket.onBatch(batch);
                    }

                    @Override
                    public void onError(Throwable t) {
                        Errors.RpcFailure f = Errors.fromRpc(t, "Events");
                        if (done.isDone()) {
                            socket.streamFailed(f);
                            return;
                        }
                        boolean again = Errors.restarting(f) || f.transport();
                        if (again && System.nanoTime() - deadline < 0) {
                            try {
                                core.schedule(() -> attach(done, deadline), RETRY_MILLIS);
                            } catch (RuntimeException e) { // the client is shutting down
                                gaveUp(done, Errors.clientClosed());
                            }
                            return;
                        }
                        gaveUp(done, again ? Errors.unavailable("dgramd did not come back within the restart "
                                + "timeout (ClientOptions.restartTimeout)", null)
                                : Errors.unavailable("the socket did not survive the daemon's restart: "
                                + f.exception().getMessage(), null));
                    }

                    @Override
                    public void onCompleted() {
                        if (done.isDone()) {
                            socket.streamEnded();
                            return;
                        }
                        gaveUp(done, Errors.unavailable("the restarted dgramd ended the socket's event stream "
                                + "at once", null));
                    }
                });
    }

    private void gaveUp(CompletableFuture<Void> done, DgramException error) {
        if (!done.complete(null)) {
            return;
        }
        core.restartDone();
        streamEnd.complete(false);
        socket.gaveUp(error);
    }

    /**
     * A call failed with {@code f}: when the daemon refused it because it is restarting, or its
     * connection failed while the daemon restarts, {@code again} runs (after a short pause) once
     * the stream re-attached, within the restart timeout ({@code deadline}, set on the first
     * refusal). True when it will; false when {@code f} is the call's answer. {@code abandon} runs
     * instead of {@code again} when the client is shutting down.
     */
    boolean retry(Errors.RpcFailure f, Deadline deadline, Runnable again, Runnable abandon) {
        boolean restarting = Errors.restarting(f);
        if (!restarting && !f.transport()) {
            return false;
        }
        long now = System.nanoTime();
        if (deadline.nanos == 0) {
            deadline.nanos = now + core.restartTimeoutMillis() * 1_000_000L;
        } else if (now - deadline.nanos > 0) {
            return false;
        }
        CompletableFuture<Void> attached = reattached;
        if (!restarting && attached.isDone()) {
            // The connection failed and the stream has said nothing yet: its end tells whether the
            // daemon restarts (then the call goes again) or went away (then this is the answer).
            CompletableFuture<Boolean> verdict = streamEnd;
            if (verdict.isDone() && !verdict.join()) {
                return false;
            }
            verdict.copy().completeOnTimeout(false, core.callTimeoutMillis(), TimeUnit.MILLISECONDS)
                    .thenAccept(restart -> {
                        if (restart) {
                            reattached.thenRun(() -> later(again, abandon));
                        } else {
                            deadline.nanos = -1; // the next failure is the answer
                            later(again, abandon);
                        }
                    });
            return true;
        }
        attached.thenRun(() -> later(again, abandon));
        return true;
    }

    /** Runs {@code task} after a short pause (a daemon still refusing is not asked in a loop). */
    private void later(Runnable task, Runnable abandon) {
        try {
            core.schedule(task, RETRY_MILLIS);
        } catch (RuntimeException e) { // the client is shutting down
            abandon.run();
        }
    }
}
