package dev.dgramd.daemon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import com.google.protobuf.ByteString;
import com.google.rpc.ErrorInfo;
import dev.dgramd.daemon.policy.Policy;
import dev.dgramd.proto.v1.AddMembershipRequest;
import dev.dgramd.proto.v1.AddSourceSpecificMembershipRequest;
import dev.dgramd.proto.v1.AddressRequest;
import dev.dgramd.proto.v1.BindRequest;
import dev.dgramd.proto.v1.CloseRequest;
import dev.dgramd.proto.v1.ConnectRequest;
import dev.dgramd.proto.v1.CreateSocketRequest;
import dev.dgramd.proto.v1.DgramGrpc;
import dev.dgramd.proto.v1.DisconnectRequest;
import dev.dgramd.proto.v1.DropMembershipRequest;
import dev.dgramd.proto.v1.DropSourceSpecificMembershipRequest;
import dev.dgramd.proto.v1.GetRecvBufferSizeRequest;
import dev.dgramd.proto.v1.GetSendBufferSizeRequest;
import dev.dgramd.proto.v1.GetSendQueueCountRequest;
import dev.dgramd.proto.v1.GetSendQueueSizeRequest;
import dev.dgramd.proto.v1.OutboundDatagram;
import dev.dgramd.proto.v1.RemoteAddressRequest;
import dev.dgramd.proto.v1.SendRequest;
import dev.dgramd.proto.v1.SendResult;
import dev.dgramd.proto.v1.SendStreamRequest;
import dev.dgramd.proto.v1.SendStreamResponse;
import dev.dgramd.proto.v1.SetBroadcastRequest;
import dev.dgramd.proto.v1.SetMulticastInterfaceRequest;
import dev.dgramd.proto.v1.SetMulticastLoopbackRequest;
import dev.dgramd.proto.v1.SetMulticastTtlRequest;
import dev.dgramd.proto.v1.SetRecvBufferSizeRequest;
import dev.dgramd.proto.v1.SetSendBufferSizeRequest;
import dev.dgramd.proto.v1.SetTtlRequest;
import dev.dgramd.proto.v1.SocketEvent;
import dev.dgramd.proto.v1.SocketEvent.EventCase;
import dev.dgramd.proto.v1.SocketType;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.protobuf.StatusProto;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.StreamObserver;
import io.netty.util.NetUtil;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.HashSet;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.EdgeCasesMode;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.ShrinkingMode;
import net.jqwik.api.Tuple;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.AfterProperty;
import net.jqwik.api.lifecycle.BeforeContainer;
import net.jqwik.api.lifecycle.BeforeProperty;

/**
 * Hostile and faulty input, property-based (jqwik), over every request type of {@code dgramd.v1.Dgram}:
 * each unary RPC, SendStream batches and Events streams, with random socket ids (live ones from a pool,
 * closed ones, mangled ones, garbage, unicode, huge, missing), ports (the whole int range), addresses
 * (loopback literals, malformed text, unicode, names under {@code .invalid}, empty), payload sizes
 * (0..70000), missing fields and huge batches.
 *
 * <p>Property: every call answers within {@value #DEADLINE_SECONDS} s, either OK or with a status
 * whose details hold a {@code google.rpc.ErrorInfo} of domain "dgramd" and a non-empty reason (and,
 * for the reasons the contract names, the status code it names); never UNKNOWN, never a bare
 * INTERNAL, never a hang. After every try the daemon still serves (a socket is created and closed).
 * After every property, every socket the property made is closed, and the daemon's open socket count
 * is back to its value before the property, and the process's open file descriptors (the daemon is
 * in-process) are back within {@value #FD_SLACK} of theirs: no socket or descriptor leaks.
 *
 * <p>Safety: no datagram may leave the machine. Destinations are only loopback literals (127.0.0.0/8,
 * ::1, ::ffff:127.x), the empty address (loopback by contract), {@code localhost} and numeric forms of
 * 127.0.0.1, host names under {@code .invalid} (RFC 6761: never resolvable), or text that is neither
 * an IP literal nor a host name (so the daemon cannot resolve it). Never multicast or broadcast
 * destinations; multicast groups are joined only on interface 127.0.0.1 (udp4) or lo (udp6), or
 * with an interface the daemon must reject. {@link #assertSafe} checks every address before a call,
 * independently of the generators, and stops the test if one is not.
 *
 * <p>The daemon runs docker/hardened-policy.yaml, so policy refusals (EACCES for ports below 1024
 * and multicast groups) are part of what is exercised beside the kernel's.
 */
class FuzzTest {
    /**
     * How long any call may take. Generous: a name under .invalid goes to the system resolver, which may
     * lose a query and retry after its 5 s timeout (seen here for about 3% of lookups), and the sends
     * after a lookup on the same socket wait for it.
     */
    static final long DEADLINE_SECONDS = 30;
    static final int FD_SLACK = 16;
    /**
     * Bound of the bytes (payloads and addresses) of one SendStream try, well under the daemon's
     * largest message (8 MiB by default), which gRPC itself refuses without ErrorInfo.
     */
    static final long MAX_STREAM_BYTES = 4L << 20;

    private static Dgramd daemon;
    private static ManagedChannel channel;
    private static DgramGrpc.DgramBlockingStub blocking;
    private static DgramGrpc.DgramStub async;

    // ---------------------------------------------------------------- lifecycle

    @BeforeContainer
    static void startDaemon() throws Exception {
        daemon = Dgramd.start(new DgramdOptions().listen("127.0.0.1:0")
                .policy(Policy.load(java.nio.file.Path.of("..", "docker", "hardened-policy.yaml"))));
        channel = NettyChannelBuilder.forTarget(daemon.target()).usePlaintext().build();
        blocking = DgramGrpc.newBlockingStub(channel);
        async = DgramGrpc.newStub(channel);
        warmUp();
    }

    @AfterContainer
    static void stopDaemon() throws Exception {
        if (channel != null) {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        if (daemon != null) {
            daemon.close();
        }
    }

    /**
     * One pass over the code paths the properties take (bind, send, a lookup, an error, both streams),
     * so the descriptors the JVM opens once (jar files, the resolver's) are open before the baseline.
     */
    private static void warmUp() throws Exception {
        String a = stub().createSocket(CreateSocketRequest.newBuilder().setType(SocketType.SOCKET_TYPE_UDP4).build()).getSocketId();
        EventRecorder events = EventRecorder.subscribe(async, a);
        stub().bind(BindRequest.newBuilder().setSocketId(a).setAddress("127.0.0.1").build());
        events.next(EventCase.LISTENING);
        stub().send(SendRequest.newBuilder().setSocketId(a).setPort(9).setAddress("127.0.0.1").build());
        try {
            stub().send(SendRequest.newBuilder().setSocketId(a).setPort(9).setAddress("warm-up.invalid").build());
        } catch (StatusRuntimeException expected) {
            errorInfo(expected);
        }
        runSendStream(List.of(SendStreamRequest.newBuilder().setSocketId(a).addDatagrams(OutboundDatagram.newBuilder()
                .setId(1).setPort(9).setAddress("::1")).build()), false);
        stub().close(CloseRequest.newBuilder().setSocketId(a).build());
        events.done().get(DEADLINE_SECONDS, TimeUnit.SECONDS);
        String six = stub().createSocket(CreateSocketRequest.newBuilder().setType(SocketType.SOCKET_TYPE_UDP6).build()).getSocketId();
        stub().bind(BindRequest.newBuilder().setSocketId(six).setAddress("::1").build());
        stub().close(CloseRequest.newBuilder().setSocketId(six).build());
    }

    /** The kinds of the pool's live sockets; a slot closed by a try is refilled with its kind. */
    private enum Kind {
        UDP4_UNBOUND, UDP4_LOOPBACK, UDP4_ANY, UDP4_CONNECTED, UDP6_UNBOUND, UDP6_LOOPBACK, UDP6_ANY, UDP4_WITH_READER
    }

    private static final int SLOTS = Kind.values().length;

    private final String[] slots = new String[SLOTS];
    private final int[] slotPorts = new int[SLOTS];
    private final EventRecorder[] slotReaders = new EventRecorder[SLOTS];
    private final List<String> closedIds = new ArrayList<>();
    /** Sockets made for the current try only ({@link Fresh}); closed at its end. */
    private final List<String> fresh = new ArrayList<>();
    private final List<String> everCreated = new ArrayList<>();
    private final List<EventRecorder> recorders = new ArrayList<>();
    private final Map<String, Integer> outcomes = new TreeMap<>();
    /**
     * Set once the property is over. jqwik may go on shrinking a failed property in the background after
     * its shrinking timeout (when a call hangs, say); such late tries must not make sockets.
     */
    private volatile boolean over;
    private int baselineSockets;
    private long baselineFds;

    @BeforeProperty
    void fillPool() {
        baselineSockets = daemon.openSockets();
        baselineFds = openFds();
        for (int i = 0; i < SLOTS; i++) {
            refill(i);
        }
    }

    /** Closes everything the property made, then checks nothing leaked. */
    @AfterProperty
    void closeAllAndCheckForLeaks() throws Exception {
        over = true;
        for (int i = 0; i < SLOTS; i++) {
            if (slots[i] != null) {
                stub().close(CloseRequest.newBuilder().setSocketId(slots[i]).build()); // a failed try may have closed it already: OK either way
                slots[i] = null;
            }
        }
        for (String id : fresh) {
            stub().close(CloseRequest.newBuilder().setSocketId(id).build()); // left by a failed try
        }
        for (EventRecorder r : recorders) {
            r.close();
        }
        System.out.println("FuzzTest outcomes (rpc outcome: count): " + outcomes);
        assertThat(daemon.openSockets()).as("open sockets after closing all %d the property made", everCreated.size())
                .isEqualTo(baselineSockets);
        long fds = openFds();
        assertThat(fds).as("open file descriptors (before the property: %d)", baselineFds)
                .isLessThanOrEqualTo(baselineFds + FD_SLACK);
    }

    // ---------------------------------------------------------------- properties

    // No edge-case mix-in: jqwik's edge cases of the first RPCs would take most tries; the generators
    // hold the edge values (ports 0, -1, 65536, MIN/MAX, sizes 65507/65508, ...) themselves.
    @Property(tries = 1000, shrinking = ShrinkingMode.BOUNDED, edgeCases = EdgeCasesMode.NONE)
    void everyUnaryCallAnswersWellFormedAndTheDaemonKeepsServing(@ForAll("unaryCalls") Unary call) throws Exception {
        beforeTry();
        String id = call.socket().resolve(this);
        Throwable failure = null;
        Object answer = null;
        try {
            answer = invoke(call, id);
        } catch (StatusRuntimeException e) {
            failure = e;
        }
        tally(call.rpc().name(), failure);
        assertWellFormed(call.rpc() + " on " + call.socket(), failure);
        if (failure == null && call.rpc() == Rpc.CLOSE) {
            boolean alreadyClosed = ((dev.dgramd.proto.v1.CloseResponse) answer).getAlreadyClosed();
            int slot = slotOf(id);
            if (slot >= 0) {
                assertThat(alreadyClosed).as("closing live pool socket %s", call.socket()).isFalse();
                slotClosed(slot);
            }
        }
        healthCheck();
    }

    @Property(tries = 150, shrinking = ShrinkingMode.BOUNDED, edgeCases = EdgeCasesMode.NONE)
    void everySendStreamDatagramIsAnsweredAndTheStreamEnds(@ForAll("sendStreams") StreamCase c) throws Exception {
        beforeTry();
        List<SendStreamRequest> batches = new ArrayList<>();
        Map<Long, Integer> sizes = new HashMap<>();
        Map<Long, String> socketOf = new HashMap<>();
        long next = c.firstId();
        for (BatchSpec spec : c.batches()) {
            String id = spec.socket().resolve(this);
            SendStreamRequest.Builder b = SendStreamRequest.newBuilder().setSocketId(id);
            for (DgramSpec d : spec.expand()) {
                String address = d.address();
                assertSafe(address);
                long datagramId = next++;
                b.addDatagrams(OutboundDatagram.newBuilder().setId(datagramId).setData(payload(d.size()))
                        .setPort(d.port().resolve(this)).setAddress(address).setEmitError(d.emitError()));
                sizes.put(datagramId, d.size());
                socketOf.put(datagramId, id);
            }
            batches.add(b.build());
        }
        StreamOutcome outcome = runSendStream(batches, c.cancel());
        if (c.cancel()) {
            tally("SendStream(cancelled)", (Throwable) null);
        } else {
            tally("SendStream", outcome.failure);
            if (outcome.failure != null) {
                fail("SendStream with %d batches failed (%s); unanswered: %s", batches.size(), outcome.failure,
                        unanswered(outcome, batches));
            }
            Map<Long, Integer> answered = new HashMap<>();
            for (SendStreamResponse rb : outcome.results) {
                for (SendResult r : rb.getResultsList()) {
                    answered.merge(r.getId(), 1, Integer::sum);
                    assertThat(sizes).as("result for an id that was sent").containsKey(r.getId());
                    assertThat(rb.getSocketId()).as("socket id of the result of %d", r.getId())
                            .isEqualTo(socketOf.get(r.getId()));
                    if (r.hasError()) {
                        assertThat(r.getError().getCode()).as("error code of %s", r).isNotBlank();
                        tally("SendStream datagram", r.getError().getCode());
                    } else {
                        assertThat(r.getBytes()).as("bytes sent for %d", r.getId()).isEqualTo(sizes.get(r.getId()));
                        tally("SendStream datagram", "OK");
                    }
                }
            }
            assertThat(answered.keySet()).as("every datagram answered").isEqualTo(sizes.keySet());
            assertThat(answered.values()).as("every datagram answered once").allMatch(n -> n == 1);
        }
        healthCheck();
    }

    @Property(tries = 150, shrinking = ShrinkingMode.BOUNDED, edgeCases = EdgeCasesMode.NONE)
    void everyEventsStreamAttachesOrFailsWellFormedAndEndsOnClose(@ForAll("eventsCases") EventsCase c)
            throws Exception {
        beforeTry();
        String id = c.socket().resolve(this);
        int slot = slotOf(id);
        EventRecorder first = subscribe(id);
        EventRecorder second = c.second() ? subscribe(id) : null;
        if (!isLive(id)) {
            // Unknown, closed or mangled id: refused at once, with the contract's reason.
            for (EventRecorder r : nonNull(first, second)) {
                Throwable t = failureOf(r);
                tally("Events(not live)", t);
                assertThat(t).as("Events on %s must fail", c.socket()).isNotNull();
                assertWellFormed("Events on " + c.socket(), t);
                assertThat(errorInfo(t).getReason()).isEqualTo("ERR_SOCKET_DGRAM_NOT_RUNNING");
            }
            healthCheck();
            return;
        }
        EventRecorder attachedBefore = slot >= 0 ? slotReaders[slot] : null;
        switch (c.action()) {
            case CLOSE_SOCKET -> {
                assertThat(stub().close(CloseRequest.newBuilder().setSocketId(id).build()).getAlreadyClosed()).isFalse();
                List<EventRecorder> all = nonNull(first, second, attachedBefore);
                int gotClose = 0;
                for (EventRecorder r : all) {
                    Throwable t = failureOf(r);
                    tally("Events(closed)", t);
                    if (t == null) {
                        SocketEvent last = lastEvent(r);
                        assertThat(last).as("a stream that ends OK ends with 'close'").isNotNull();
                        assertThat(last.getEventCase()).isEqualTo(EventCase.CLOSE);
                        gotClose++;
                    } else {
                        // Refused: another stream is attached, or (when its attach ran after the close, which
                        // the daemon may run first) the socket is closed.
                        assertWellFormed("Events on " + c.socket(), t);
                        assertThat(errorInfo(t).getReason()).isIn("ERR_EVENTS_ALREADY_ATTACHED",
                                "ERR_SOCKET_DGRAM_NOT_RUNNING");
                    }
                }
                assertThat(gotClose).as("exactly one Events stream of %s gets 'close'", c.socket()).isEqualTo(1);
                slotClosed(slot);
            }
            case CANCEL -> {
                if (second != null || attachedBefore != null) {
                    // Two streams on one socket: the later one is refused.
                    EventRecorder refused = second != null ? second : first;
                    Throwable t = failureOf(refused);
                    tally("Events(second)", t);
                    assertThat(t).as("a second Events stream on %s is refused", c.socket()).isNotNull();
                    assertWellFormed("second Events on " + c.socket(), t);
                    assertThat(errorInfo(t).getReason()).isEqualTo("ERR_EVENTS_ALREADY_ATTACHED");
                }
                first.close();
                if (second != null) {
                    second.close();
                }
            }
            case CANCEL_THEN_REATTACH -> {
                first.close();
                if (second != null) {
                    second.close();
                }
                if (attachedBefore == null) {
                    // The cancel reaches the daemon before the new call (one connection, in order).
                    EventRecorder again = subscribe(id);
                    assertThat(stub().close(CloseRequest.newBuilder().setSocketId(id).build()).getAlreadyClosed()).isFalse();
                    Throwable t = failureOf(again);
                    tally("Events(reattached)", t);
                    assertThat(t).as("the Events stream attached after a cancel ends OK").isNull();
                    assertThat(lastEvent(again).getEventCase()).isEqualTo(EventCase.CLOSE);
                    slotClosed(slot);
                }
            }
        }
        healthCheck();
    }

    /**
     * Guards a daemon bug the unary property found (shrunk to a Send to a 2,108-character address):
     * an unresolvable address of a few thousand characters was echoed whole in the status message and
     * in ErrorInfo's "address" metadata, so the trailers outgrew gRPC's default 8 KiB header list and
     * the client got INTERNAL "Header size exceeded max allowed size" without ErrorInfo instead of
     * ENOTFOUND (fixed by "Daemon: cut echoed user text in error statuses ...").
     */
    @Example
    void aLongUnresolvableAddressIsAnsweredWithErrorInfo() {
        String longName = "h".repeat(3_000); // a plausible host name, but over 253 characters: never looked up
        String udp4 = slots[Kind.UDP4_LOOPBACK.ordinal()];
        List<Throwable> failures = new ArrayList<>();
        failures.add(failureOf(() -> stub().send(SendRequest.newBuilder().setSocketId(udp4).setPort(9)
                .setAddress(longName).build())));
        failures.add(failureOf(() -> stub().connect(ConnectRequest.newBuilder()
                .setSocketId(new Fresh(false).resolve(this)).setPort(9).setAddress(longName).build())));
        failures.add(failureOf(() -> stub().bind(BindRequest.newBuilder().setSocketId(new Fresh(false).resolve(this))
                .setAddress(longName).build())));
        for (Throwable t : failures) {
            assertWellFormed("a call with a 3,000-character address", t);
            assertThat(errorInfo(t).getReason()).isEqualTo("ENOTFOUND");
        }
        healthCheck();
    }

    private static Throwable failureOf(Runnable call) {
        try {
            call.run();
        } catch (StatusRuntimeException e) {
            return e;
        }
        throw new AssertionError("the call succeeded");
    }

    // ---------------------------------------------------------------- generators

    /** How a try names a socket; resolved against the pool when the try runs. */
    sealed interface SockRef permits Live, Fresh, Mangled, Closed, Garbage {
        String resolve(FuzzTest t);
    }

    /** A live socket of the pool. */
    record Live(int slot) implements SockRef {
        public String resolve(FuzzTest t) {
            return t.slots[slot];
        }

        @Override
        public String toString() {
            return "Live[" + Kind.values()[slot] + "]";
        }
    }

    /** A new, unbound socket, made for this try (the pool's unbound ones soon get bound). */
    record Fresh(boolean six) implements SockRef {
        public String resolve(FuzzTest t) {
            String id = t.create(six ? SocketType.SOCKET_TYPE_UDP6 : SocketType.SOCKET_TYPE_UDP4);
            t.fresh.add(id);
            return id;
        }
    }

    /** A live socket's id, altered: it must not name that socket. */
    record Mangled(int slot, int how) implements SockRef {
        public String resolve(FuzzTest t) {
            String id = t.slots[slot];
            return switch (how) {
                case 0 -> id.toUpperCase(Locale.ROOT);
                case 1 -> id + "0";
                case 2 -> id.substring(1);
                case 3 -> " " + id;
                case 4 -> id + "\u0000";
                default -> new StringBuilder(id).reverse().toString();
            };
        }
    }

    /** A socket this property closed. */
    record Closed() implements SockRef {
        public String resolve(FuzzTest t) {
            if (t.closedIds.isEmpty()) {
                String id = t.create(SocketType.SOCKET_TYPE_UDP4);
                assertThat(stub().close(CloseRequest.newBuilder().setSocketId(id).build()).getAlreadyClosed()).isFalse();
                t.closedIds.add(id);
            }
            return t.closedIds.get(t.closedIds.size() - 1);
        }
    }

    /** Any text. */
    record Garbage(String id) implements SockRef {
        public String resolve(FuzzTest t) {
            return id;
        }

        @Override
        public String toString() {
            return "Garbage[" + abbreviate(id) + "]";
        }
    }

    /** A destination port: a number, or the port a pool socket is bound to. */
    sealed interface PortRef permits PortNumber, PoolPort {
        int resolve(FuzzTest t);
    }

    record PortNumber(int port) implements PortRef {
        public int resolve(FuzzTest t) {
            return port;
        }
    }

    record PoolPort(int slot) implements PortRef {
        public int resolve(FuzzTest t) {
            return t.slotPorts[slot];
        }
    }

    enum Rpc {
        CREATE_SOCKET, BIND, CONNECT, DISCONNECT, SEND, CLOSE, ADDRESS, REMOTE_ADDRESS, SET_BROADCAST, SET_TTL,
        SET_MULTICAST_TTL, SET_MULTICAST_LOOPBACK, SET_MULTICAST_INTERFACE, ADD_MEMBERSHIP, DROP_MEMBERSHIP,
        ADD_SOURCE_SPECIFIC_MEMBERSHIP, DROP_SOURCE_SPECIFIC_MEMBERSHIP, GET_RECV_BUFFER_SIZE, SET_RECV_BUFFER_SIZE,
        GET_SEND_BUFFER_SIZE, SET_SEND_BUFFER_SIZE, GET_SEND_QUEUE_SIZE, GET_SEND_QUEUE_COUNT
    }

    /** The arguments of one RPC besides the socket id; which fields count depends on the RPC. */
    record Args(PortRef port, String address, String address2, String address3, long number, int type,
                boolean flag, boolean flag2, boolean flag3) {
        @Override
        public String toString() {
            return "Args[port=" + port + ", address=" + abbreviate(address) + ", address2=" + abbreviate(address2)
                    + ", address3=" + abbreviate(address3) + ", number=" + number + ", type=" + type + ", flags="
                    + flag + "/" + flag2 + "/" + flag3 + "]";
        }
    }

    record Unary(Rpc rpc, SockRef socket, Args args) {}

    record DgramSpec(int size, PortRef port, String address, boolean emitError) {
        @Override
        public String toString() {
            return "Dgram[size=" + size + ", port=" + port + ", address=" + abbreviate(address) + ", emitError="
                    + emitError + "]";
        }
    }

    /** A batch: a few varied datagrams, or many copies of one small one ("huge"). */
    record BatchSpec(SockRef socket, List<DgramSpec> datagrams, int copies) {
        List<DgramSpec> expand() {
            if (copies <= 1) {
                return datagrams;
            }
            return Collections.nCopies(copies, datagrams.get(0));
        }

        /** About the serialized size: payloads, addresses and a few bytes of fields per datagram. */
        long bytes() {
            long n = 0;
            for (DgramSpec d : expand()) {
                n += d.size() + d.address().length() * 3L + 32;
            }
            return n;
        }

        @Override
        public String toString() {
            return "Batch[" + socket + ", " + (copies > 1 ? copies + " x " + datagrams.get(0) : datagrams) + "]";
        }
    }

    record StreamCase(List<BatchSpec> batches, boolean cancel, long firstId) {}

    enum EventsAction { CLOSE_SOCKET, CANCEL, CANCEL_THEN_REATTACH }

    record EventsCase(SockRef socket, EventsAction action, boolean second) {}

    @Provide
    Arbitrary<Unary> unaryCalls() {
        return Arbitraries.of(Rpc.class).flatMap(rpc -> Combinators.combine(Arbitraries.just(rpc), sockets(), argsFor(rpc))
                .as(Unary::new));
    }

    @Provide
    Arbitrary<StreamCase> sendStreams() {
        Arbitrary<BatchSpec> normal = Combinators.combine(sockets(), datagrams().list().ofMaxSize(40))
                .as((s, d) -> new BatchSpec(s, d, 1));
        Arbitrary<DgramSpec> tiny = Combinators.combine(Arbitraries.integers().between(0, 64), ports(), destinations(),
                Arbitraries.of(true, false)).as(DgramSpec::new);
        Arbitrary<BatchSpec> huge = Combinators.combine(sockets(), tiny, Arbitraries.integers().between(500, 5_000))
                .as((s, d, n) -> new BatchSpec(s, List.of(d), n));
        Arbitrary<BatchSpec> batch = Arbitraries.frequencyOf(Tuple.of(85, normal), Tuple.of(15, huge));
        return Combinators.combine(batch.list().ofMinSize(1).ofMaxSize(6), Arbitraries.of(false, false, false, true),
                        Arbitraries.longs())
                .as(StreamCase::new)
                .filter(c -> c.batches().stream().mapToLong(BatchSpec::bytes).sum() <= MAX_STREAM_BYTES);
    }

    @Provide
    Arbitrary<EventsCase> eventsCases() {
        return Combinators.combine(sockets(), Arbitraries.of(EventsAction.class), Arbitraries.of(true, false))
                .as(EventsCase::new);
    }

    private static Arbitrary<SockRef> sockets() {
        Arbitrary<SockRef> live = Arbitraries.integers().between(0, SLOTS - 1).map(Live::new);
        Arbitrary<SockRef> mangled = Combinators.combine(Arbitraries.integers().between(0, SLOTS - 1),
                Arbitraries.integers().between(0, 5)).as(Mangled::new);
        Arbitrary<SockRef> closed = Arbitraries.just(new Closed());
        Arbitrary<SockRef> garbage = Arbitraries.frequencyOf(
                Tuple.of(3, Arbitraries.just("")),                                                   // missing
                Tuple.of(4, Arbitraries.strings().withChars("0123456789abcdef").ofLength(32)),     // id-shaped
                Tuple.of(5, unicodeStrings().ofMaxLength(40)),                          // unicode
                Tuple.of(2, Arbitraries.of("\u0000", "\n", "../../etc/passwd", "%s%n", "' OR 1=1 --", "\uD83D\uDE00",
                        "\uFFFF", "\u202E" + "abc", "null")),
                Tuple.of(2, Arbitraries.integers().between(1_000, 1_000_000).map("z"::repeat)))   // huge
                .map(Garbage::new);
        Arbitrary<SockRef> fresh = Arbitraries.of(true, false).map(Fresh::new);
        return Arbitraries.frequencyOf(Tuple.of(45, live), Tuple.of(15, fresh), Tuple.of(7, mangled),
                Tuple.of(8, closed), Tuple.of(25, garbage));
    }

    /** Any text without surrogates (protobuf would turn a lone one into '?'), controls included. */
    private static net.jqwik.api.arbitraries.StringArbitrary unicodeStrings() {
        return Arbitraries.strings().withCharRange('\u0000', '\uD7FF').withCharRange('\uE000', '\uFFFF');
    }

    private static Arbitrary<PortRef> ports() {
        Arbitrary<PortRef> numbers = Arbitraries.frequencyOf(
                Tuple.of(40, Arbitraries.integers().between(1, 65_535)),
                Tuple.of(15, Arbitraries.of(0, -1, 1, 65_535, 65_536, Integer.MIN_VALUE, Integer.MAX_VALUE)),
                Tuple.of(15, Arbitraries.integers())).map(PortNumber::new);
        Arbitrary<PortRef> pool = Arbitraries.integers().between(0, SLOTS - 1).map(PoolPort::new);
        return Arbitraries.frequencyOf(Tuple.of(75, numbers), Tuple.of(25, pool));
    }

    /** Destinations: loopback, unresolvable or malformed only (see the class comment). */
    static Arbitrary<String> destinations() {
        Arbitrary<String> loopback = Arbitraries.of("127.0.0.1", "::1", "", "localhost", "[::1]", "0:0:0:0:0:0:0:1",
                "::ffff:127.0.0.1", "::ffff:7f00:1", "127.1", "2130706433", "::1%lo");
        Arbitrary<String> loopbackRandom = Combinators.combine(Arbitraries.integers().between(0, 255),
                Arbitraries.integers().between(0, 255), Arbitraries.integers().between(1, 254))
                .as((a, b, c) -> "127." + a + "." + b + "." + c);
        Arbitrary<String> invalidNames = Arbitraries.of("nowhere.invalid", "dgramd-fuzz.invalid", "a.b.c.invalid",
                "x".repeat(63) + "." + "y".repeat(63) + "." + "z".repeat(63) + ".w.invalid");
        // Each holds a character no host name has, so the daemon looks none of them up (see isUnresolvableText).
        Arbitrary<String> malformed = Arbitraries.of("127.0.0.1:53", "[::1", "::1]", ":::", "1::2::3", "::1::",
                "127.0.0.1 ", " 127.0.0.1", "127.0.0.1/8", "[]", "::g", "[127.0.0.1]", "127.0.0.1\u0000",
                "localhost:80", "127.0.0.1#x", "-!", "..!", "\u0661\u0662\u0667.0.0.1!");
        Arbitrary<String> unicode = unicodeStrings().ofMaxLength(30).map(s -> s + "\u2603!")
                .filter(FuzzTest::isUnresolvableText);
        Arbitrary<String> huge = Arbitraries.integers().between(254, 100_000).map("h"::repeat);
        return Arbitraries.frequencyOf(Tuple.of(30, loopback), Tuple.of(15, loopbackRandom),
                Tuple.of(6, invalidNames), Tuple.of(20, malformed), Tuple.of(15, unicode), Tuple.of(4, huge));
    }

    private static Arbitrary<String> bindAddresses() {
        return Arbitraries.frequencyOf(Tuple.of(80, destinations()), Tuple.of(20, Arbitraries.of("0.0.0.0", "::")));
    }

    /** Multicast groups (joined only on the loopback interface), unicast addresses and malformed text. */
    private static Arbitrary<String> groups() {
        Arbitrary<Integer> octet = Arbitraries.integers().between(0, 255);
        Arbitrary<String> v4 = Combinators.combine(Arbitraries.of(239, 232, 224, 238), octet, octet, octet)
                .as((a, b, c, d) -> a + "." + b + "." + c + "." + d);
        Arbitrary<String> v6 = Combinators.combine(Arbitraries.of("ff0e::", "ff02::", "ff3e::8000:", "ff05::"),
                Arbitraries.integers().between(1, 0xffff)).as((prefix, n) -> prefix + Integer.toHexString(n));
        return Arbitraries.frequencyOf(Tuple.of(40, v4), Tuple.of(20, v6), Tuple.of(20, destinations()),
                Tuple.of(5, Arbitraries.of("224.0.0.0", "239.255.255.255", "ff00::", "ff02::1%lo")));
    }

    /** Interfaces for memberships and setMulticastInterface: the loopback one, or text the daemon must refuse. */
    private static Arbitrary<String> interfaces() {
        Arbitrary<String> bad = Arbitraries.of("zzz", "127.0.0.1.1", "::1", "lo", "[::1]", "1.2.3", "\u00e9\u00e9",
                "::%", "::%no-such-if", "::%lo%lo");
        Arbitrary<String> unicode = unicodeStrings().ofMaxLength(20).map(s -> s + "\u2603")
                .filter(s -> isUnresolvableText(s) && s.indexOf('%') < 0);
        return Arbitraries.frequencyOf(Tuple.of(60, Arbitraries.of("127.0.0.1", "::%lo")), Tuple.of(25, bad),
                Tuple.of(10, unicode), Tuple.of(5, Arbitraries.just("")));
    }

    private static Arbitrary<String> sources() {
        return Arbitraries.frequencyOf(Tuple.of(60, Arbitraries.of("127.0.0.1", "127.0.0.2", "::1", "")),
                Tuple.of(40, destinations()));
    }

    private static Arbitrary<Integer> payloadSizes() {
        return Arbitraries.frequencyOf(
                Tuple.of(60, Arbitraries.integers().between(0, 1_500)),
                Tuple.of(20, Arbitraries.integers().between(1_501, 65_507)),
                Tuple.of(10, Arbitraries.of(0, 65_507, 65_508, 65_527, 65_528, 70_000)),
                Tuple.of(10, Arbitraries.integers().between(65_508, 70_000)));
    }

    private static Arbitrary<DgramSpec> datagrams() {
        return Combinators.combine(payloadSizes(), ports(), destinations(), Arbitraries.of(true, false))
                .as(DgramSpec::new);
    }

    private static Arbitrary<Long> numbers() {
        return Arbitraries.frequencyOf(
                Tuple.of(30, Arbitraries.longs().between(-2, 300)),
                Tuple.of(20, Arbitraries.longs().between(0, 1 << 22)),
                Tuple.of(20, Arbitraries.of(0L, -1L, 1L, 255L, 256L, (long) Integer.MAX_VALUE, 1L << 31,
                        (long) Integer.MIN_VALUE, Long.MAX_VALUE, Long.MIN_VALUE)),
                Tuple.of(30, Arbitraries.longs()));
    }

    private static Arbitrary<Args> argsFor(Rpc rpc) {
        Arbitrary<Boolean> flag = Arbitraries.of(true, false);
        Arbitrary<String> none = Arbitraries.just("");
        Arbitrary<String> a1;
        Arbitrary<String> a2 = none;
        Arbitrary<String> a3 = none;
        switch (rpc) {
            case BIND -> a1 = bindAddresses();
            case CONNECT, SEND -> a1 = destinations();
            case SET_MULTICAST_INTERFACE -> a1 = interfaces();
            case ADD_MEMBERSHIP, DROP_MEMBERSHIP -> {
                a1 = groups();
                a2 = interfaces();
            }
            case ADD_SOURCE_SPECIFIC_MEMBERSHIP, DROP_SOURCE_SPECIFIC_MEMBERSHIP -> {
                a1 = groups();
                a2 = interfaces();
                a3 = sources();
            }
            default -> a1 = none;
        }
        Arbitrary<Long> number = rpc == Rpc.SEND ? payloadSizes().map(Integer::longValue) : numbers();
        // CreateSocket's type: mostly udp4/udp6, sometimes missing (0) or unknown.
        Arbitrary<Integer> type = Arbitraries.frequencyOf(Tuple.of(70, Arbitraries.of(1, 2)),
                Tuple.of(10, Arbitraries.just(0)), Tuple.of(20, Arbitraries.integers()));
        return Combinators.combine(ports(), a1, a2, a3, number, type, flag, Arbitraries.integers().between(0, 7))
                .as((p, x, y, z, n, t, f, bits) -> new Args(p, x, y, z, n, t, f, (bits & 1) != 0, (bits & 2) != 0))
                // An empty interface lets the kernel pick one (not loopback): only with a group it must refuse.
                .filter(a -> !isMembership(rpc) || !a.address2().isEmpty() || !isMulticastLiteral(a.address()));
    }

    private static boolean isMembership(Rpc rpc) {
        return rpc == Rpc.ADD_MEMBERSHIP || rpc == Rpc.DROP_MEMBERSHIP || rpc == Rpc.ADD_SOURCE_SPECIFIC_MEMBERSHIP
                || rpc == Rpc.DROP_SOURCE_SPECIFIC_MEMBERSHIP;
    }

    // ---------------------------------------------------------------- running calls

    private Object invoke(Unary call, String id) {
        Args a = call.args();
        DgramGrpc.DgramBlockingStub s = stub();
        switch (call.rpc()) {
            case CREATE_SOCKET -> {
                // Buffer sizes: uint32, so a negative int is a size over 2^31-1.
                int recv = a.flag() ? (int) (a.number() >>> 8) : 0;
                int send = a.flag2() ? (int) (a.number() >>> 16) : 0;
                String created = s.createSocket(CreateSocketRequest.newBuilder().setTypeValue(a.type())
                        .setReuseAddr(a.flag()).setReusePort(a.flag2()).setIpv6Only(a.flag3())
                        .setRecvBufferSize(recv).setSendBufferSize(send).build()).getSocketId();
                everCreated.add(created);
                assertThat(created).isNotBlank();
                // Leave nothing behind per try: a fresh socket closes at once.
                assertThat(stub().close(CloseRequest.newBuilder().setSocketId(created).build()).getAlreadyClosed()).isFalse();
                closedIds.add(created);
                return created;
            }
            case BIND -> {
                if (!a.address().equals("0.0.0.0") && !a.address().equals("::")) {
                    assertSafe(a.address()); // binding is no send, but a bind address is resolved as one
                }
                return s.bind(BindRequest.newBuilder().setSocketId(id).setPort(a.port().resolve(this))
                        .setAddress(a.address()).setExclusive(a.flag()).build());
            }
            case CONNECT -> {
                assertSafe(a.address());
                return s.connect(ConnectRequest.newBuilder().setSocketId(id).setPort(a.port().resolve(this))
                        .setAddress(a.address()).build());
            }
            case SEND -> {
                assertSafe(a.address());
                return s.send(SendRequest.newBuilder().setSocketId(id).setData(payload((int) a.number()))
                        .setPort(a.port().resolve(this)).setAddress(a.address()).build());
            }
            case DISCONNECT -> {
                return s.disconnect(DisconnectRequest.newBuilder().setSocketId(id).build());
            }
            case CLOSE -> {
                return s.close(CloseRequest.newBuilder().setSocketId(id).build());
            }
            case ADDRESS -> {
                return s.address(AddressRequest.newBuilder().setSocketId(id).build());
            }
            case REMOTE_ADDRESS -> {
                return s.remoteAddress(RemoteAddressRequest.newBuilder().setSocketId(id).build());
            }
            case SET_BROADCAST -> {
                return s.setBroadcast(SetBroadcastRequest.newBuilder().setSocketId(id).setFlag(a.flag()).build());
            }
            case SET_MULTICAST_LOOPBACK -> {
                return s.setMulticastLoopback(SetMulticastLoopbackRequest.newBuilder().setSocketId(id).setFlag(a.flag()).build());
            }
            case SET_TTL -> {
                return s.setTtl(SetTtlRequest.newBuilder().setSocketId(id).setTtl((int) a.number()).build());
            }
            case SET_MULTICAST_TTL -> {
                return s.setMulticastTtl(SetMulticastTtlRequest.newBuilder().setSocketId(id).setTtl((int) a.number()).build());
            }
            case SET_MULTICAST_INTERFACE -> {
                assertSafeInterface(a.address());
                return s.setMulticastInterface(SetMulticastInterfaceRequest.newBuilder().setSocketId(id)
                        .setInterfaceAddress(a.address()).build());
            }
            case ADD_MEMBERSHIP, DROP_MEMBERSHIP -> {
                assertSafeMembership(a.address(), a.address2());
                return call.rpc() == Rpc.ADD_MEMBERSHIP
                        ? s.addMembership(AddMembershipRequest.newBuilder().setSocketId(id)
                                .setMulticastAddress(a.address()).setInterfaceAddress(a.address2()).build())
                        : s.dropMembership(DropMembershipRequest.newBuilder().setSocketId(id)
                                .setMulticastAddress(a.address()).setInterfaceAddress(a.address2()).build());
            }
            case ADD_SOURCE_SPECIFIC_MEMBERSHIP, DROP_SOURCE_SPECIFIC_MEMBERSHIP -> {
                assertSafeMembership(a.address(), a.address2());
                assertSafe(a.address3());
                return call.rpc() == Rpc.ADD_SOURCE_SPECIFIC_MEMBERSHIP
                        ? s.addSourceSpecificMembership(AddSourceSpecificMembershipRequest.newBuilder().setSocketId(id)
                                .setGroupAddress(a.address()).setInterfaceAddress(a.address2())
                                .setSourceAddress(a.address3()).build())
                        : s.dropSourceSpecificMembership(DropSourceSpecificMembershipRequest.newBuilder()
                                .setSocketId(id).setGroupAddress(a.address()).setInterfaceAddress(a.address2())
                                .setSourceAddress(a.address3()).build());
            }
            case GET_RECV_BUFFER_SIZE -> {
                return s.getRecvBufferSize(GetRecvBufferSizeRequest.newBuilder().setSocketId(id).build());
            }
            case GET_SEND_BUFFER_SIZE -> {
                return s.getSendBufferSize(GetSendBufferSizeRequest.newBuilder().setSocketId(id).build());
            }
            case SET_RECV_BUFFER_SIZE -> {
                return s.setRecvBufferSize(SetRecvBufferSizeRequest.newBuilder().setSocketId(id).setSize(a.number()).build());
            }
            case SET_SEND_BUFFER_SIZE -> {
                return s.setSendBufferSize(SetSendBufferSizeRequest.newBuilder().setSocketId(id).setSize(a.number()).build());
            }
            case GET_SEND_QUEUE_SIZE -> {
                return s.getSendQueueSize(GetSendQueueSizeRequest.newBuilder().setSocketId(id).build());
            }
            case GET_SEND_QUEUE_COUNT -> {
                return s.getSendQueueCount(GetSendQueueCountRequest.newBuilder().setSocketId(id).build());
            }
            default -> throw new AssertionError(call.rpc());
        }
    }

    /** What a SendStream call gave back. */
    /** The datagrams of {@code batches} that got no result, grouped as "socket id: address:port xN". */
    private static Map<String, Long> unanswered(StreamOutcome outcome, List<SendStreamRequest> batches) {
        Set<Long> answered = new HashSet<>();
        synchronized (outcome.results) {
            for (SendStreamResponse rb : outcome.results) {
                rb.getResultsList().forEach(r -> answered.add(r.getId()));
            }
        }
        Map<String, Long> missing = new TreeMap<>();
        for (SendStreamRequest b : batches) {
            for (OutboundDatagram d : b.getDatagramsList()) {
                if (!answered.contains(d.getId())) {
                    missing.merge(abbreviate(b.getSocketId()) + ": " + abbreviate(d.getAddress()) + ":" + d.getPort()
                            + " (" + d.getData().size() + " B)", 1L, Long::sum);
                }
            }
        }
        return missing;
    }

    static final class StreamOutcome {
        final List<SendStreamResponse> results = Collections.synchronizedList(new ArrayList<>());
        final CompletableFuture<Void> done = new CompletableFuture<>();
        Throwable failure;
    }

    /**
     * Writes {@code batches} on one SendStream call, then half-closes it (or cancels it, with
     * {@code cancel}); waits for the end of the call.
     */
    static StreamOutcome runSendStream(List<SendStreamRequest> batches, boolean cancel) throws Exception {
        StreamOutcome outcome = new StreamOutcome();
        StreamObserver<SendStreamRequest> requests = async.withDeadlineAfter(DEADLINE_SECONDS, TimeUnit.SECONDS)
                .sendStream(new ClientResponseObserver<SendStreamRequest, SendStreamResponse>() {
                    @Override
                    public void beforeStart(ClientCallStreamObserver<SendStreamRequest> call) {
                    }

                    @Override
                    public void onNext(SendStreamResponse value) {
                        outcome.results.add(value);
                    }

                    @Override
                    public void onError(Throwable t) {
                        outcome.done.completeExceptionally(t);
                    }

                    @Override
                    public void onCompleted() {
                        outcome.done.complete(null);
                    }
                });
        // The batches are small enough (MAX_STREAM_BYTES) to be buffered by the client whole.
        for (SendStreamRequest b : batches) {
            requests.onNext(b);
        }
        if (cancel) {
            requests.onError(Status.CANCELLED.withDescription("fuzz: client gives up").asRuntimeException());
        } else {
            requests.onCompleted();
        }
        try {
            outcome.done.get(DEADLINE_SECONDS + 5, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            outcome.failure = e.getCause();
        } catch (TimeoutException e) {
            fail("SendStream did not end within %d s", DEADLINE_SECONDS + 5);
        }
        return outcome;
    }

    private EventRecorder subscribe(String id) {
        EventRecorder r = EventRecorder.subscribe(async, id); // no deadline: the pool's reader lives long
        recorders.add(r);
        return r;
    }

    /** The failure a stream ended with (null: it ended OK); fails the test if it does not end in time. */
    private static Throwable failureOf(EventRecorder r) throws InterruptedException {
        try {
            r.done().get(DEADLINE_SECONDS, TimeUnit.SECONDS);
            return null;
        } catch (ExecutionException e) {
            return e.getCause();
        } catch (TimeoutException e) {
            throw new AssertionError("Events stream did not end within " + DEADLINE_SECONDS + " s");
        }
    }

    private static SocketEvent lastEvent(EventRecorder r) {
        SocketEvent last = null;
        for (SocketEvent e = r.poll(); e != null; e = r.poll()) {
            last = e;
        }
        return last;
    }

    private static List<EventRecorder> nonNull(EventRecorder... values) {
        return Stream.of(values).filter(v -> v != null).toList();
    }

    // ---------------------------------------------------------------- the pool

    private void beforeTry() {
        if (over) {
            throw new IllegalStateException("the property is over (a late shrinking try)");
        }
        for (int i = 0; i < SLOTS; i++) {
            if (slots[i] == null) {
                refill(i);
            }
            EventRecorder r = slotReaders[i];
            if (r != null) {
                while (r.poll() != null) {
                    // keep the test's memory flat: what the pool reader received is not checked
                }
            }
        }
    }

    private void refill(int slot) {
        Kind kind = Kind.values()[slot];
        boolean six = kind == Kind.UDP6_UNBOUND || kind == Kind.UDP6_LOOPBACK || kind == Kind.UDP6_ANY;
        String id = create(six ? SocketType.SOCKET_TYPE_UDP6 : SocketType.SOCKET_TYPE_UDP4);
        slots[slot] = id;
        slotPorts[slot] = 0;
        slotReaders[slot] = null;
        if (kind == Kind.UDP4_WITH_READER) {
            slotReaders[slot] = subscribe(id);
        }
        String address = switch (kind) {
            case UDP4_LOOPBACK, UDP4_CONNECTED, UDP4_WITH_READER -> "127.0.0.1";
            case UDP6_LOOPBACK -> "::1";
            case UDP4_ANY, UDP6_ANY -> "";
            default -> null;
        };
        if (address != null) {
            slotPorts[slot] = stub().bind(BindRequest.newBuilder().setSocketId(id).setAddress(address).build())
                    .getAddress().getPort();
        }
        if (kind == Kind.UDP4_CONNECTED) {
            stub().connect(ConnectRequest.newBuilder().setSocketId(id).setPort(slotPorts[slot])
                    .setAddress("127.0.0.1").build());
        }
    }

    /** Slot {@code slot} (nothing when -1: a {@link Fresh} socket) was closed by the try. */
    private void slotClosed(int slot) throws Exception {
        if (slot < 0) {
            return;
        }
        String id = slots[slot];
        EventRecorder reader = slotReaders[slot];
        if (reader != null) {
            Throwable t = failureOf(reader);
            assertThat(t).as("the pool's reader of a closed socket ends OK").isNull();
        }
        closedIds.add(id);
        slots[slot] = null;
        slotReaders[slot] = null;
    }

    private int slotOf(String id) {
        for (int i = 0; i < SLOTS; i++) {
            if (id.equals(slots[i])) {
                return i;
            }
        }
        return -1;
    }

    private boolean isLive(String id) {
        return slotOf(id) >= 0 || fresh.contains(id);
    }

    private String create(SocketType type) {
        String id = stub().createSocket(CreateSocketRequest.newBuilder().setType(type).build()).getSocketId();
        everCreated.add(id);
        return id;
    }

    /**
     * The end of a try: the sockets made for it are closed (OK, or already closed by the try), and the
     * daemon still serves: a socket is created and closed, each within the deadline.
     */
    private void healthCheck() {
        for (String id : fresh) {
            stub().close(CloseRequest.newBuilder().setSocketId(id).build());
            closedIds.add(id);
        }
        fresh.clear();
        String id = stub().createSocket(CreateSocketRequest.newBuilder().setType(SocketType.SOCKET_TYPE_UDP4).build()).getSocketId();
        assertThat(stub().close(CloseRequest.newBuilder().setSocketId(id).build()).getAlreadyClosed()).as("health check").isFalse();
    }

    // ---------------------------------------------------------------- checks

    /** The status codes the contract names for a reason. */
    private static final Map<String, Set<Status.Code>> CONTRACT = new HashMap<>();

    static {
        for (String r : List.of("ERR_SOCKET_BAD_PORT", "ERR_SOCKET_BAD_TYPE", "ERR_SOCKET_BAD_BUFFER_SIZE", "EINVAL",
                "EADDRNOTAVAIL")) {
            CONTRACT.put(r, Set.of(Status.Code.INVALID_ARGUMENT));
        }
        // EMSGSIZE: the kernel's limit (INVALID_ARGUMENT) or the policy's maxPayload quota.
        CONTRACT.put("EMSGSIZE", Set.of(Status.Code.INVALID_ARGUMENT, Status.Code.RESOURCE_EXHAUSTED));
        CONTRACT.put("EMFILE", Set.of(Status.Code.RESOURCE_EXHAUSTED));
        for (String r : List.of("ERR_SOCKET_DGRAM_IS_CONNECTED", "ERR_SOCKET_DGRAM_NOT_CONNECTED",
                "ERR_SOCKET_ALREADY_BOUND", "ERR_SOCKET_BUFFER_SIZE", "EBADF")) {
            CONTRACT.put(r, Set.of(Status.Code.FAILED_PRECONDITION));
        }
        CONTRACT.put("ERR_SOCKET_DGRAM_NOT_RUNNING", Set.of(Status.Code.FAILED_PRECONDITION, Status.Code.NOT_FOUND));
        CONTRACT.put("ENOTFOUND", Set.of(Status.Code.NOT_FOUND));
        CONTRACT.put("EADDRINUSE", Set.of(Status.Code.ALREADY_EXISTS));
        CONTRACT.put("ERR_EVENTS_ALREADY_ATTACHED", Set.of(Status.Code.ALREADY_EXISTS));
        CONTRACT.put("EACCES", Set.of(Status.Code.PERMISSION_DENIED));
        CONTRACT.put("EPERM", Set.of(Status.Code.PERMISSION_DENIED));
        CONTRACT.put("ENOBUFS", Set.of(Status.Code.RESOURCE_EXHAUSTED));
        for (String r : List.of("ENETUNREACH", "EHOSTUNREACH", "ECONNREFUSED")) {
            CONTRACT.put(r, Set.of(Status.Code.UNAVAILABLE));
        }
        CONTRACT.put("ENOSYS", Set.of(Status.Code.UNIMPLEMENTED));
    }

    /** OK (null), or a status with a well-formed ErrorInfo; never a hang, UNKNOWN, or a bare INTERNAL. */
    static void assertWellFormed(String what, Throwable failure) {
        if (failure == null) {
            return;
        }
        if (!(failure instanceof StatusRuntimeException sre)) {
            throw new AssertionError(what + ": not a gRPC status: " + failure, failure);
        }
        Status.Code code = sre.getStatus().getCode();
        if (code == Status.Code.DEADLINE_EXCEEDED) {
            fail("%s: no answer within %d s", what, DEADLINE_SECONDS);
        }
        com.google.rpc.Status status = StatusProto.fromThrowable(failure);
        if (status == null) {
            fail("%s: %s without details (no ErrorInfo)", what, sre.getStatus());
        }
        ErrorInfo info = null;
        for (com.google.protobuf.Any any : status.getDetailsList()) {
            if (any.is(ErrorInfo.class)) {
                try {
                    info = any.unpack(ErrorInfo.class);
                } catch (com.google.protobuf.InvalidProtocolBufferException e) {
                    throw new AssertionError(what + ": undecodable ErrorInfo", e);
                }
            }
        }
        if (info == null) {
            fail("%s: %s without ErrorInfo", what, sre.getStatus());
        }
        assertThat(info.getDomain()).as("%s: ErrorInfo domain", what).isEqualTo("dgramd");
        assertThat(info.getReason()).as("%s: ErrorInfo reason", what).isNotBlank();
        assertThat(code).as("%s: status code of %s", what, info.getReason()).isNotEqualTo(Status.Code.UNKNOWN);
        Set<Status.Code> expected = CONTRACT.get(info.getReason());
        if (expected != null) {
            assertThat(code).as("%s: status code the contract names for %s", what, info.getReason()).isIn(expected);
        }
    }

    static ErrorInfo errorInfo(Throwable t) {
        return DaemonTestBase.errorInfo(t);
    }

    private void tally(String what, Throwable failure) {
        String outcome;
        if (failure == null) {
            outcome = "OK";
        } else if (failure instanceof StatusRuntimeException sre) {
            com.google.rpc.Status st = StatusProto.fromThrowable(failure);
            String reason = "?";
            if (st != null) {
                for (com.google.protobuf.Any any : st.getDetailsList()) {
                    if (any.is(ErrorInfo.class)) {
                        try {
                            reason = any.unpack(ErrorInfo.class).getReason();
                        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
                            reason = "undecodable";
                        }
                    }
                }
            }
            outcome = sre.getStatus().getCode() + "/" + reason;
        } else {
            outcome = failure.getClass().getSimpleName();
        }
        tally(what, outcome);
    }

    private void tally(String what, String outcome) {
        outcomes.merge(what + " " + outcome, 1, Integer::sum);
    }

    // ---------------------------------------------------------------- safety

    /**
     * Stops the test unless {@code address} is empty, a loopback literal, a name that resolves to
     * loopback from /etc/hosts or numerically, a name under .invalid, or text the daemon cannot resolve.
     */
    static void assertSafe(String address) {
        if (address.isEmpty() || isUnresolvableText(address)) {
            return;
        }
        InetAddress literal = literal(address);
        if (literal != null) {
            if (!isLoopback(literal)) {
                throw new IllegalStateException("generator bug: non-loopback destination " + address);
            }
            return;
        }
        if (address.endsWith(".invalid") || Set.of("localhost", "127.1", "2130706433").contains(address)) {
            return;
        }
        throw new IllegalStateException("generator bug: resolvable destination " + abbreviate(address));
    }

    /** Interfaces: the loopback one, or text that names no interface a group could be joined on. */
    static void assertSafeInterface(String iface) {
        if (iface.equals("127.0.0.1") || iface.equals("::%lo")) {
            return;
        }
        int percent = iface.indexOf('%');
        if (percent >= 0) {
            // udp6: only the scope names the interface; udp4 refuses any text with a scope (EINVAL).
            String scope = iface.substring(percent + 1);
            if (!Set.of("lo", "", "no-such-if", "lo%lo").contains(scope)) {
                throw new IllegalStateException("generator bug: interface scope " + iface);
            }
            return;
        }
        if (iface.equals("::")) {
            throw new IllegalStateException("generator bug: '::' is the default udp6 interface");
        }
        InetAddress literal = literal(iface);
        if (literal instanceof java.net.Inet4Address && !literal.isLoopbackAddress()) {
            throw new IllegalStateException("generator bug: interface " + iface);
        }
    }

    /** An empty interface lets the kernel choose one (not loopback): allowed only with a group it must refuse. */
    static void assertSafeMembership(String group, String iface) {
        assertSafeInterface(iface);
        if (iface.isEmpty() && isMulticastLiteral(group)) {
            throw new IllegalStateException("generator bug: group " + group + " on the default interface");
        }
    }

    private static boolean isMulticastLiteral(String text) {
        InetAddress a = literal(text);
        return a != null && a.isMulticastAddress();
    }

    private static boolean isLoopback(InetAddress a) {
        if (a.isLoopbackAddress()) {
            return true;
        }
        byte[] b = a.getAddress();
        // ::ffff:127.x.y.z
        if (b.length == 16 && b[10] == (byte) 0xff && b[11] == (byte) 0xff && b[12] == 127) {
            for (int i = 0; i < 10; i++) {
                if (b[i] != 0) {
                    return false;
                }
            }
            return true;
        }
        return false;
    }

    /** The IP literal {@code text} (brackets and a %scope allowed), or null; never looks a name up. */
    private static InetAddress literal(String text) {
        String bare = text.startsWith("[") && text.endsWith("]") ? text.substring(1, text.length() - 1) : text;
        int percent = bare.indexOf('%');
        String noScope = percent < 0 ? bare : bare.substring(0, percent);
        if (!NetUtil.isValidIpV4Address(bare) && !NetUtil.isValidIpV6Address(noScope)) {
            return null;
        }
        try {
            return InetAddress.getByAddress(NetUtil.createByteArrayFromIpAddressString(noScope));
        } catch (UnknownHostException e) {
            return null;
        }
    }

    /** Text that is no IP literal and no host name: the daemon cannot resolve it to anything. */
    static boolean isUnresolvableText(String s) {
        if (s.isEmpty() || literal(s) != null) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!(Character.isLetterOrDigit(c) || c == '-' || c == '.' || c == '_')) {
                return true; // not a host name the daemon would look up (and not a literal, see above)
            }
        }
        return s.length() > 253; // a plausible name: only a too-long one is never looked up
    }

    // ---------------------------------------------------------------- helpers

    private static DgramGrpc.DgramBlockingStub stub() {
        return blocking.withDeadlineAfter(DEADLINE_SECONDS, TimeUnit.SECONDS);
    }

    private static ByteString payload(int size) {
        if (size <= 0) {
            return ByteString.EMPTY;
        }
        byte[] b = new byte[size];
        for (int i = 0; i < size; i += 997) {
            b[i] = (byte) i;
        }
        return ByteString.copyFrom(b);
    }

    static String abbreviate(String s) {
        if (s == null) {
            return "null";
        }
        return s.length() <= 48 ? "'" + s + "'" : "'" + s.substring(0, 24) + "...' (" + s.length() + " chars)";
    }

    /** Open file descriptors of this process (the daemon runs in it). */
    static long openFds() {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.count();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

}
