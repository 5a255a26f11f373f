package dev.dgramd.daemon.udp;

import io.netty.channel.EventLoop;
import java.net.InetSocketAddress;
import java.util.Arrays;
import java.util.concurrent.RejectedExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link DatagramTap}s of one socket. Changed and called on the socket's event loop; the array
 * is volatile only so that {@link #count} can be read from any thread. Costs one array-length check
 * per datagram while no tap is attached.
 */
final class SocketTaps {
    private static final Logger log = LoggerFactory.getLogger(SocketTaps.class);
    private static final DatagramTap[] NONE = {};

    private final String socketId;
    private final EventLoop loop;
    private volatile DatagramTap[] taps = NONE;

    SocketTaps(String socketId, EventLoop loop) {
        this.socketId = socketId;
        this.loop = loop;
    }

    /** Attaches {@code tap}; on the event loop. */
    void add(DatagramTap tap) {
        DatagramTap[] more = Arrays.copyOf(taps, taps.length + 1);
        more[taps.length] = tap;
        taps = more;
    }

    /** Detaches {@code tap}, from any thread; nothing when it is not attached or the loop is gone. */
    void remove(DatagramTap tap) {
        Runnable remove = () -> taps = Arrays.stream(taps).filter(t -> t != tap).toArray(DatagramTap[]::new);
        if (loop.inEventLoop()) {
            remove.run();
        } else {
            try {
                loop.execute(remove);
            } catch (RejectedExecutionException e) {
                // the loop is gone, and the socket with it
            }
        }
    }

    /** Taps attached now; from any thread. */
    int count() {
        return taps.length;
    }

    /** Whether any tap is attached, so that a datagram needs copying; on the event loop. */
    boolean active() {
        return taps.length > 0;
    }

    /** Gives a datagram to every tap; a tap that throws is logged and skipped. On the event loop. */
    void copy(DatagramTap.Direction direction, InetSocketAddress peer, byte[] data) {
        for (DatagramTap tap : taps) {
            try {
                tap.onDatagram(direction, peer, data);
            } catch (RuntimeException e) {
                SocketLog.warn(log, socketId, "socket {}: tap failed", socketId, e);
            }
        }
    }

    /** The socket closed: tells every tap and detaches them all. On the event loop. */
    void closeAll() {
        DatagramTap[] ended = taps;
        taps = NONE;
        for (DatagramTap tap : ended) {
            try {
                tap.onClose();
            } catch (RuntimeException e) {
                SocketLog.warn(log, socketId, "socket {}: tap failed", socketId, e);
            }
        }
    }
}
