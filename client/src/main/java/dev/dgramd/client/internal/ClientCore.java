package dev.dgramd.client.internal;

import dev.dgramd.client.ClientOptions;
import dev.dgramd.proto.v1.CreateSocketRequest;
import dev.dgramd.proto.v1.DgramGrpc;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One connection to a daemon: the channel, the async stub, the shared listener pool (daemon
 * threads, so it never holds the JVM) and the send pipeline.
 */
public final class ClientCore {
    private static final Logger log = LoggerFactory.getLogger(ClientCore.class);
    private static final AtomicInteger THREADS = new AtomicInteger();

    private final String target;
    private final ManagedChannel channel;
    private final DgramGrpc.DgramStub stub;
    private final ExecutorService listenerPool;
    /** With {@link ClientOptions#listenersOnEventLoop}: the channel's own one-thread group; else null. */
    private final EventLoopGroup loopGroup;
    /** The thread that reads the daemon's answers when {@link #loopGroup} is set; else null. */
    private final EventLoop loop;
    /** Where each socket's {@link SerialExecutor} runs its tasks. */
    private final Executor listenerExecutor;
    /** Bounds what has no gRPC deadline (a socket's creation); cancelled entries leave at once. */
    private final ScheduledThreadPoolExecutor timer;
    private final SendPipeline pipeline;
    private final long callTimeoutMillis;
    private final int eventBatchesInFlight;
    private final SessionStream session;
    private final long restartTimeoutMillis;
    /** Streams waiting for a restarting daemon to come back; the reconnect pacer runs while > 0. */
    private final AtomicInteger restarting = new AtomicInteger();
    private ScheduledFuture<?> pacer; // guarded by restarting

    /**
     * Connects (lazily, as gRPC does) to the options' target, with their TLS and token.
     *
     * @throws IllegalArgumentException see {@link Channels#builder}
     */
    public ClientCore(ClientOptions options) {
        this.target = options.target();
        this.callTimeoutMillis = options.callTimeout().toMillis();
        this.eventBatchesInFlight = options.eventBatchesInFlight();
        this.restartTimeoutMillis = options.restartTimeout().toMillis();
        // Direct executor: stream callbacks run on the transport thread and only hand work to the
        // sockets' listener executors (nothing here blocks), saving a thread hop per batch.
        NettyChannelBuilder builder = Channels.builder(options).directExecutor();
        if (options.listenersOnEventLoop()) {
            // a group of the channel's own, so that its one thread is known: the listeners run there
            boolean epoll = Epoll.isAvailable();
            this.loopGroup = new MultiThreadIoEventLoopGroup(1,
                    new DefaultThreadFactory("dgramd-client-loop", true), // a daemon thread: it never holds the JVM
                    epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
            this.loop = loopGroup.next();
            builder.eventLoopGroup(loopGroup);
            if (!Channels.isUnix(options.target())) { // a unix target has its epoll channel type already
                builder.channelType(epoll ? EpollSocketChannel.class : NioSocketChannel.class);
            }
        } else {
            this.loopGroup = null;
            this.loop = null;
        }
        this.channel = builder.build();
        this.stub = DgramGrpc.newStub(channel);
        // a cached pool of daemon threads: a listener that blocks holds one thread, not the others
        ThreadPoolExecutor pool = new ThreadPoolExecutor(0, Integer.MAX_VALUE, 30, TimeUnit.SECONDS,
                new java.util.concurrent.SynchronousQueue<>(), r -> {
                    Thread t = new Thread(r, "dgramd-listener-" + THREADS.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        this.listenerPool = pool;
        this.listenerExecutor = loop == null ? pool : this::onLoop;
        this.timer = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "dgramd-timer-" + THREADS.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        timer.setRemoveOnCancelPolicy(true);
        timer.setKeepAliveTime(30, TimeUnit.SECONDS);
        timer.allowCoreThreadTimeOut(true);
        this.pipeline = new SendPipeline(this, stub, options.maxPendingSendBytes(),
                options.maxPendingSendDatagrams());
        this.session = new SessionStream(this);
    }

    /** The Session call that carries the sockets' event streams, their creation and close. */
    SessionStream session() {
        return session;
    }

    /** The daemon's address. */
    public String target() {
        return target;
    }

    DgramGrpc.DgramStub stub() {
        return stub;
    }

    DgramGrpc.DgramStub stubWithDeadline() {
        return stub.withDeadlineAfter(callTimeoutMillis, TimeUnit.MILLISECONDS);
    }

    /** Runs {@code task} in {@code millis} unless the returned future is cancelled first. */
    ScheduledFuture<?> schedule(Runnable task, long millis) {
        return timer.schedule(task, millis, TimeUnit.MILLISECONDS);
    }

    long restartTimeoutMillis() {
        return restartTimeoutMillis;
    }

    /**
     * A stream ended because the daemon is restarting by hand-over, and waits for the new process
     * ({@link #restartDone} when it stops waiting): until every such stream is done, the channel
     * is asked every {@value #PACE_MILLIS} ms to reconnect at once instead of after gRPC's backoff
     * (a second or more), so the new process is found as soon as it listens.
     */
    void daemonRestarting() {
        synchronized (restarting) {
            if (restarting.getAndIncrement() == 0) {
                try {
                    pacer = timer.scheduleWithFixedDelay(this::pace, 0, PACE_MILLIS, TimeUnit.MILLISECONDS);
                } catch (RuntimeException e) { // the client is shutting down
                    log.debug("cannot pace reconnects", e);
                }
            }
        }
    }

    /** One stream of {@link #daemonRestarting} found the new process, or gave up. */
    void restartDone() {
        synchronized (restarting) {
            if (restarting.decrementAndGet() == 0 && pacer != null) {
                pacer.cancel(false);
                pacer = null;
            }
        }
    }

    private static final long PACE_MILLIS = 10;

    private void pace() {
        io.grpc.ConnectivityState state = channel.getState(true);
        if (state == io.grpc.ConnectivityState.TRANSIENT_FAILURE) {
            channel.resetConnectBackoff();
        }
    }

    /** Where each socket's {@link SerialExecutor} runs its tasks: the listener pool, or the event loop. */
    Executor listenerExecutor() {
        return listenerExecutor;
    }

    /**
     * Runs a socket's tasks on the event loop: at once when called there outside any listener
     * (the usual case: a batch just read), else queued on it (from another thread, or from a
     * listener: no task runs nested in another). After the loop shut down, on the listener pool,
     * so that the last 'close' events are still delivered.
     */
    private void onLoop(Runnable task) {
        if (loop.inEventLoop() && !SerialExecutor.inListenerThread()) {
            task.run();
            return;
        }
        try {
            loop.execute(task);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            listenerPool.execute(task);
        }
    }

    /**
     * True when the caller runs on the transport's event loop and listeners run there
     * ({@link ClientOptions#listenersOnEventLoop}): nothing may wait for the daemon's answer.
     */
    boolean onEventLoop() {
        return loop != null && loop.inEventLoop();
    }

    SendPipeline pipeline() {
        return pipeline;
    }

    long callTimeoutMillis() {
        return callTimeoutMillis;
    }

    int eventBatchesInFlight() {
        return eventBatchesInFlight;
    }

    /** True when the caller runs on any socket's listener thread. */
    public static boolean onListenerThread() {
        return SerialExecutor.inListenerThread();
    }

    /**
     * A socket of this client, {@code events} its listener. Nothing reaches the daemon yet: its
     * first operation creates it there ({@link RemoteSocket#start}).
     */
    public RemoteSocket newSocket(CreateSocketRequest request, RemoteSocket.Events events) {
        return new RemoteSocket(this, request, events);
    }

    /**
     * Ends the send stream and shuts the channel down (waiting at most {@code waitMillis}, then
     * forcibly).
     */
    public void shutdown(long waitMillis) {
        session.shutdown();
        pipeline.close();
        channel.shutdown();
        boolean onListener = onListenerThread();
        try {
            if (!onListener && !channel.awaitTermination(waitMillis, TimeUnit.MILLISECONDS)) {
                log.debug("channel to {} did not terminate in {} ms; forcing", target, waitMillis);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        channel.shutdownNow();
        timer.shutdownNow();
        if (loopGroup != null) {
            // what the channel's end still dispatches goes to the listener pool once the loop is gone
            loopGroup.shutdownGracefully(0, waitMillis, TimeUnit.MILLISECONDS);
        }
        // the pool is not shut down: the streams just cancelled still dispatch their 'close' on it;
        // its idle (daemon) threads end by themselves after 30 s
    }
}
