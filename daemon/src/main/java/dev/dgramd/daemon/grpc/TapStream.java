package dev.dgramd.daemon.grpc;

import com.google.protobuf.Timestamp;
import com.google.protobuf.UnsafeByteOperations;
import dev.dgramd.daemon.udp.DatagramTap;
import dev.dgramd.daemon.udp.SocketConfig;
import dev.dgramd.daemon.udp.SocketLog;
import dev.dgramd.daemon.udp.UdpSocket;
import dev.dgramd.proto.v1.SocketType;
import dev.dgramd.proto.v1.TapAttached;
import dev.dgramd.proto.v1.TapDirection;
import dev.dgramd.proto.v1.TapResponse;
import dev.dgramd.proto.v1.TappedDatagram;
import io.grpc.stub.ServerCallStreamObserver;
import io.netty.channel.EventLoop;
import java.net.InetSocketAddress;
import java.time.Instant;
import java.util.ArrayDeque;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One Admin.Tap call: a socket's datagrams, copied to the caller. Lives on the socket's event loop.
 *
 * <p>Copies wait in a queue bounded by {@link #MAX_QUEUED_BYTES} while the caller's stream is not
 * ready; a datagram that does not fit is dropped from the tap and counted (in the next TapResponse's
 * {@code dropped} and in {@link DropCounters#tapDatagrams}), so a slow tap never slows the socket.
 * The first TapResponse ({@code attached}) goes out once the tap is in place; the stream completes after
 * the socket closes and the queue is sent.
 */
final class TapStream implements DatagramTap {
    /** Bytes of copies one tap may hold for a caller that is behind. */
    static final long MAX_QUEUED_BYTES = 1 << 20;
    private static final int OVERHEAD = 96;
    private static final Logger log = LoggerFactory.getLogger(TapStream.class);

    private final UdpSocket socket;
    private final EventLoop loop;
    private final SocketConfig.Family family;
    private final ServerCallStreamObserver<TapResponse> out;
    private final DropCounters drops;
    private final ArrayDeque<TapResponse> queue = new ArrayDeque<>();
    private long queuedBytes;
    private long dropped;
    private boolean active;
    private boolean closing;
    private boolean finished;

    private TapStream(UdpSocket socket, ServerCallStreamObserver<TapResponse> out, DropCounters drops) {
        this.socket = socket;
        this.loop = socket.eventLoop();
        this.family = socket.config().family();
        this.out = out;
        this.drops = drops;
    }

    /** Attaches a tap to {@code socket} for the call {@code out}; fails the call if the socket is closed. */
    static void start(UdpSocket socket, ServerCallStreamObserver<TapResponse> out, DropCounters drops) {
        TapStream tap = new TapStream(socket, out, drops);
        out.setOnReadyHandler(() -> tap.loop.execute(tap::drain));
        out.setOnCancelHandler(() -> {
            socket.removeTap(tap);
            tap.loop.execute(tap::cancelled);
        });
        socket.addTap(tap).whenComplete((v, error) -> {
            // On the socket's loop (or, if the loop is gone, here): no datagram came before this.
            if (error != null) {
                tap.finished = true;
                out.onError(ErrorMapping.toStatus(error));
                return;
            }
            TapAttached.Builder attached = TapAttached.newBuilder().setType(
                    tap.family == SocketConfig.Family.IPV4 ? SocketType.SOCKET_TYPE_UDP4 : SocketType.SOCKET_TYPE_UDP6);
            InetSocketAddress local = socket.localAddress();
            if (local != null) {
                attached.setLocal(Protos.addressInfo(local, tap.family));
            }
            tap.queue.addFirst(TapResponse.newBuilder().setAttached(attached).build());
            tap.active = true;
            SocketLog.info(log, socket.id(), "socket {}: tap attached", socket.id());
            tap.drain();
        });
    }

    @Override
    public void onDatagram(Direction direction, InetSocketAddress peer, byte[] data) {
        if (finished || closing) {
            return;
        }
        long cost = data.length + OVERHEAD;
        if (queuedBytes + cost > MAX_QUEUED_BYTES) {
            dropped++;
            drops.tapDatagrams.increment();
            return;
        }
        Instant now = Instant.now();
        queue.add(TapResponse.newBuilder().setDatagram(TappedDatagram.newBuilder()
                .setDirection(direction == Direction.RECEIVED ? TapDirection.TAP_DIRECTION_RECEIVED : TapDirection.TAP_DIRECTION_SENT)
                .setPeer(Protos.addressInfo(peer, family))
                .setData(UnsafeByteOperations.unsafeWrap(data)) // shared, never changed
                .setTime(Timestamp.newBuilder().setSeconds(now.getEpochSecond()).setNanos(now.getNano())))
                .build());
        queuedBytes += cost;
        drain();
    }

    @Override
    public void onClose() {
        closing = true;
        drain();
    }

    private void drain() {
        if (!active || finished) {
            return;
        }
        while ((!queue.isEmpty() || dropped > 0) && out.isReady()) {
            TapResponse next = queue.poll();
            TapResponse.Builder event = next == null ? TapResponse.newBuilder() : next.toBuilder();
            if (next != null && next.hasDatagram()) {
                queuedBytes -= next.getDatagram().getData().size() + OVERHEAD;
            }
            out.onNext(event.setDropped(dropped).build());
            dropped = 0;
        }
        if (closing && queue.isEmpty() && dropped == 0) {
            finished = true;
            out.onCompleted();
            SocketLog.info(log, socket.id(), "socket {}: tap ended (socket closed)", socket.id());
        }
    }

    private void cancelled() {
        if (!finished) {
            SocketLog.info(log, socket.id(), "socket {}: tap detached", socket.id());
        }
        finished = true;
        queue.clear();
        queuedBytes = 0;
    }
}
