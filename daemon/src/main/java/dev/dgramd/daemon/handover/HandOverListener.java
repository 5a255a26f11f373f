package dev.dgramd.daemon.handover;

import dev.dgramd.daemon.auth.UnixSocket;
import dev.dgramd.daemon.grpc.DgramService.HandedSocket;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.channel.unix.FileDescriptor;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where a running daemon waits for a new daemon process to take its sockets over: a unix socket
 * of mode 0600 that only a process of the same user (or root) may use, checked by its peer
 * credentials. One hand-over at a time; the exchange is {@link Frames}'.
 */
public final class HandOverListener implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(HandOverListener.class);

    /** What the daemon does at each step of a hand-over; called on an event loop, never blocking. */
    public interface Giver {
        /** Stops every socket and answers their state ({@code DgramService.handOver}). */
        CompletableFuture<List<HandedSocket>> stop();

        /** The taker failed or went away before taking them: the sockets go on here. */
        void resume(List<HandedSocket> sockets);

        /** The taker reads the sockets now: they are no longer this daemon's. */
        void taken(List<HandedSocket> sockets);

        /** Stops listening on the daemon's addresses (gRPC, metrics, this listener): completes once they are free. */
        CompletableFuture<Void> releaseAddresses();

        /** The taker listens in this daemon's place (or went away after taking everything): time to exit. */
        void handedOver();
    }

    private final Channel server;
    private final Path path;

    private HandOverListener(Channel server, Path path) {
        this.server = server;
        this.path = path;
    }

    /**
     * Listens on {@code path} (a stale socket file there is replaced).
     *
     * @throws IOException when the path is taken by a live socket or something else, or cannot be bound
     */
    public static HandOverListener start(Path path, EventLoopGroup group, Giver giver) throws IOException {
        UnixSocket.prepare(path);
        AtomicBoolean busy = new AtomicBoolean();
        int uid = ownUid();
        Channel server;
        try {
            server = new ServerBootstrap().group(group).channel(EpollServerDomainSocketChannel.class)
                    .childHandler(new ChannelInitializer<EpollDomainSocketChannel>() {
                        @Override
                        protected void initChannel(EpollDomainSocketChannel ch) {
                            ch.pipeline().addLast(Frames.decoder(), new Exchange(giver, busy, uid));
                        }
                    })
                    .bind(new DomainSocketAddress(path.toString())).syncUninterruptibly().channel();
        } catch (Exception e) { // Netty rethrows the connect's or bind's IOException unchecked
            throw new IOException("hand-over socket " + path + ": cannot listen: " + e.getMessage(), e);
        }
        Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-------"));
        log.info("dgramd hands its sockets over to a process that connects to unix:{}", path);
        return new HandOverListener(server, path);
    }

    /** The socket's path. */
    public Path path() {
        return path;
    }

    /** Stops listening; a hand-over under way goes on. */
    @Override
    public void close() {
        io.netty.channel.ChannelFuture closing = server.close();
        if (!server.eventLoop().inEventLoop()) {
            closing.syncUninterruptibly();
        }
        UnixSocket.remove(path);
    }

    static int ownUid() throws IOException {
        return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
    }

    /** One taker's exchange, on its channel's event loop. */
    private static final class Exchange extends SimpleChannelInboundHandler<ByteBuf> {
        private enum Step { WAIT_TAKE, STOPPING, WAIT_SEND_FDS, WAIT_TAKEN, WAIT_DONE, OVER }

        private final Giver giver;
        private final AtomicBoolean busy;
        private final int uid;
        private Step step = Step.WAIT_TAKE;
        private List<HandedSocket> sockets;
        private boolean mine;

        Exchange(Giver giver, AtomicBoolean busy, int uid) {
            this.giver = giver;
            this.busy = busy;
            this.uid = uid;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, ByteBuf frame) {
            byte type = frame.readByte();
            if (type == Frames.ERROR) {
                log.warn("hand-over: the new process gave up: {}", new String(Frames.body(frame), StandardCharsets.UTF_8));
                ctx.close();
                return;
            }
            switch (step) {
                case WAIT_TAKE -> take(ctx, type);
                case WAIT_SEND_FDS -> expect(ctx, type, Frames.SEND_FDS, () -> sendDescriptors(ctx));
                case WAIT_TAKEN -> expect(ctx, type, Frames.TAKEN, () -> taken(ctx));
                case WAIT_DONE -> expect(ctx, type, Frames.DONE, () -> {
                    step = Step.OVER;
                    log.info("hand-over: the new process listens in this one's place");
                    ctx.close();
                    giver.handedOver();
                });
                default -> refuse(ctx, "unexpected message '" + (char) type + "' while " + step);
            }
        }

        private void take(ChannelHandlerContext ctx, byte type) {
            if (type != Frames.TAKE) {
                refuse(ctx, "expected a take-over request");
                return;
            }
            try {
                int peer = ((EpollDomainSocketChannel) ctx.channel()).peerCredentials().uid();
                if (peer != uid && peer != 0) {
                    refuse(ctx, "a process of uid " + peer + " may not take over the sockets of uid " + uid);
                    return;
                }
            } catch (IOException e) {
                refuse(ctx, "cannot tell who is asking: " + e.getMessage());
                return;
            }
            if (!busy.compareAndSet(false, true)) {
                refuse(ctx, "another hand-over is under way");
                return;
            }
            mine = true;
            step = Step.STOPPING;
            log.info("hand-over: a new process takes the sockets over; stopping them");
            giver.stop().whenComplete((list, error) -> ctx.executor().execute(() -> {
                step = Step.WAIT_SEND_FDS;
                if (error != null) {
                    log.warn("hand-over: stopping the sockets failed", error);
                    sockets = List.of();
                    refuse(ctx, "stopping the sockets failed: " + error);
                    return;
                }
                sockets = list;
                if (!ctx.channel().isActive()) {
                    channelInactive(ctx);
                    return;
                }
                long began = System.nanoTime();
                byte[] state = HandOverCodec.encode(list);
                log.info("hand-over: the state of {} socket(s) is {} bytes (encoded in {} ms)", list.size(),
                        state.length, (System.nanoTime() - began) / 1_000_000);
                Frames.send(ctx.channel(), Frames.STATE, state);
            }));
        }

        private void sendDescriptors(ChannelHandlerContext ctx) {
            step = Step.WAIT_TAKEN;
            for (HandedSocket h : sockets) {
                ctx.write(new FileDescriptor(h.socket().fd()));
            }
            ctx.flush();
            log.info("hand-over: {} socket(s) sent", sockets.size());
        }

        private void taken(ChannelHandlerContext ctx) {
            step = Step.WAIT_DONE;
            giver.taken(sockets);
            giver.releaseAddresses().whenComplete((v, error) -> {
                if (error != null) {
                    log.warn("hand-over: releasing the listen addresses failed", error);
                }
                Frames.send(ctx.channel(), Frames.RELEASED);
            });
        }

        private void expect(ChannelHandlerContext ctx, byte type, byte expected, Runnable then) {
            if (type != expected) {
                refuse(ctx, "expected '" + (char) expected + "', got '" + (char) type + "'");
                return;
            }
            then.run();
        }

        private void refuse(ChannelHandlerContext ctx, String why) {
            log.warn("hand-over refused: {}", why);
            Frames.error(ctx.channel(), why).addListener(f -> ctx.close());
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (!mine || step == Step.OVER || step == Step.STOPPING) {
                return; // STOPPING: the stop's completion sees the channel closed and comes back here
            }
            Step was = step;
            step = Step.OVER;
            if (was == Step.WAIT_DONE) {
                log.warn("hand-over: the new process went away after taking the sockets; this one exits");
                giver.handedOver();
                return;
            }
            if (sockets != null) {
                log.warn("hand-over: the new process went away before taking the sockets; they go on here");
                giver.resume(sockets);
            }
            busy.set(false);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            log.warn("hand-over connection failed: {}", cause.toString());
            ctx.close();
        }
    }
}
