package dev.dgramd.bench.jmh;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import dev.dgramd.client.RemoteInfo;
import dev.dgramd.client.internal.EventBatch;
import dev.dgramd.client.internal.EventsDecoder;
import dev.dgramd.proto.v1.EventsResponse;
import dev.dgramd.proto.v1.Message;
import dev.dgramd.proto.v1.SocketEvent;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * The inbound hot path's CPU work, one batch of {@value #EVENTS} 'message' events of
 * {@value #SIZE} bytes at a time, each figure per datagram: the daemon building an EventsResponse
 * with protobuf's builders, as EventStream did before the daemon wrote its batches by hand (one
 * RemoteInfo per sender, port and size, its strings as bytes; builders reused), and serializing
 * it as gRPC's protobuf marshaller does ({@code writeTo} an OutputStream), and the client reading
 * it with the client's EventsDecoder and dispatching each 'message' (on this thread: the hop to the
 * socket's listener thread is left out). Each has a baseline that moves the same payload bytes
 * without protobuf, and {@code clientGeneratedParseAndDispatch} reads it with the generated
 * parser instead, as the client did before its decoder. Loopback, sockets, HTTP/2 and threads are
 * not in it: HotPathGuardTest and the bench's inbound scenario cover the whole path.
 *
 * <p>Public, as JMH requires. Run with {@code java -jar bench/target/dgramd-bench.jar --jmh}
 * (any JMH option after it; {@code -prof gc} adds bytes allocated per datagram).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class EventBatchBench {
    static final int EVENTS = 64;
    static final int SIZE = 64;
    private static final String SENDER = "127.0.0.1";
    private static final String FAMILY = "IPv4";
    private static final int PORT = 40_000;

    /** The datagrams as the daemon's UDP socket hands them over: one array each. */
    private byte[][] datagrams;
    /** The baselines' one buffer. */
    private byte[] flat;
    /** An EventsResponse as the daemon sends it, serialized. */
    private byte[] serialized;
    private Sink sink;
    private Builder builder;
    private EventsDecoder decoder;

    @Setup
    public void setUp() {
        Random random = new Random(42);
        datagrams = new byte[EVENTS][SIZE];
        for (byte[] d : datagrams) {
            random.nextBytes(d);
        }
        flat = new byte[EVENTS * SIZE];
        builder = new Builder();
        serialized = builder.build(datagrams).toByteArray();
        sink = new Sink(serialized.length * 2);
        decoder = new EventsDecoder();
    }

    /** The daemon's baseline: the payloads copied into one buffer. */
    @Benchmark
    @OperationsPerInvocation(EVENTS)
    public byte[] daemonRawCopy() {
        for (int i = 0; i < EVENTS; i++) {
            System.arraycopy(datagrams[i], 0, flat, i * SIZE, SIZE);
        }
        return flat;
    }

    /** The daemon: one EventsResponse built and serialized. */
    @Benchmark
    @OperationsPerInvocation(EVENTS)
    public int daemonBuildAndSerialize() throws IOException {
        sink.reset();
        builder.build(datagrams).writeTo(sink); // what the gRPC marshaller's drainTo does
        return sink.size();
    }

    /** The client's baseline: the payloads copied out of one buffer, an array each, to a listener. */
    @Benchmark
    @OperationsPerInvocation(EVENTS)
    public void clientRawSplit(Blackhole listener) {
        for (int i = 0; i < EVENTS; i++) {
            listener.consume(Arrays.copyOfRange(flat, i * SIZE, (i + 1) * SIZE));
        }
    }

    /** The client: one EventsResponse read as the client's EventStream reads it, each 'message' passed to a listener. */
    @Benchmark
    @OperationsPerInvocation(EVENTS)
    public void clientParseAndDispatch(Blackhole listener) throws IOException {
        EventBatch batch = decoder.decode(serialized, 0, serialized.length);
        for (int i = 0; i < batch.count(); i++) {
            listener.consume(batch.data(i));
            listener.consume(batch.rinfo(i));
        }
    }

    /** The same with protobuf's generated parser, each 'message' made a listener call, the calls run. */
    @Benchmark
    @OperationsPerInvocation(EVENTS)
    public void clientGeneratedParseAndDispatch(Blackhole listener) throws IOException {
        EventsResponse batch = EventsResponse.parseFrom(serialized);
        List<Runnable> run = new ArrayList<>(batch.getEventsCount());
        for (SocketEvent ev : batch.getEventsList()) {
            if (ev.getEventCase() == SocketEvent.EventCase.MESSAGE) {
                Message m = ev.getMessage();
                var r = m.getRinfo();
                byte[] data = m.getData().toByteArray();
                RemoteInfo rinfo = new RemoteInfo(r.getAddress(), r.getFamily(), r.getPort(),
                        r.getSize() == 0 ? data.length : r.getSize());
                run.add(() -> {
                    listener.consume(data);
                    listener.consume(rinfo);
                });
            }
        }
        for (Runnable r : run) {
            r.run();
        }
    }

    /** Builds EventBatches of 'message' events from one sender the way EventStream does. */
    static final class Builder {
        private final SocketEvent.Builder event = SocketEvent.newBuilder();
        private final Message.Builder message = Message.newBuilder();
        private dev.dgramd.proto.v1.RemoteInfo rinfo;

        EventsResponse build(byte[][] datagrams) {
            EventsResponse.Builder batch = EventsResponse.newBuilder().setDroppedMessages(0).setDroppedErrors(0);
            for (byte[] d : datagrams) {
                if (rinfo == null || rinfo.getSize() != d.length) {
                    rinfo = dev.dgramd.proto.v1.RemoteInfo.newBuilder()
                            .setAddressBytes(ByteString.copyFromUtf8(SENDER))
                            .setFamilyBytes(ByteString.copyFromUtf8(FAMILY))
                            .setPort(PORT)
                            .setSize(d.length)
                            .build();
                }
                batch.addEvents(event.clear().setMessage(message.clear()
                        .setData(UnsafeByteOperations.unsafeWrap(d))
                        .setRinfo(rinfo)).build());
            }
            return batch.build();
        }
    }

    /** A reusable OutputStream into one array. */
    static final class Sink extends OutputStream {
        private final byte[] buf;
        private int size;

        Sink(int capacity) {
            buf = new byte[capacity];
        }

        void reset() {
            size = 0;
        }

        int size() {
            return size;
        }

        @Override
        public void write(int b) {
            buf[size++] = (byte) b;
        }

        @Override
        public void write(byte[] b, int off, int len) {
            System.arraycopy(b, off, buf, size, len);
            size += len;
        }
    }
}
