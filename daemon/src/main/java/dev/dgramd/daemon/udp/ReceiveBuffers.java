package dev.dgramd.daemon.udp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.DefaultMaxMessagesRecvByteBufAllocator;
import io.netty.util.concurrent.FastThreadLocal;

/**
 * The receive buffer of the UDP sockets: one per event loop thread and payload size, kept and
 * reused for every read rather than allocated and freed each time. A read needs room for
 * {@code datagramsPerRead} datagrams of the largest payload (about 1 MiB); Netty's allocators do not
 * keep a buffer that large pooled once it is freed (its adaptive allocator pools nothing above
 * 256 KiB when the JVM has less than 512 MiB of direct memory, as under {@code -Xmx384m}; its pooled
 * allocator frees the chunk when it empties), so each read cost a fresh allocation of 1 to 4 MiB,
 * zeroed: tens of microseconds a read, which made a daemon socket fall behind at 13,000 datagrams/s.
 *
 * <p>The kept buffer comes from Netty's pooled allocator, whatever the channel's: recvmmsg(2) hands
 * each datagram on as a slice of the read's buffer, and a pooled buffer's slices are recycled
 * objects, where another buffer's are a new object per datagram. It is handed out again only when
 * nothing else holds it (its reference count is back to the one this class keeps: every datagram
 * read from it was released); otherwise a read gets a buffer of its own from the channel's
 * allocator, as before.
 */
final class ReceiveBuffers extends DefaultMaxMessagesRecvByteBufAllocator {
    private final int bufferSize;
    private final FastThreadLocal<ByteBuf> kept = new FastThreadLocal<>() {
        @Override
        protected void onRemoval(ByteBuf buffer) {
            buffer.release();
        }
    };

    /**
     * @param bufferSize bytes of each read's buffer
     * @param readsPerWakeup datagrams read per readiness event, at most
     */
    ReceiveBuffers(int bufferSize, int readsPerWakeup) {
        super(readsPerWakeup);
        this.bufferSize = bufferSize;
    }

    @Override
    public Handle newHandle() {
        return new MaxMessageHandle() {
            @Override
            public int guess() {
                return bufferSize;
            }

            @Override
            public ByteBuf allocate(ByteBufAllocator alloc) {
                return buffer(alloc);
            }
        };
    }

    private ByteBuf buffer(ByteBufAllocator alloc) {
        ByteBuf buffer = kept.getIfExists();
        if (buffer == null) {
            // From the pooled allocator whatever the channel's is: a read's datagrams are slices of
            // it, and a pooled buffer's slices are recycled objects, not one new object per datagram.
            buffer = PooledByteBufAllocator.DEFAULT.directBuffer(bufferSize, bufferSize);
            kept.set(buffer);
        } else if (buffer.refCnt() != 1) {
            return alloc.directBuffer(bufferSize, bufferSize); // a datagram read from the kept one is still held
        }
        return buffer.clear().retain();
    }
}
