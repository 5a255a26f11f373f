package dev.dgramd.daemon.grpc;

import dev.dgramd.daemon.budget.EventBudget;
import dev.dgramd.daemon.udp.DgramError;
import dev.dgramd.daemon.udp.SocketConfig;
import dev.dgramd.daemon.udp.SocketEvent;
import dev.dgramd.daemon.udp.SocketObserver;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.ScheduledFuture;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.function.BooleanSupplier;
import java.util.concurrent.TimeUnit;

/**
 * The bridge from one socket's events to its Events stream (an Events call, or a slot of a Session
 * call: its {@link EventSink}). Lives on the socket's event loop.
 *
 * <p>Events wait in a queue while no stream is attached or the attached stream is not ready.
 * 'message' and 'error' events are paid for from the socket's {@link EventBudget.Account}: one that
 * the account cannot pay for is dropped and counted, and the counts go out with the next batch.
 * The bytes stay paid for after a batch is handed to gRPC, until the stream is ready again (its
 * transport has written all but a few KiB of what it was given), so what gRPC holds for a stalled
 * reader counts too. 'listening', 'connect' and 'close' are never dropped (a socket emits few).
 * A drop is the listener's ({@link #droppedMessagesTotal()} less {@link #droppedMessagesBudgetTotal()})
 * when the socket's own bound was full (its reader absent or behind), the daemon's when the
 * daemon-wide budget or the principal's share of it was full, or the daemon was stopping.
 *
 * <p>A read burst's 'message' events borrow their bytes from the event loop's buffer until the burst
 * ends ({@link SocketEvent.Message#borrowed()}): they are written out at its end, when the stream is
 * ready, and those that must wait in the queue are given bytes of their own then.
 *
 * <p>Stopping: when the daemon stops ({@code stopping} true when 'close' comes), the 'message' and
 * 'error' events still queued are dropped and counted, so that 'close' goes out next even to a
 * reader that is behind.
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
    private final Protos protos;
    private final EventBudget.Account account;
    private final BooleanSupplier stopping;
    private final DropCounters drops;
    /** Room for two events at first (most sockets hold one at a time); it grows with a burst. */
    private final ArrayDeque<SocketEvent> queue = new ArrayDeque<>(2);
    /** Bytes of batches handed to the subscriber, still paid for until it is ready again. */
    private long inTransport;
    private long droppedMessages;
    private long droppedMessagesBudget;
    private long droppedErrors;
    private long kernelDropped;
    // Written on the loop, read by admin calls from any thread.
    private volatile long droppedMessagesTotal;
    private volatile long droppedMessagesBudgetTotal;
    private volatile long droppedErrorsTotal;
    private volatile EventSink subscriber;
    private boolean finished;
    /** 'close' is in the queue: the socket is gone, the stream has yet to take it. */
    private boolean closeQueued;
    /** A keep-alive that never reaps. */
    static final Duration FOREVER = Duration.ofNanos(-1);
    private long keepAliveNanos;
    private final Runnable reap;
    private ScheduledFuture<?> reapTimer;
    /**
     * The id of the socket the attached stream's call created, until the first batch announces it
     * (together with the events queued since the creation: a bind's 'listening'); then null.
     */
    private String announce;

    /**
     * @param account pays for the socket's queued 'message' and 'error' events; closed with the stream
     * @param stopping true once the daemon is stopping: 'close' then goes out ahead of queued messages
     * @param keepAlive how long a socket whose stream was cancelled waits for a new one (zero: it is
     *     reaped at once); {@link #FOREVER} never reaps it
     * @param reap closes the socket when the grace ran out; runs on {@code loop}
     */
    EventStream(EventLoop loop, SocketConfig.Family family, EventBudget.Account account, BooleanSupplier stopping,
                DropCounters drops, Duration keepAlive, Runnable reap) {
        this.loop = loop;
        this.protos = new Protos(family);
        this.account = account;
        this.stopping = stopping;
        this.drops = drops;
        this.keepAliveNanos = keepAlive.toNanos();
        this.reap = reap;
    }

    @Override
    public void onEvent(SocketEvent event) {
        if (finished) {
            return;
        }
        if (event instanceof SocketEvent.Close) {
            cancelReap(); // closed anyway
            closeQueued = true;
            if (stopping.getAsBoolean()) {
                dropQueued(true);
            }
        } else if (event instanceof SocketEvent.Message || event instanceof SocketEvent.Error) {
            EventBudget.Outcome paid = account.tryReserve(cost(event));
            if (paid != EventBudget.Outcome.TAKEN) {
                dropped(event, paid == EventBudget.Outcome.BUDGET_FULL);
                return;
            }
        }
        queue.add(event);
    }

    @Override
    public void onKernelDrops(long datagrams) {
        kernelDropped += datagrams;
    }

    @Override
    public void onBurstEnd() {
        try {
            drain();
        } finally {
            ownBorrowed();
        }
    }

    /**
     * The burst is over: the 'message' events it borrowed ({@link SocketEvent.Message#borrowed()})
     * that are still queued get bytes of their own. They are the newest messages in the queue
     * (those of earlier bursts were owned at their end), so the walk from the tail stops at the
     * first message that owns its bytes.
     */
    private void ownBorrowed() {
        if (!(queue.peekLast() instanceof SocketEvent.Message last) || !last.borrowed()) {
            return; // the burst's messages all went out, or were dropped: the common case
        }
        ArrayDeque<SocketEvent> tail = new ArrayDeque<>();
        while (!queue.isEmpty()) {
            SocketEvent e = queue.peekLast();
            if (e instanceof SocketEvent.Message m && !m.borrowed()) {
                break;
            }
            queue.pollLast();
            tail.addFirst(e instanceof SocketEvent.Message m ? m.owned() : e);
        }
        queue.addAll(tail);
    }

    private void dropped(SocketEvent event, boolean daemonWide) {
        if (event instanceof SocketEvent.Message) {
            droppedMessages++;
            droppedMessagesTotal++; // single writer: the loop
            drops.messages.increment();
            if (daemonWide) {
                droppedMessagesBudget++;
                droppedMessagesBudgetTotal++;
                drops.messagesBudget.increment();
            }
        } else {
            droppedErrors++;
            droppedErrorsTotal++;
            drops.errors.increment();
        }
    }

    /**
     * Drops (and counts) the queued 'message' and 'error' events: when stopping, so that what comes
     * next goes out next ({@code daemonWide}); or when the socket is closed and no stream is there
     * to take them (the reader's loss).
     */
    private void dropQueued(boolean daemonWide) {
        for (java.util.Iterator<SocketEvent> it = queue.iterator(); it.hasNext(); ) {
            SocketEvent e = it.next();
            if (e instanceof SocketEvent.Message || e instanceof SocketEvent.Error) {
                it.remove();
                account.release(cost(e));
                dropped(e, daemonWide);
            }
        }
    }

    /**
     * Attaches {@code stream} (from any thread). Fails it with ALREADY_EXISTS when another stream is
     * attached, and with ERR_SOCKET_DGRAM_NOT_RUNNING when 'close' was delivered already.
     *
     * @param createdId when the call created the socket, its id: the first batch announces it, with
     *     the events queued since the creation (the 'listening' of a bind made with it) when the
     *     stream is ready at once, so that a created and bound socket costs one message; alone otherwise
     */
    void attach(EventSink stream, String createdId) {
        attach(stream, createdId, false, null);
    }

    /**
     * Attaches {@code stream} to the open socket {@code id} that it named (a re-attach), as
     * {@link #attach(EventSink, String)}: the first batch announces the id with
     * {@code attached}, so the client knows it is attached; then come the events queued meanwhile.
     */
    void reattach(EventSink stream, String id) {
        attach(stream, id, true, null);
    }

    /** Changes how long the socket waits for a new stream once its stream went away; from any thread. */
    void keepAlive(Duration keepAlive) {
        loop.execute(() -> keepAliveNanos = keepAlive.toNanos());
    }

    /**
     * Attaches {@code stream} to the open socket {@code id} that a create call found by its name, as
     * {@link #attach(EventSink, String)}: the first batch announces the id with
     * {@code attached}, then come the socket's state as events ({@code state}, evaluated on the
     * loop: 'listening' when bound, 'connect' when connected), which replace any 'listening' or
     * 'connect' still queued, then the events queued meanwhile.
     */
    void attachNamed(EventSink stream, String id,
                     java.util.function.Supplier<java.util.List<SocketEvent>> state) {
        attach(stream, id, true, state);
    }

    private void attach(EventSink stream, String createdId, boolean attached,
                        java.util.function.Supplier<java.util.List<SocketEvent>> state) {
        stream.setHandlers(() -> loop.execute(this::drain), () -> loop.execute(() -> detach(stream)));
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
                if (createdId != null && !attached && stream.isReady()) {
                    announce = createdId; // with the events queued since the creation ('listening'): one message
                } else if (createdId != null) {
                    stream.onNext(EventBatch.announcement(createdId, attached));
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

    /**
     * On the loop: puts {@code first} ahead of the queue, in place of any 'listening' or 'connect'
     * queued (events the budget does not pay for).
     */
    private void queueFirst(java.util.List<SocketEvent> first) {
        queue.removeIf(e -> e instanceof SocketEvent.Listening || e instanceof SocketEvent.Connect);
        for (int i = first.size() - 1; i >= 0; i--) {
            queue.addFirst(first.get(i));
        }
    }

    /**
     * Ends the attached stream, if any, with {@code status} (from any thread); the socket then waits
     * for a new stream as when a stream is cancelled (an orphan, reaped after its keep-alive).
     */
    void end(io.grpc.StatusRuntimeException status) {
        loop.execute(() -> {
            EventSink s = subscriber;
            if (s != null && !finished) {
                detach(s);
                s.onError(status);
            }
        });
    }

    /** On the loop: {@code stream} was cancelled; when it was the attached one, the socket is an orphan. */
    private void detach(EventSink stream) {
        if (subscriber != stream) {
            return;
        }
        subscriber = null;
        releaseInTransport(); // the cancelled call's transport lets go of them
        if (closeQueued) {
            release(); // closed: no new stream can find the socket, only one already on its way
            return;
        }
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

    /**
     * On the loop, once the socket stopped for a hand-over: ends the attached stream, if any, with
     * {@code status} (after the batches already given to gRPC, which the client still gets), and
     * gives what is left to hand over. The stream takes nothing more afterwards; the held events
     * stay paid for until {@link #handedOver} or {@link #resume}.
     */
    HeldEvents handOver(io.grpc.StatusRuntimeException status) {
        boolean reapable = subscriber != null || reapTimer != null;
        cancelReap();
        finished = true;
        EventSink s = subscriber;
        subscriber = null;
        if (s != null) {
            s.onError(status);
        }
        HeldEvents held = new HeldEvents(new java.util.ArrayList<>(queue), droppedMessages, droppedMessagesBudget, droppedErrors,
                kernelDropped, droppedMessagesTotal, droppedMessagesBudgetTotal, droppedErrorsTotal, keepAliveNanos,
                reapable);
        queue.clear();
        releaseInTransport();
        return held;
    }

    /** The socket is the new process's: gives back what its held events cost here. From any thread. */
    void handedOver() {
        loop.execute(account::close);
    }

    /**
     * On the loop: the hand-over failed before the new process took the socket; the stream goes on
     * with {@code held} queued again (still paid for), as an orphan when it had a stream.
     */
    void resume(HeldEvents held) {
        finished = false;
        for (int i = held.queued().size() - 1; i >= 0; i--) {
            queue.addFirst(held.queued().get(i));
        }
        if (held.reapable() && keepAliveNanos >= 0 && subscriber == null && reapTimer == null) {
            reapTimer = loop.schedule(this::orphaned, keepAliveNanos, TimeUnit.NANOSECONDS);
        }
    }

    /**
     * On the loop, before the socket taken over reads: queues what the other process held (what
     * the budget does not pay for is dropped and counted) and, when it is reapable, waits for a
     * stream for the keep-alive from now.
     */
    void restore(HeldEvents held) {
        droppedMessages = held.droppedMessages();
        droppedMessagesBudget = held.droppedMessagesBudget();
        droppedErrors = held.droppedErrors();
        kernelDropped = held.kernelDropped();
        droppedMessagesTotal = held.droppedMessagesTotal();
        droppedMessagesBudgetTotal = held.droppedMessagesBudgetTotal();
        droppedErrorsTotal = held.droppedErrorsTotal();
        keepAliveNanos = held.keepAliveNanos();
        for (SocketEvent e : held.queued()) {
            onEvent(e);
        }
        if (held.reapable() && keepAliveNanos >= 0) {
            reapTimer = loop.schedule(this::orphaned, keepAliveNanos, TimeUnit.NANOSECONDS);
        }
    }

    /** 'message' events dropped so far because the reader was absent or behind; from any thread. */
    long droppedMessagesTotal() {
        return droppedMessagesTotal;
    }

    /**
     * Of {@link #droppedMessagesTotal()}, those dropped because the daemon-wide budget (or the
     * principal's share) was full, or the daemon was stopping; from any thread.
     */
    long droppedMessagesBudgetTotal() {
        return droppedMessagesBudgetTotal;
    }

    /** Bytes of events this socket holds now (queued, or in gRPC's transport); from any thread. */
    long bufferedBytes() {
        return account.held();
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
        while (subscriber != null && subscriber.isReady()) {
            releaseInTransport(); // ready: gRPC has written (nearly) all it was given
            if (queue.isEmpty() && droppedMessages == 0 && droppedErrors == 0 && kernelDropped == 0
                    && announce == null) {
                break;
            }
            // sized for datagrams of the first one's size, which most bursts are: it grows for others
            SocketEvent first = queue.peek();
            int capacity = first == null ? 0
                    : Math.min(Math.min(queue.size(), MAX_BATCH_EVENTS), MAX_BATCH_BYTES / (int) cost(first) + 1);
            EventBatch batch = new EventBatch(announce, false, capacity);
            batch.dropped(droppedMessages, droppedErrors, droppedMessagesBudget, kernelDropped);
            announce = null;
            droppedMessages = 0;
            droppedMessagesBudget = 0;
            droppedErrors = 0;
            kernelDropped = 0;
            int bytes = 0;
            boolean close = false;
            while (!queue.isEmpty() && batch.count() < MAX_BATCH_EVENTS && bytes < MAX_BATCH_BYTES) {
                SocketEvent e = queue.poll();
                if (e instanceof SocketEvent.Message || e instanceof SocketEvent.Error) {
                    long cost = cost(e);
                    inTransport += cost;
                    bytes += (int) cost;
                }
                if (e instanceof SocketEvent.Message m) {
                    batch.add(m, protos.sender(m.sender().getAddress()));
                } else {
                    batch.add(protos.event(e));
                }
                if (e instanceof SocketEvent.Close) {
                    close = true;
                    break;
                }
            }
            EventSink s = subscriber;
            s.onNext(batch);
            if (close) {
                finished = true;
                subscriber = null;
                queue.clear();
                inTransport = 0;
                account.close(); // gives back what the queue and the transport held
                s.onCompleted();
            }
        }
    }

    private void releaseInTransport() {
        if (inTransport > 0) {
            account.release(inTransport);
            inTransport = 0;
        }
    }

    /**
     * The socket is closed: when no stream is attached to take its 'close', gives back what the
     * queue held (no stream can attach any more). From any thread.
     */
    void socketClosed() {
        loop.execute(() -> {
            if (subscriber == null) {
                release();
            }
        });
    }

    /**
     * The socket is closed and no stream is attached: gives back what the queue and the transport
     * held. The few events that cannot be dropped ('close' among them) stay queued for a stream whose
     * attach was already on its way when the socket closed.
     */
    private void release() {
        dropQueued(false);
        inTransport = 0;
        account.close();
    }

    private static long cost(SocketEvent e) {
        return e instanceof SocketEvent.Message m ? m.length() + EVENT_OVERHEAD : EVENT_OVERHEAD;
    }
}
