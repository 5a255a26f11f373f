package dev.dgramd.bench;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.DatagramPacket;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Plain Netty epoll UDP, the reference implementation of the bench: a receiver that counts
 * (recvmmsg, {@value #DATAGRAMS_PER_READ} datagrams per call) and a sender that batches its
 * writes (write() n times, then flush(): one sendmmsg per flush), paced or flat out.
 */
final class NettyUdp implements AutoCloseable {
    static final int DATAGRAMS_PER_READ = 64;
    static final int MAX_PAYLOAD = 2048;
    /** Datagrams written per flush (per sendmmsg(2), at most 1024 of them). */
    static final int BURST = 256;
    /** Datagrams a GSO write carries at most (the kernel's UDP_MAX_SEGMENTS is 64 or more). */
    static final int GSO_SEGMENTS = 64;
    /** Bytes a GSO write carries at most (an IPv4 datagram's payload is below 64 KiB). */
    static final int MAX_GSO_BYTES = 60_000;

    /** Whether this kernel and Netty send UDP GSO (UDP_SEGMENT, Linux 4.18 and later). */
    static boolean gsoSupported() {
        return io.netty.channel.epoll.SegmentedDatagramPacket.isSupported();
    }

    private final EventLoopGroup group;

    NettyUdp(int threads) {
        if (!Epoll.isAvailable()) {
            throw new BenchException("Netty epoll is not available here: " + Epoll.unavailabilityCause());
        }
        this.group = new MultiThreadIoEventLoopGroup(threads, EpollIoHandler.newFactory());
    }

    /** A channel bound to 127.0.0.1 (any port) with {@code handler}; buffers 0 keep the system's. */
    DatagramChannel bind(ChannelHandler handler, int rcvbuf, int sndbuf) {
        Bootstrap b = new Bootstrap().group(group).channel(EpollDatagramChannel.class)
                .option(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
                .option(EpollChannelOption.MAX_DATAGRAM_PAYLOAD_SIZE, MAX_PAYLOAD)
                .option(ChannelOption.RCVBUF_ALLOCATOR,
                        new FixedRecvByteBufAllocator(MAX_PAYLOAD * DATAGRAMS_PER_READ))
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(512 << 10, 1 << 20))
                .handler(handler);
        if (rcvbuf > 0) {
            b.option(ChannelOption.SO_RCVBUF, rcvbuf);
        }
        if (sndbuf > 0) {
            b.option(ChannelOption.SO_SNDBUF, sndbuf);
        }
        try {
            return (DatagramChannel) b.bind("127.0.0.1", 0).sync().channel();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BenchException("interrupted binding a Netty channel");
        }
    }

    /** A receiver counting datagrams. */
    Receiver receiver(int rcvbuf) {
        Receiver r = new Receiver();
        r.channel = bind(r, rcvbuf, 0);
        return r;
    }

    /** An echo server: every datagram goes back to its sender. */
    DatagramChannel echoServer() {
        return bind(new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                DatagramPacket p = (DatagramPacket) msg;
                ctx.writeAndFlush(new DatagramPacket(p.content(), p.sender()), ctx.voidPromise());
            }
        }, 0, 0);
    }

    /** A sender. */
    Blaster blaster(int sndbuf) {
        Blaster b = new Blaster();
        b.channel = bind(b, 0, sndbuf);
        return b;
    }

    @Override
    public void close() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    }

    /** Counts and drops what arrives. */
    static final class Receiver extends ChannelInboundHandlerAdapter implements AutoCloseable {
        DatagramChannel channel;
        private long received; // event loop only
        private volatile long published;
        private volatile long base;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ReferenceCountUtil.release(msg);
            received++;
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            published = received;
        }

        int port() {
            return channel.localAddress().getPort();
        }

        /** Datagrams received since the last {@link #reset}. */
        long count() {
            return published - base;
        }

        void reset() {
            base = published;
        }

        @Override
        public void close() {
            channel.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
        }
    }

    /** What a blast did. */
    record BlastResult(long sent, long elapsedNanos) {
        double rate() {
            return elapsedNanos > 0 ? sent * 1e9 / elapsedNanos : 0;
        }
    }

    /** Sends datagrams from its channel, on its event loop, in bursts of write()s and one flush(). */
    static final class Blaster extends ChannelInboundHandlerAdapter implements AutoCloseable {
        DatagramChannel channel;
        private Run waiting; // event loop only

        /**
         * Sends {@code count} datagrams of {@code size} bytes to {@code to} (or as many as fit in
         * {@code durationNanos}), {@code rate} per second or as fast as the channel stays writable
         * ({@code rate <= 0}). Returns once they were all handed to the kernel.
         */
        BlastResult blast(InetSocketAddress to, int size, double rate, long count, long durationNanos) {
            return blast(to, size, rate, count, durationNanos, 1);
        }

        /**
         * As above, up to {@code segments} datagrams to a write: with more than one, a write is a
         * UDP GSO send ({@code UDP_SEGMENT}: the kernel cuts one buffer into {@code size}-byte
         * datagrams), and a flush still one sendmmsg(2) of such writes.
         */
        BlastResult blast(InetSocketAddress to, int size, double rate, long count, long durationNanos,
                int segments) {
            int per = Math.max(1, Math.min(segments, MAX_GSO_BYTES / size));
            ByteBuf payload = channel.alloc().directBuffer(size * per);
            for (int i = 0; i < per; i++) {
                payload.writeByte('d');
                payload.writeZero(size - 1);
            }
            Run run = new Run(to, payload, size, per, rate, count, durationNanos);
            channel.eventLoop().execute(run);
            try {
                return run.done.get(durationNanos / 1_000_000 + 30_000, TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                run.stop = true;
                throw new BenchException("the Netty sender did not finish in time");
            } catch (ExecutionException e) {
                throw new BenchException("the Netty sender failed: " + e.getCause(), e.getCause());
            } catch (InterruptedException e) {
                run.stop = true;
                Thread.currentThread().interrupt();
                throw new BenchException("interrupted while sending");
            } finally {
                channel.eventLoop().execute(payload::release);
            }
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            if (ctx.channel().isWritable() && waiting != null) {
                Run r = waiting;
                waiting = null;
                ctx.channel().eventLoop().execute(r);
            }
            ctx.fireChannelWritabilityChanged();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ReferenceCountUtil.release(msg);
        }

        int port() {
            return channel.localAddress().getPort();
        }

        @Override
        public void close() {
            channel.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
        }

        private final class Run implements Runnable {
            final InetSocketAddress to;
            final ByteBuf payload;
            final int size;
            final int per;
            final double rate;
            final long count;
            final long durationNanos;
            final CompletableFuture<BlastResult> done = new CompletableFuture<>();
            volatile boolean stop;
            long start = -1;
            long sent;
            boolean finishing;

            Run(InetSocketAddress to, ByteBuf payload, int size, int per, double rate, long count,
                    long durationNanos) {
                this.to = to;
                this.payload = payload;
                this.size = size;
                this.per = per;
                this.rate = rate;
                this.count = count;
                this.durationNanos = durationNanos;
            }

            @Override
            public void run() {
                EventLoop loop = channel.eventLoop();
                long now = System.nanoTime();
                if (start < 0) {
                    start = now;
                }
                if (finishing) {
                    finish(loop, now);
                    return;
                }
                if (stop || sent >= count || now - start >= durationNanos || !channel.isActive()) {
                    finishing = true;
                    finish(loop, now);
                    return;
                }
                long due = rate > 0 ? Math.min(count, (long) ((now - start) * rate / 1e9) + 1) : count;
                int n = 0;
                int burst = BURST * per;
                while (sent < due && n < burst && channel.isWritable()) {
                    int k = (int) Math.min(per, due - sent);
                    if (k == 1) {
                        channel.write(new DatagramPacket(payload.retainedSlice(0, size), to), channel.voidPromise());
                    } else {
                        channel.write(new io.netty.channel.epoll.SegmentedDatagramPacket(
                                payload.retainedSlice(0, k * size), size, to), channel.voidPromise());
                    }
                    sent += k;
                    n += k;
                }
                if (n > 0) {
                    channel.flush();
                }
                if (!channel.isWritable()) {
                    waiting = this; // resumed by channelWritabilityChanged
                } else if (rate <= 0 || sent < due) {
                    loop.execute(this);
                } else {
                    // the next datagram is due in (sent / rate - elapsed); wake up no sooner than 20 us
                    long nextDue = start + (long) (sent * 1e9 / rate);
                    long delay = Math.max(20_000, nextDue - System.nanoTime());
                    loop.schedule(this, delay, TimeUnit.NANOSECONDS);
                }
            }

            private void finish(EventLoop loop, long now) {
                ChannelOutboundBuffer ob = channel.unsafe().outboundBuffer();
                if (ob != null && !ob.isEmpty() && channel.isActive() && now - start < durationNanos + 5e9) {
                    loop.schedule(this, 100, TimeUnit.MICROSECONDS); // the kernel has not taken it all yet
                    return;
                }
                done.complete(new BlastResult(sent, System.nanoTime() - start));
            }
        }
    }
}
