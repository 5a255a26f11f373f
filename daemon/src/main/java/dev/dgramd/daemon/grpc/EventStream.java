package dev.dgramd.daemon.grpc;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
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
    private final long maxQueuedBytes;
    private final DropCounters drops;
    private final ArrayDeque<SocketEvent> queue = new ArrayDeque<>();
    private long queuedBytes;
    private long droppedMessages;
    private long droppedErrors;
    // Written on the loop, read by admin calls from any thread.
    private volatile long droppedMessagesTotal;
    private volatile long droppedErrorsTotal;
    private volatile ServerCallStreamObserver<EventBatch> subscriber;
    private boolean finished;
    private final long orphanGraceNanos;
    private final Runnable reap;
    private ScheduledFuture<?> reapTimer;

    /**
     * @param orphanGrace how long a socket whose stream was cancelled waits for a new one; zero: forever
     * @param reap closes the socket when the grace ran out; runs on {@code loop}
     */
    EventStream(EventLoop loop, SocketConfig.Family family, long maxQueuedBytes, DropCounters drops,
                Duration orphanGrace, Runnable reap) {
        this.loop = loop;
        this.family = family;
        this.maxQueuedBytes = maxQueuedBytes;
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

    /**
     * Ends the attached stream, if any, with {@code status} (from any thread); the socket then waits
     * for a new stream as when a stream is cancelled (an orphan, reaped after the grace).
     */
    void end(io.grpc.StatusRuntimeException status) {
        loop.execute(() -> {
            ServerCallStreamObserver<EventBatch> s = subscriber;
            if (s != null && !finished) {
                detach(s);
                s.onError(status);
            }
        });
    }

    /** On the loop: {@code stream} was cancelled; when it was the attached one, the socket is an orphan. */
    private void detach(ServerCallStreamObserver<EventBatch> stream) {
        if (subscriber != stream) {
            return;
        }
        subscriber = null;
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
            EventBatch.Builder batch = EventBatch.newBuilder().setDroppedMessages(droppedMessages)
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
                queuedBytes = 0;
                s.onCompleted();
            }
        }
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
