package dev.dgramd.daemon.grpc;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import dev.dgramd.daemon.budget.EventBudget;
import dev.dgramd.daemon.udp.Addresses;
import dev.dgramd.daemon.udp.DgramError;
import dev.dgramd.daemon.udp.SocketConfig;
import dev.dgramd.daemon.udp.SocketEvent;
import dev.dgramd.daemon.udp.SocketObserver;
import dev.dgramd.proto.v1.AddressInfo;
import dev.dgramd.proto.v1.Close;
import dev.dgramd.proto.v1.Connect;
import dev.dgramd.proto.v1.ErrorEvent;
import dev.dgramd.proto.v1.EventBatch;
import dev.dgramd.proto.v1.Listening;
import dev.dgramd.proto.v1.Message;
import dev.dgramd.proto.v1.RemoteInfo;
import io.grpc.stub.ServerCallStreamObserver;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.function.BooleanSupplier;
import java.util.concurrent.TimeUnit;

/**
 * The bridge from one socket's events to its Events stream. Lives on the socket's event loop.
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
 * <p>Stopping: when the daemon stops ({@code stopping} true when 'close' comes), the 'message' and
 * 'error' events still queued are dropped and counted, so that 'close' goes out next even to a
 * reader that is behind.
 *
 * <p>Orphans: when an attached stream is cancelled (the client cancelled it, or its connection
 * died), {@code reap} runs after the orphan grace unless a new stream attaches first; the new
 * stream gets the events queued meanwhile. A socket that never had a stream attached is never
 * reaped, nor is any socket when the grace is zero.
 */
final class EventStream implements SocketObserver {
    /** Queue cost of an event beyond its payload. */
    private static final int EVENT_OVERHEAD = 64;
    private static final int MAX_BATCH_BYTES = 256 * 1024;
    private static final int MAX_BATCH_EVENTS = 1024;

    private final EventLoop loop;
    private final SocketConfig.Family family;
    private final EventBudget.Account account;
    private final BooleanSupplier stopping;
    private final DropCounters drops;
    private final ArrayDeque<SocketEvent> queue = new ArrayDeque<>();
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
    private volatile ServerCallStreamObserver<EventBatch> subscriber;
    private boolean finished;
    /** 'close' is in the queue: the socket is gone, the stream has yet to take it. */
    private boolean closeQueued;
    private final long orphanGraceNanos;
    private final Runnable reap;
    private ScheduledFuture<?> reapTimer;

    /**
     * @param account pays for the socket's queued 'message' and 'error' events; closed with the stream
     * @param stopping true once the daemon is stopping: 'close' then goes out ahead of queued messages
     * @param orphanGrace how long a socket whose stream was cancelled waits for a new one; zero: forever
     * @param reap closes the socket when the grace ran out; runs on {@code loop}
     */
    EventStream(EventLoop loop, SocketConfig.Family family, EventBudget.Account account, BooleanSupplier stopping,
                DropCounters drops, Duration orphanGrace, Runnable reap) {
        this.loop = loop;
        this.family = family;
        this.account = account;
        this.stopping = stopping;
        this.drops = drops;
        this.orphanGraceNanos = orphanGrace.toNanos();
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
        drain();
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
     * @param createdId when the call created the socket, its id: the first batch announces it
     */
    void attach(ServerCallStreamObserver<EventBatch> stream, String createdId) {
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
                    stream.onNext(EventBatch.newBuilder().setSocketId(createdId).build());
                }
                drain();
            } else if (createdId != null) {
                // The call that created the socket went away first: an orphan from the start.
                subscriber = stream;
                detach(stream);
            }
        });
    }

    /** On the loop: {@code stream} was cancelled; when it was the attached one, the socket is an orphan. */
    private void detach(ServerCallStreamObserver<EventBatch> stream) {
        if (subscriber != stream) {
            return;
        }
        subscriber = null;
        releaseInTransport(); // the cancelled call's transport lets go of them
        if (closeQueued) {
            release(); // closed: no new stream can find the socket, only one already on its way
            return;
        }
        if (!finished && orphanGraceNanos > 0 && reapTimer == null) {
            reapTimer = loop.schedule(this::orphaned, orphanGraceNanos, TimeUnit.NANOSECONDS);
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
            if (queue.isEmpty() && droppedMessages == 0 && droppedErrors == 0 && kernelDropped == 0) {
                break;
            }
            EventBatch.Builder batch = EventBatch.newBuilder().setDroppedMessages(droppedMessages)
                    .setDroppedErrors(droppedErrors).setDroppedMessagesBudget(droppedMessagesBudget)
                    .setKernelDroppedMessages(kernelDropped);
            droppedMessages = 0;
            droppedMessagesBudget = 0;
            droppedErrors = 0;
            kernelDropped = 0;
            int bytes = 0;
            boolean close = false;
            while (!queue.isEmpty() && batch.getEventsCount() < MAX_BATCH_EVENTS && bytes < MAX_BATCH_BYTES) {
                SocketEvent e = queue.poll();
                if (e instanceof SocketEvent.Message || e instanceof SocketEvent.Error) {
                    long cost = cost(e);
                    inTransport += cost;
                    bytes += (int) cost;
                }
                batch.addEvents(toProto(e));
                if (e instanceof SocketEvent.Close) {
                    close = true;
                    break;
                }
            }
            ServerCallStreamObserver<EventBatch> s = subscriber;
            s.onNext(batch.build());
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
        return e instanceof SocketEvent.Message m ? m.data().length + EVENT_OVERHEAD : EVENT_OVERHEAD;
    }

    // The last 'message' rinfo: most traffic comes from few peers, in datagrams of one size, so
    // the address is formatted once per sender and the RemoteInfo (its serialized size memoized)
    // is built once per sender, port and size. Builders are reused for the rest. Loop only.
    private java.net.InetAddress lastSender;
    private ByteString lastSenderText;
    private ByteString lastSenderFamily;
    private RemoteInfo lastRinfo;
    // Made at the first 'message': a socket that never receives one (most of 10,000) holds none.
    private dev.dgramd.proto.v1.SocketEvent.Builder eventBuilder;
    private Message.Builder messageBuilder;

    private dev.dgramd.proto.v1.SocketEvent toProto(SocketEvent e) {
        if (e instanceof SocketEvent.Message m) {
            if (eventBuilder == null) {
                eventBuilder = dev.dgramd.proto.v1.SocketEvent.newBuilder();
                messageBuilder = Message.newBuilder();
            }
            ByteString data = UnsafeByteOperations.unsafeWrap(m.data()); // the event owns the array
            return eventBuilder.clear().setMessage(messageBuilder.clear().setData(data)
                    .setRinfo(rinfo(m.sender(), m.data().length))).build();
        }
        dev.dgramd.proto.v1.SocketEvent.Builder b = dev.dgramd.proto.v1.SocketEvent.newBuilder();
        if (e instanceof SocketEvent.Listening l) {
            b.setListening(Listening.newBuilder().setAddress(addressInfo(l.address())));
        } else if (e instanceof SocketEvent.Connect c) {
            b.setConnect(Connect.newBuilder().setRemote(addressInfo(c.remote())));
        } else if (e instanceof SocketEvent.Error err) {
            b.setError(ErrorEvent.newBuilder().setError(ErrorMapping.toProto(err.error())));
        } else {
            b.setClose(Close.getDefaultInstance());
        }
        return b.build();
    }

    private RemoteInfo rinfo(InetSocketAddress from, int size) {
        boolean sameSender = from.getAddress().equals(lastSender);
        if (sameSender && lastRinfo.getPort() == from.getPort() && lastRinfo.getSize() == size) {
            return lastRinfo;
        }
        if (!sameSender) {
            lastSender = from.getAddress();
            // as bytes, so that each message's serialization copies them rather than encoding text
            lastSenderText = ByteString.copyFromUtf8(Addresses.text(lastSender, family));
            lastSenderFamily = ByteString.copyFromUtf8(Addresses.family(lastSender, family));
        }
        lastRinfo = RemoteInfo.newBuilder()
                .setAddressBytes(lastSenderText)
                .setFamilyBytes(lastSenderFamily)
                .setPort(from.getPort())
                .setSize(size)
                .build();
        return lastRinfo;
    }

    AddressInfo addressInfo(InetSocketAddress a) {
        return addressInfo(a, family);
    }

    static AddressInfo addressInfo(InetSocketAddress a, SocketConfig.Family family) {
        return AddressInfo.newBuilder()
                .setAddress(Addresses.text(a.getAddress(), family))
                .setFamily(Addresses.family(a.getAddress(), family))
                .setPort(a.getPort())
                .build();
    }
}
