package dev.dgramd.daemon.grpc;

import dev.dgramd.daemon.udp.DgramError;
import dev.dgramd.daemon.udp.SocketConfig;
import dev.dgramd.daemon.udp.SocketEvent;
import dev.dgramd.daemon.udp.SocketObserver;
import dev.dgramd.proto.v1.EventsResponse;
import io.grpc.stub.ServerCallStreamObserver;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.ScheduledFuture;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;

/**
 * The bridge from one socket's events to its Events stream. Lives on the socket's event loop.
 *
 * <p>Events wait in a queue while no stream is attached or the attached stream is not ready.
 * The queue is bounded in bytes: a 'message' or 'error' that does not fit is dropped and counted,
 * and the counts go out with the next batch. 'listening', 'connect' and 'close' are never dropped
 * (a socket emits few of them).
 *
 * <p>Orphans: when an attached stream is cancelled (the client cancelled it, or its connection
 * died), {@code reap} runs after the socket's keep-alive unless a new stream attaches first; the
 * new stream gets the events queued meanwhile. A socket that never had a stream attached is never
 * reaped, nor is one whose keep-alive is {@link #FOREVER}.
 */
final class EventStream implements SocketObserver {
    /** Queue cost of an event beyond its payload. */
    private static final int EVENT_OVERHEAD = 64;
    private static final int MAX_BATCH_BYTES = 256 * 1024;
    private static final int MAX_BATCH_EVENTS = 1024;

    private final EventLoop loop;
    private final long maxQueuedBytes;
    private final DropCounters drops;
    private final ArrayDeque<SocketEvent> queue = new ArrayDeque<>();
    private long queuedBytes;
    private long droppedMessages;
    private long droppedErrors;
    // Written on the loop, read by admin calls from any thread.
    private volatile long droppedMessagesTotal;
    private volatile long droppedErrorsTotal;
    private volatile ServerCallStreamObserver<EventsResponse> subscriber;
    private boolean finished;
    /** A keep-alive that never reaps. */
    static final Duration FOREVER = Duration.ofNanos(-1);
    private long keepAliveNanos;
    private final Runnable reap;
    private ScheduledFuture<?> reapTimer;
    private final Protos protos;

    /**
     * @param keepAlive how long a socket whose stream was cancelled waits for a new one (zero: it is
     *     reaped at once); {@link #FOREVER} never reaps it
     * @param reap closes the socket when the grace ran out; runs on {@code loop}
     */
    EventStream(EventLoop loop, SocketConfig.Family family, long maxQueuedBytes, DropCounters drops,
                Duration keepAlive, Runnable reap) {
        this.loop = loop;
        this.maxQueuedBytes = maxQueuedBytes;
        this.drops = drops;
        this.keepAliveNanos = keepAlive.toNanos();
        this.reap = reap;
        this.protos = new Protos(family);
    }

    @Override
    public void onEvent(SocketEvent event) {
        if (finished) {
            return;
        }
        if (event instanceof SocketEvent.Close) {
            cancelReap(); // closed anyway
        }
        long cost = cost(event);
        boolean droppable = event instanceof SocketEvent.Message || event instanceof SocketEvent.Error;
        if (droppable && queuedBytes + cost > maxQueuedBytes) {
            if (event instanceof SocketEvent.Message) {
                droppedMessages++;
                droppedMessagesTotal++; // single writer: the loop
                drops.messages.increment();
            } else {
                droppedErrors++;
                droppedErrorsTotal++;
                drops.errors.increment();
            }
            return;
        }
        queue.add(event);
        queuedBytes += cost;
    }

    @Override
    public void onBurstEnd() {
        drain();
    }

    /** Changes how long the socket waits for a new stream once its stream went away; from any thread. */
    void keepAlive(Duration keepAlive) {
        loop.execute(() -> keepAliveNanos = keepAlive.toNanos());
    }

    /**
     * Attaches {@code stream} (from any thread). Fails it with ALREADY_EXISTS when another stream is
     * attached, and with ERR_SOCKET_DGRAM_NOT_RUNNING when 'close' was delivered already.
     *
     * @param createdId when the call created the socket, its id: the first batch announces it
     */
    void attach(ServerCallStreamObserver<EventsResponse> stream, String createdId) {
        attach(stream, createdId, null);
    }

    /**
     * Attaches {@code stream} to the open socket {@code id} that a create call found by its name, as
     * {@link #attach(ServerCallStreamObserver, String)}: the first batch announces the id with
     * {@code attached}, then come the socket's state as events ({@code state}, evaluated on the
     * loop: 'listening' when bound, 'connect' when connected), which replace any 'listening' or
     * 'connect' still queued, then the events queued meanwhile.
     */
    void attachNamed(ServerCallStreamObserver<EventsResponse> stream, String id,
                     java.util.function.Supplier<java.util.List<SocketEvent>> state) {
        attach(stream, id, state);
    }

    private void attach(ServerCallStreamObserver<EventsResponse> stream, String createdId,
                        java.util.function.Supplier<java.util.List<SocketEvent>> state) {
        stream.setOnReadyHandler(() -> loop.execute(this::drain));
        stream.setOnCancelHandler(() -> loop.execute(() -> detach(stream)));
        loop.execute(() -> {
            if (finished) {
                stream.onError(ErrorMapping.toStatus(DgramError.of("ERR_SOCKET_DGRAM_NOT_RUNNING", "Not running"),
                        com.google.rpc.Code.FAILED_PRECONDITION));
            } else if (subscriber != null) {
                stream.onError(ErrorMapping.toStatus(DgramError.of("ERR_EVENTS_ALREADY_ATTACHED",
                        "Another Events stream is attached to this socket"), com.google.rpc.Code.ALREADY_EXISTS));
            } else if (!stream.isCancelled()) {
                subscriber = stream;
                cancelReap();
                if (createdId != null) {
                    stream.onNext(EventsResponse.newBuilder().setSocketId(createdId).setAttached(state != null).build());
                }
                if (state != null) {
                    queueFirst(state.get());
                }
                drain();
            } else if (createdId != null) {
                // The call that created the socket went away first: an orphan from the start.
                subscriber = stream;
                detach(stream);
            }
        });
    }

    /** On the loop: puts {@code first} ahead of the queue, in place of any 'listening' or 'connect' queued. */
    private void queueFirst(java.util.List<SocketEvent> first) {
        queue.removeIf(e -> {
            boolean stale = e instanceof SocketEvent.Listening || e instanceof SocketEvent.Connect;
            if (stale) {
                queuedBytes -= cost(e);
            }
            return stale;
        });
        for (int i = first.size() - 1; i >= 0; i--) {
            queue.addFirst(first.get(i));
            queuedBytes += cost(first.get(i));
        }
    }

    /**
     * Ends the attached stream, if any, with {@code status} (from any thread); the socket then waits
     * for a new stream as when a stream is cancelled (an orphan, reaped after the grace).
     */
    void end(io.grpc.StatusRuntimeException status) {
        loop.execute(() -> {
            ServerCallStreamObserver<EventsResponse> s = subscriber;
            if (s != null && !finished) {
                detach(s);
                s.onError(status);
            }
        });
    }

    /** On the loop: {@code stream} was cancelled; when it was the attached one, the socket is an orphan. */
    private void detach(ServerCallStreamObserver<EventsResponse> stream) {
        if (subscriber != stream) {
            return;
        }
        subscriber = null;
        if (!finished && keepAliveNanos >= 0 && reapTimer == null) {
            reapTimer = loop.schedule(this::orphaned, keepAliveNanos, TimeUnit.NANOSECONDS);
        }
    }

    private void orphaned() {
        reapTimer = null;
        if (!finished && subscriber == null) {
            reap.run();
        }
    }

    private void cancelReap() {
        if (reapTimer != null) {
            reapTimer.cancel(false);
            reapTimer = null;
        }
    }

    /** 'message' events dropped so far because the reader was absent or behind; from any thread. */
    long droppedMessagesTotal() {
        return droppedMessagesTotal;
    }

    /** 'error' events dropped so far for the same reason; from any thread. */
    long droppedErrorsTotal() {
        return droppedErrorsTotal;
    }

    /** True while an Events stream is attached; from any thread. */
    boolean attached() {
        return subscriber != null;
    }

    private void drain() {
        if (subscriber != null && subscriber.isCancelled()) {
            detach(subscriber); // its cancel handler is on its way; send it nothing more
        }
        while (subscriber != null && (!queue.isEmpty() || droppedMessages > 0 || droppedErrors > 0)
                && subscriber.isReady()) {
            EventsResponse.Builder batch = EventsResponse.newBuilder().setDroppedMessages(droppedMessages)
                    .setDroppedErrors(droppedErrors);
            droppedMessages = 0;
            droppedErrors = 0;
            int bytes = 0;
            boolean close = false;
            while (!queue.isEmpty() && batch.getEventsCount() < MAX_BATCH_EVENTS && bytes < MAX_BATCH_BYTES) {
                SocketEvent e = queue.poll();
                long cost = cost(e);
                queuedBytes -= cost;
                bytes += (int) cost;
                batch.addEvents(protos.event(e));
                if (e instanceof SocketEvent.Close) {
                    close = true;
                    break;
                }
            }
            ServerCallStreamObserver<EventsResponse> s = subscriber;
            s.onNext(batch.build());
            if (close) {
                finished = true;
                subscriber = null;
                queue.clear();
                queuedBytes = 0;
                s.onCompleted();
            }
        }
    }

    private static long cost(SocketEvent e) {
        return e instanceof SocketEvent.Message m ? m.data().length + EVENT_OVERHEAD : EVENT_OVERHEAD;
    }
}
