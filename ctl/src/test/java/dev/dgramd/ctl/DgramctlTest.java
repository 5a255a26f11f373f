package dev.dgramd.ctl;

import static org.assertj.core.api.Assertions.assertThat;

import dev.dgramd.daemon.Dgramd;
import dev.dgramd.daemon.DgramdOptions;
import dev.dgramd.daemon.policy.Policy;
import dev.dgramd.proto.v1.BindRequest;
import dev.dgramd.proto.v1.CloseRequest;
import dev.dgramd.proto.v1.CreateSocketRequest;
import dev.dgramd.proto.v1.DgramGrpc;
import dev.dgramd.proto.v1.EventsRequest;
import dev.dgramd.proto.v1.EventsResponse;
import dev.dgramd.proto.v1.SocketType;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.Writer;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * dgramctl run in-process (CommandLine.execute with captured output) against a real daemon, also
 * in-process, with real sockets and real datagrams on loopback.
 */
class DgramctlTest {
    private static final long TIMEOUT_SECONDS = 10;

    private static Dgramd daemon;
    private static ManagedChannel channel;
    private static DgramGrpc.DgramBlockingStub dgram;
    private final List<AutoCloseable> resources = new ArrayList<>();
    private final List<String> sockets = new ArrayList<>();

    @BeforeAll
    static void startDaemon() throws Exception {
        daemon = Dgramd.start(new DgramdOptions().listen("127.0.0.1:0").policy(Policy.allowAll()));
        channel = NettyChannelBuilder.forTarget(daemon.target()).usePlaintext().build();
        dgram = DgramGrpc.newBlockingStub(channel);
    }

    @AfterAll
    static void stopDaemon() throws Exception {
        channel.shutdownNow().awaitTermination(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        daemon.close();
    }

    @AfterEach
    void cleanUp() throws Exception {
        for (String id : sockets) {
            stub().close(CloseRequest.newBuilder().setSocketId(id).build());
        }
        for (AutoCloseable r : resources) {
            r.close();
        }
    }

    @Test
    void healthIsServingAndExitsZero() {
        Run r = ctl("health");
        assertThat(r.code).as(r.err).isZero();
        assertThat(r.out).isEqualTo("SERVING\n");
        assertThat(ctl("health", "--service", "dgramd.v1.Admin").code).isZero();
        Run unknown = ctl("health", "--service", "no.such.Service");
        assertThat(unknown.code).isEqualTo(1);
        assertThat(unknown.out).isEqualTo("SERVICE_UNKNOWN\n");
    }

    @Test
    void healthOfNothingListeningExitsOne() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            port = s.getLocalPort();
        }
        Run r = run(Map.of(), "health", "--target", "127.0.0.1:" + port, "--timeout", "5");
        assertThat(r.code).isEqualTo(1);
        assertThat(r.out).startsWith("UNREACHABLE 127.0.0.1:" + port + ": UNAVAILABLE");
    }

    @Test
    void targetComesFromDgramdTargetWhenNotGiven() {
        Run r = run(Map.of("DGRAMD_TARGET", daemon.target()), "health");
        assertThat(r.code).as(r.err + r.out).isZero();
        assertThat(r.out).isEqualTo("SERVING\n");
    }

    @Test
    void lsShowsEachSocketWithItsAddressesAndCounters() throws Exception {
        String bound = create(SocketType.SOCKET_TYPE_UDP4);
        int port = bind(bound);
        String unbound = stub().createSocket(CreateSocketRequest.newBuilder().setType(SocketType.SOCKET_TYPE_UDP6)
                .setName("syslog-in").build()).getSocketId();
        sockets.add(unbound);
        try (DatagramSocket peer = peer()) {
            send(peer, "four", port);
            awaitReceived(bound, 1);
        }

        Run r = ctl("ls");
        assertThat(r.code).as(r.err).isZero();
        List<String> lines = r.out.lines().toList();
        assertThat(lines.get(0)).startsWith("ID").contains("TYPE", "NAME", "LOCAL", "REMOTE", "RX", "TX", "KERNEL", "BUDGET",
                "LISTENER", "BUFFERED", "ATTACHED", "CREATED");
        String boundLine = lines.stream().filter(l -> l.startsWith(bound)).findFirst().orElseThrow();
        assertThat(boundLine.split("\\s+")).startsWith(bound, "udp4", "-", "127.0.0.1:" + port, "-", "1", "4", "0", "0");
        String unboundLine = lines.stream().filter(l -> l.startsWith(unbound)).findFirst().orElseThrow();
        assertThat(unboundLine.split("\\s+")).startsWith(unbound, "udp6", "syslog-in", "-", "-", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0",
                "no");

        Run quiet = ctl("ls", "-q");
        assertThat(quiet.out.lines().toList()).contains(bound, unbound).allMatch(l -> l.matches("[0-9a-f]{32}"));
    }

    @Test
    void statsPrintsTheDaemonsTotals() {
        create(SocketType.SOCKET_TYPE_UDP4);
        Run r = ctl("stats");
        assertThat(r.code).as(r.err).isZero();
        assertThat(r.out).contains("version             " + Dgramd.version() + "\n")
                .contains("transport           " + daemon.transport() + "\n")
                .containsPattern("sockets_open\\s+" + daemon.openSockets() + "\n")
                .containsPattern("uptime\\s+\\d");
    }

    @Test
    void sendFromAFreshSocketAsTextOrHex() throws Exception {
        try (DatagramSocket peer = peer()) {
            Run text = ctl("send", "--to", "127.0.0.1:" + peer.getLocalPort(), "hello");
            assertThat(text.code).as(text.err).isZero();
            DatagramPacket p = receive(peer);
            assertThat(payload(p)).isEqualTo("hello");
            assertThat(text.out).isEqualTo("sent 5 bytes to 127.0.0.1:" + peer.getLocalPort() + " from 0.0.0.0:"
                    + p.getPort() + " (a fresh socket, closed)\n");

            Run hex = ctl("send", "--to", "127.0.0.1:" + peer.getLocalPort(), "--hex", "68690a");
            assertThat(hex.code).as(hex.err).isZero();
            assertThat(payload(receive(peer))).isEqualTo("hi\n");
        }
    }

    @Test
    void sendFromAnOpenSocketNamedByAPrefix() throws Exception {
        String id = create(SocketType.SOCKET_TYPE_UDP4);
        int port = bind(id);
        try (DatagramSocket peer = peer()) {
            Run r = ctl("send", "--from", id.substring(0, 12), "--to", "127.0.0.1:" + peer.getLocalPort(), "x");
            assertThat(r.code).as(r.err).isZero();
            assertThat(receive(peer).getPort()).isEqualTo(port);
            assertThat(r.out).endsWith("(socket " + id + ")\n");
        }
    }

    @Test
    void sendNeedsExactlyOnePayload() {
        Run none = ctl("send", "--to", "127.0.0.1:9");
        assertThat(none.code).isEqualTo(2);
        assertThat(none.err).contains("give the payload as TEXT or as --hex HEX");
        Run both = ctl("send", "--to", "127.0.0.1:9", "--hex", "00", "text");
        assertThat(both.code).isEqualTo(2);
        Run badHex = ctl("send", "--to", "127.0.0.1:9", "--hex", "xyz1");
        assertThat(badHex.code).isEqualTo(2);
        assertThat(badHex.err).contains("--hex needs hex digits");
    }

    @Test
    void sendErrorsOfTheDaemonExitOneWithTheNodeCode() {
        Run r = ctl("send", "--to", "127.0.0.1:0", "x");
        assertThat(r.code).isEqualTo(1);
        assertThat(r.err).startsWith("dgramctl: INVALID_ARGUMENT ERR_SOCKET_BAD_PORT: ");
    }

    @Test
    void tapPrintsDatagramsInAndOutUntilCount() throws Exception {
        String id = create(SocketType.SOCKET_TYPE_UDP4);
        int port = bind(id);
        try (DatagramSocket peer = peer()) {
            Background tap = background("tap", id, "--count", "2", "--hex");
            assertThat(tap.errLine()).startsWith("tapping " + id + " (udp4 127.0.0.1:" + port + ")");

            send(peer, "ping", port);
            Run sent = ctl("send", "--from", id, "--to", "127.0.0.1:" + peer.getLocalPort(), "pong");
            assertThat(sent.code).as(sent.err).isZero();

            assertThat(tap.exitCode()).isZero();
            List<String> lines = tap.out().lines().toList();
            assertThat(lines).hasSize(2);
            assertThat(lines.get(0)).matches("\\S+Z  in   127\\.0\\.0\\.1:" + peer.getLocalPort() + "  4  70696e67");
            assertThat(lines.get(1)).matches("\\S+Z  out  127\\.0\\.0\\.1:" + peer.getLocalPort() + "  4  706f6e67");
        }
    }

    @Test
    void tapShowsTextAndEndsWhenTheSocketIsClosed() throws Exception {
        String id = create(SocketType.SOCKET_TYPE_UDP4);
        int port = bind(id);
        try (DatagramSocket peer = peer()) {
            Background tap = background("tap", id.substring(0, 8));
            tap.errLine();
            send(peer, "a\"b\n", port);
            assertThat(tap.outLine()).endsWith("  in   127.0.0.1:" + peer.getLocalPort() + "  4  \"a\\\"b\\n\"");

            Run close = ctl("close", id);
            assertThat(close.code).as(close.err).isZero();
            assertThat(close.out).isEqualTo("closed " + id + "\n");
            assertThat(tap.exitCode()).isZero();
            assertThat(tap.err()).contains("socket " + id + " closed");

            Run again = ctl("close", id);
            assertThat(again.code).isZero();
            assertThat(again.out).isEqualTo(id + " was closed already\n");
        }
    }

    @Test
    void closeOfAnUnknownSocketExitsOne() {
        Run r = ctl("close", "0123456789abcdef0123456789abcdef");
        assertThat(r.code).isEqualTo(1);
        assertThat(r.err).startsWith("dgramctl: NOT_FOUND ERR_SOCKET_DGRAM_NOT_RUNNING: ");
        Run prefix = ctl("close", "zz");
        assertThat(prefix.code).isEqualTo(2);
        assertThat(prefix.err).contains("no open socket's id starts with 'zz'");
    }

    @Test
    void helpListsEverySubcommand() {
        Run r = run(Map.of(), "--help");
        assertThat(r.code).isZero();
        assertThat(r.out).contains("--target=HOST:PORT", "DGRAMD_TARGET", "health", "ls", "stats", "tap", "send",
                "close");
    }

    // ---------------------------------------------------------------- helpers

    private record Run(int code, String out, String err) {}

    private Run ctl(String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        all.add("--target");
        all.add(daemon.target());
        return run(Map.of(), all.toArray(String[]::new));
    }

    private static Run run(Map<String, String> env, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine commandLine = Dgramctl.commandLine(env);
        commandLine.setOut(new PrintWriter(out, true));
        commandLine.setErr(new PrintWriter(err, true));
        int code = commandLine.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    /** A dgramctl command running on its own thread, its output readable line by line as it comes. */
    private static final class Background {
        private final Lines out = new Lines();
        private final Lines err = new Lines();
        private final CompletableFuture<Integer> exit = new CompletableFuture<>();

        String outLine() throws InterruptedException {
            return out.next();
        }

        String errLine() throws InterruptedException {
            return err.next();
        }

        String out() {
            return out.all.toString();
        }

        String err() {
            return err.all.toString();
        }

        int exitCode() throws Exception {
            return exit.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        }
    }

    private Background background(String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        all.add("--target");
        all.add(daemon.target());
        Background b = new Background();
        CommandLine commandLine = Dgramctl.commandLine(Map.of());
        commandLine.setOut(new PrintWriter(b.out, true));
        commandLine.setErr(new PrintWriter(b.err, true));
        Thread t = new Thread(() -> {
            try {
                b.exit.complete(commandLine.execute(all.toArray(String[]::new)));
            } catch (Throwable e) {
                b.exit.completeExceptionally(e);
            }
        }, "dgramctl-" + args[0]);
        t.setDaemon(true);
        t.start();
        resources.add(() -> {
            if (!b.exit.isDone()) {
                t.interrupt();
            }
        });
        return b;
    }

    /** A Writer that hands out complete lines. */
    private static final class Lines extends Writer {
        private final LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();
        private final StringBuffer all = new StringBuffer();
        private final StringBuilder current = new StringBuilder();

        @Override
        public synchronized void write(char[] chars, int off, int len) {
            all.append(chars, off, len);
            for (int i = off; i < off + len; i++) {
                if (chars[i] == '\n') {
                    lines.add(current.toString());
                    current.setLength(0);
                } else {
                    current.append(chars[i]);
                }
            }
        }

        String next() throws InterruptedException {
            String line = lines.poll(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            assertThat(line).as("a line within %s s; so far: %s", TIMEOUT_SECONDS, all).isNotNull();
            return line;
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    }

    private static DgramGrpc.DgramBlockingStub stub() {
        return dgram.withDeadlineAfter(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }

    private String create(SocketType type) {
        String id = stub().createSocket(CreateSocketRequest.newBuilder().setType(type).build()).getSocketId();
        sockets.add(id);
        return id;
    }

    private static int bind(String id) {
        return stub().bind(BindRequest.newBuilder().setSocketId(id).setAddress("127.0.0.1").build()).getAddress()
                .getPort();
    }

    /** Waits until the socket's Events stream has delivered {@code n} messages. */
    private void awaitReceived(String id, int n) throws Exception {
        CompletableFuture<Void> received = new CompletableFuture<>();
        int[] count = {0};
        var call = io.grpc.Context.current().withCancellation();
        resources.add(() -> call.cancel(null));
        call.run(() -> DgramGrpc.newStub(channel).events(EventsRequest.newBuilder().setSocketId(id).build(),
                new StreamObserver<EventsResponse>() {
                    @Override
                    public void onNext(EventsResponse batch) {
                        count[0] += (int) batch.getEventsList().stream().filter(e -> e.hasMessage()).count();
                        if (count[0] >= n) {
                            received.complete(null);
                        }
                    }

                    @Override
                    public void onError(Throwable t) {
                        received.completeExceptionally(t);
                    }

                    @Override
                    public void onCompleted() {
                    }
                }));
        received.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }

    private static DatagramSocket peer() throws Exception {
        DatagramSocket s = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        s.setSoTimeout((int) TimeUnit.SECONDS.toMillis(TIMEOUT_SECONDS));
        return s;
    }

    private static void send(DatagramSocket from, String text, int port) throws Exception {
        byte[] data = text.getBytes(StandardCharsets.UTF_8);
        from.send(new DatagramPacket(data, data.length, InetAddress.getLoopbackAddress(), port));
    }

    private static DatagramPacket receive(DatagramSocket s) throws Exception {
        DatagramPacket p = new DatagramPacket(new byte[65_536], 65_536);
        s.receive(p);
        return p;
    }

    private static String payload(DatagramPacket p) {
        return new String(p.getData(), 0, p.getLength(), StandardCharsets.UTF_8);
    }
}
