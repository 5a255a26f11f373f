package dev.dgramd.client.internal;

import dev.dgramd.client.ClientOptions;
import dev.dgramd.client.DgramException;
import dev.dgramd.proto.v1.CreateSocketRequest;
import dev.dgramd.proto.v1.DgramGrpc;
import io.grpc.ManagedChannel;
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
    /** Bounds what has no gRPC deadline (a socket's creation); cancelled entries leave at once. */
    private final ScheduledThreadPoolExecutor timer;
    private final SendPipeline pipeline;
    private final long callTimeoutMillis;
    private final int eventBatchesInFlight;

    /**
     * Connects (lazily, as gRPC does) to the options' target, with their TLS and token.
     *
     * @throws IllegalArgumentException see {@link Channels#builder}
     */
    public ClientCore(ClientOptions options) {
        this.target = options.target();
        this.callTimeoutMillis = options.callTimeout().toMillis();
        this.eventBatchesInFlight = options.eventBatchesInFlight();
        // Direct executor: stream callbacks run on the transport thread and only hand work to the
        // sockets' listener executors (nothing here blocks), saving a thread hop per batch.
        this.channel = Channels.builder(options).directExecutor().build();
        this.stub = DgramGrpc.newStub(channel);
        // a cached pool of daemon threads: a listener that blocks holds one thread, not the others
        ThreadPoolExecutor pool = new ThreadPoolExecutor(0, Integer.MAX_VALUE, 30, TimeUnit.SECONDS,
                new java.util.concurrent.SynchronousQueue<>(), r -> {
                    Thread t = new Thread(r, "dgramd-listener-" + THREADS.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        this.listenerPool = pool;
        this.timer = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "dgramd-timer-" + THREADS.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        timer.setRemoveOnCancelPolicy(true);
        timer.setKeepAliveTime(30, TimeUnit.SECONDS);
        timer.allowCoreThreadTimeOut(true);
        this.pipeline = new SendPipeline(stub, options.maxPendingSendBytes(),
                options.maxPendingSendDatagrams());
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

    ExecutorService listenerPool() {
        return listenerPool;
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
        // the pool is not shut down: the streams just cancelled still dispatch their 'close' on it;
        // its idle (daemon) threads end by themselves after 30 s
    }
}
