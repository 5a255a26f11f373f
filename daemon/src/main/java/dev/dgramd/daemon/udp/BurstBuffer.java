package dev.dgramd.daemon.udp;

import io.netty.buffer.ByteBuf;
import io.netty.util.concurrent.FastThreadLocal;
import java.net.InetSocketAddress;

/**
 * Where a read burst's datagrams are copied out of Netty's receive buffer: one heap array per event
 * loop thread, lent to one socket's burst at a time, instead of an array of its own per datagram
 * (on the inbound path, the payload's size in garbage per datagram). The datagrams become
 * {@link SocketEvent.Message#borrowed() borrowed} 'message' events: the socket's observer writes
 * them out (or keeps copies) by the burst's end, and then the array is free for the next burst.
 *
 * <p>A burst takes the array when it is free and keeps it until it {@link #release}s it; a
 * datagram that does not fit, or that arrives while another socket's burst holds the array, is
 * copied into an array of its own, as before. Event-loop confined.
 */
final class BurstBuffer {
    /** Room for a read wakeup's datagrams of up to 2 KiB (64 of them); larger ones get their own. */
    static final int SIZE = 128 * 1024;
    private static final FastThreadLocal<BurstBuffer> OF_LOOP = new FastThreadLocal<>() {
        @Override
        protected BurstBuffer initialValue() {
            return new BurstBuffer(SIZE);
        }
    };

    private final byte[] array;
    private int used;
    private Object holder;

    BurstBuffer(int size) {
        this.array = new byte[size];
    }

    /** The calling event loop thread's. */
    static BurstBuffer ofThisThread() {
        return OF_LOOP.get();
    }

    /**
     * {@code content}'s readable bytes as a 'message' from {@code sender}: borrowed from this buffer
     * when it has room and is free or already {@code burst}'s (which then holds it), else with an
     * array of its own.
     */
    SocketEvent.Message message(Object burst, ByteBuf content, InetSocketAddress sender) {
        int length = content.readableBytes();
        if ((holder == null || holder == burst) && length <= array.length - used) {
            holder = burst;
            int offset = used;
            content.getBytes(content.readerIndex(), array, offset, length);
            used += length;
            return new SocketEvent.Message(array, offset, length, sender, true);
        }
        byte[] data = new byte[length];
        content.getBytes(content.readerIndex(), data);
        return new SocketEvent.Message(data, sender);
    }

    /** {@code burst} has ended: when it held the buffer, the buffer is free and empty again. */
    void release(Object burst) {
        if (holder == burst) {
            holder = null;
            used = 0;
        }
    }
}
