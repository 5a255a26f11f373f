package dev.dgramd.daemon.udp;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.RecvByteBufAllocator;
import org.junit.jupiter.api.Test;

/**
 * The receive buffer is allocated once per thread and reused by every read whose datagrams were all
 * released, the way the epoll transport uses it (a read takes it, slices a datagram out, lets go);
 * a read while a datagram of the last one is still held gets a buffer of its own.
 */
class ReceiveBuffersTest {
    static final int SIZE = 4 * 65_507;

    @Test
    void aReadReusesTheKeptBufferOnceEveryDatagramOfTheLastOneIsReleased() {
        ReceiveBuffers buffers = new ReceiveBuffers(SIZE, 64);
        RecvByteBufAllocator.Handle handle = buffers.newHandle();
        ByteBufAllocator alloc = new UnpooledByteBufAllocator(true);

        ByteBuf first = handle.allocate(alloc);
        assertThat(first.capacity()).isEqualTo(SIZE);
        assertThat(first.isDirect()).isTrue();
        first.writeBytes(new byte[1200]);
        ByteBuf datagram = first.retainedSlice(0, 1200);
        first.release(); // the transport lets go of the read's buffer
        datagram.release(); // the socket copied the datagram out

        ByteBuf second = handle.allocate(alloc);
        assertThat(second).isSameAs(first);
        assertThat(second.readableBytes()).as("handed out empty").isZero();

        ByteBuf held = second.retainedSlice(0, 1); // a datagram of this read is still held
        second.release();
        ByteBuf third = handle.allocate(alloc);
        assertThat(third).isNotSameAs(first);
        assertThat(third.capacity()).isEqualTo(SIZE);
        third.release();
        held.release();
        assertThat(handle.allocate(alloc)).isSameAs(first);
    }
}
