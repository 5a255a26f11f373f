package dev.dgramd.daemon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import com.google.protobuf.ByteString;
import dev.dgramd.daemon.policy.Policy;
import dev.dgramd.proto.v1.AddMembershipRequest;
import dev.dgramd.proto.v1.AddSourceSpecificMembershipRequest;
import dev.dgramd.proto.v1.AddressInfo;
import dev.dgramd.proto.v1.BindRequest;
import dev.dgramd.proto.v1.CloseRequest;
import dev.dgramd.proto.v1.ConnectRequest;
import dev.dgramd.proto.v1.CreateSocketRequest;
import dev.dgramd.proto.v1.DgramGrpc;
import dev.dgramd.proto.v1.DropMembershipRequest;
import dev.dgramd.proto.v1.Message;
import dev.dgramd.proto.v1.OutboundDatagram;
import dev.dgramd.proto.v1.SendRequest;
import dev.dgramd.proto.v1.SendResult;
import dev.dgramd.proto.v1.SendStreamRequest;
import dev.dgramd.proto.v1.SendStreamResponse;
import dev.dgramd.proto.v1.SetBroadcastRequest;
import dev.dgramd.proto.v1.SocketEvent.EventCase;
import dev.dgramd.proto.v1.SocketType;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * dgramd across hosts: network namespaces as the other hosts, on a test network of the project's own,
 * 10.77.0.0/24. The daemon runs in this JVM (the root namespace) with its end of the network on the
 * bridge {@value #BRIDGE} ({@value #HOST}); two namespaces, {@value #NS1} ({@value #PEER1}) and
 * {@value #NS2} ({@value #PEER2}), hang off the bridge by veth pairs. The peers are Node.js programs
 * run in a namespace by {@code ip netns exec}. Covered: unicast both ways (and connect) between a
 * daemon socket and a peer, a multicast group joined on the daemon's interface receiving from another
 * host (and no longer after dropping it), source-specific membership admitting only its source,
 * broadcast on the subnet both ways (and EACCES without setBroadcast).
 *
 * <p>Nothing is sent outside 10.77.0.0/24: every destination goes through {@link #onTestNet}, multicast
 * is sent with TTL 1 out of a namespace's own veth, and the daemon joins groups only on {@value #HOST}.
 * The namespaces and links are deleted after the class (and, left over from an earlier run, before
 * it). Without the means to make them (not Linux, no {@code ip}, no {@code node}, no permission) the
 * class is skipped with a message naming what is missing, except when the environment variable CI is
 * set to true: there it fails.
 */
class MultiHostIT {
    static final String NS1 = "dgramd-it-ns1";
    static final String NS2 = "dgramd-it-ns2";
    static final String BRIDGE = "dgrbr0";
    static final String HOST = "10.77.0.1";
    static final String PEER1 = "10.77.0.2";
    static final String PEER2 = "10.77.0.3";
    static final String SUBNET_BROADCAST = "10.77.0.255";
    static final long TIMEOUT_SECONDS = 15;

    /** A peer: one UDP socket in a namespace. Modes: listen, echo (answers "echo:" + text), send. */
    private static final String PEER_SCRIPT = """
            const dgram = require('dgram');
            const [mode, bindAddress, bindPort, options] = process.argv.slice(1);
            const opts = options ? JSON.parse(options) : {};
            const out = (line) => process.stdout.write(line + '\\n');
            const s = dgram.createSocket({ type: 'udp4', reuseAddr: true });
            const timer = setTimeout(() => { out('timeout'); process.exit(3); }, 20000);
            s.on('error', (e) => { out('error ' + e.code + ' ' + e.message); process.exit(2); });
            s.on('message', (m, r) => {
              out('message ' + r.address + ' ' + r.port + ' ' + m.toString());
              if (mode === 'echo') s.send('echo:' + m.toString(), r.port, r.address);
            });
            s.bind(Number(bindPort), bindAddress, () => {
              if (opts.multicastInterface) { s.setMulticastInterface(opts.multicastInterface); s.setMulticastTTL(1); }
              if (opts.broadcast) s.setBroadcast(true);
              out('ready ' + s.address().port);
              if (mode !== 'send') return;
              const next = (i) => {
                if (i === opts.sends.length) { out('sent'); s.close(); clearTimeout(timer); return; }
                const d = opts.sends[i];
                s.send(d.text, d.port, d.address, (e) => {
                  if (e) { out('error ' + e.code); process.exit(2); }
                  next(i + 1);
                });
              };
              next(0);
            });
            """;

    private static Dgramd daemon;
    private static ManagedChannel channel;
    private static DgramGrpc.DgramBlockingStub stub;
    private static DgramGrpc.DgramStub async;

    private final List<Peer> peers = new ArrayList<>();
    private final List<String> sockets = new ArrayList<>();
    private final List<EventRecorder> recorders = new ArrayList<>();

    // ---------------------------------------------------------------- the test network

    @BeforeAll
    static void makeHosts() throws Exception {
        String missing = whatIsMissing();
        if (missing != null) {
            if ("true".equalsIgnoreCase(System.getenv("CI"))) {
                fail("CI=true, so the multi-host tests must run: " + skipMessage());
            }
            System.err.println("MultiHostIT skipped: " + skipMessage());
            return; // each test is skipped with the message (see requireHosts)
        }
        deleteHosts(); // left over from an earlier run that was killed
        try {
            ip("netns", "add", NS1);
            ip("netns", "add", NS2);
            // No multicast snooping: the bridge floods group traffic to every port and to the host,
            // so no IGMP querier is needed.
            ip("link", "add", "name", BRIDGE, "type", "bridge", "mcast_snooping", "0");
            ip("addr", "add", HOST + "/24", "brd", "+", "dev", BRIDGE);
            ip("link", "set", BRIDGE, "up");
            addHost(NS1, "dgrv1", PEER1);
            addHost(NS2, "dgrv2", PEER2);
        } catch (Exception | AssertionError e) {
            deleteHosts();
            throw e;
        }
        daemon = Dgramd.start(new DgramdOptions().listen("127.0.0.1:0").policy(Policy.allowAll()));
        channel = NettyChannelBuilder.forTarget(daemon.target()).usePlaintext().build();
        stub = DgramGrpc.newBlockingStub(channel);
        async = DgramGrpc.newStub(channel);
    }

    /** A namespace on the bridge: a veth pair, {@code eth0} and {@code lo} up inside, a route for groups. */
    private static void addHost(String ns, String rootEnd, String address) throws Exception {
        ip("link", "add", "name", rootEnd, "type", "veth", "peer", "name", "eth0", "netns", ns);
        ip("link", "set", rootEnd, "master", BRIDGE);
        ip("link", "set", rootEnd, "up");
        ip("-n", ns, "addr", "add", address + "/24", "brd", "+", "dev", "eth0");
        ip("-n", ns, "link", "set", "eth0", "up");
        ip("-n", ns, "link", "set", "lo", "up");
        // Inside the namespace only: multicast goes out of its veth (which only leads to the bridge).
        ip("-n", ns, "route", "add", "224.0.0.0/4", "dev", "eth0");
    }

    @AfterAll
    static void deleteHostsAndStop() throws Exception {
        try {
            if (channel != null) {
                channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
            if (daemon != null) {
                daemon.close();
            }
        } finally {
            if (whatIsMissing() == null) {
                deleteHosts();
            }
        }
    }

    /** Deletes the namespaces (and with them the veth pairs) and the bridge; each may be absent. */
    private static void deleteHosts() throws Exception {
        run("ip", "netns", "del", NS1);
        run("ip", "netns", "del", NS2);
        run("ip", "link", "del", "dgrv1");
        run("ip", "link", "del", "dgrv2");
        run("ip", "link", "del", BRIDGE);
    }

    private static String cachedMissing;

    /** What this machine lacks to make the test hosts, or null. */
    private static synchronized String whatIsMissing() throws Exception {
        if (cachedMissing != null) {
            return cachedMissing.isEmpty() ? null : cachedMissing;
        }
        String missing = null;
        if (!System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT).contains("linux")) {
            missing = "Linux (network namespaces); this is " + System.getProperty("os.name");
        } else if (!onPath("ip")) {
            missing = "the 'ip' command (iproute2) on the PATH";
        } else if (!onPath("node")) {
            missing = "Node.js ('node' on the PATH), which runs the peers";
        } else {
            // Can we make a namespace, and a veth pair and a bridge in it?
            String probe = "dgramd-it-probe";
            run("ip", "netns", "del", probe);
            Result add = run("ip", "netns", "add", probe);
            if (add.exitCode != 0) {
                missing = "permission to create network namespaces (root, or CAP_SYS_ADMIN and CAP_NET_ADMIN): "
                        + "'ip netns add' said: " + add.output.trim();
            } else {
                Result veth = run("ip", "-n", probe, "link", "add", "name", "dgrprobe0", "type", "veth", "peer", "name",
                        "dgrprobe1");
                Result bridge = run("ip", "-n", probe, "link", "add", "name", "dgrprobe2", "type", "bridge");
                run("ip", "netns", "del", probe);
                if (veth.exitCode != 0) {
                    missing = "veth support (the kernel's veth driver): " + veth.output.trim();
                } else if (bridge.exitCode != 0) {
                    missing = "bridge support (the kernel's bridge driver): " + bridge.output.trim();
                }
            }
        }
        cachedMissing = missing == null ? "" : missing;
        return missing;
    }

    /** Skips each test, naming what is missing, when the hosts could not be made (CI fails in makeHosts). */
    @BeforeEach
    void requireHosts() throws Exception {
        if (whatIsMissing() != null) {
            Assumptions.abort(skipMessage());
        }
    }

    private static String skipMessage() throws Exception {
        return "multi-host tests need network namespaces; missing: " + whatIsMissing();
    }

    @AfterEach
    void cleanUp() throws Exception {
        if (daemon == null) {
            return; // skipped
        }
        for (Peer p : peers) {
            p.stop();
        }
        for (EventRecorder r : recorders) {
            r.close();
        }
        for (String id : sockets) {
            stub().close(CloseRequest.newBuilder().setSocketId(id).build());
        }
        assertThat(daemon.openSockets()).isZero();
    }

    // ---------------------------------------------------------------- tests

    @Test
    void unicastBetweenADaemonSocketAndAnotherHost() throws Exception {
        Peer peer = startPeer(NS1, "echo", PEER1, 0, null);
        String a = create(false);
        EventRecorder events = events(a);
        int portA = bind(a, HOST, 0).getPort();
        events.next(EventCase.LISTENING);

        send(a, "ping-from-daemon", PEER1, peer.port);
        assertThat(peer.nextLine("message ")).isEqualTo("message " + HOST + " " + portA + " ping-from-daemon");
        Message echo = events.next(EventCase.MESSAGE).getMessage();
        assertThat(echo.getData().toStringUtf8()).isEqualTo("echo:ping-from-daemon");
        assertThat(echo.getRinfo().getAddress()).isEqualTo(PEER1);
        assertThat(echo.getRinfo().getFamily()).isEqualTo("IPv4");
        assertThat(echo.getRinfo().getPort()).isEqualTo(peer.port);

        // Connected to the other host: sends need no address, and answers come back.
        AddressInfo remote = stub().connect(ConnectRequest.newBuilder().setSocketId(a).setPort(peer.port)
                .setAddress(PEER1).build()).getRemote();
        assertThat(remote.getAddress()).isEqualTo(PEER1);
        assertThat(events.next(EventCase.CONNECT).getConnect().getRemote()).isEqualTo(remote);
        stub().send(SendRequest.newBuilder().setSocketId(a).setData(ByteString.copyFromUtf8("connected")).build());
        assertThat(peer.nextLine("message ")).isEqualTo("message " + HOST + " " + portA + " connected");
        assertThat(events.next(EventCase.MESSAGE).getMessage().getData().toStringUtf8()).isEqualTo("echo:connected");
    }

    @Test
    void multicastGroupJoinedOnTheDaemonsInterfaceReceivesFromAnotherHost() throws Exception {
        String group = "239.77.0.10";
        String m = create(false);
        EventRecorder events = events(m);
        int port = bind(m, "", 0).getPort(); // all interfaces: a socket bound to a unicast address gets no group traffic
        events.next(EventCase.LISTENING);
        stub().addMembership(AddMembershipRequest.newBuilder().setSocketId(m).setMulticastAddress(group)
                .setInterfaceAddress(HOST).build());

        Peer sender = startSender(NS1, PEER1, PEER1, new Send(group, port, "to-group-from-ns1"));
        sender.awaitExit();
        Message got = events.next(EventCase.MESSAGE).getMessage();
        assertThat(got.getData().toStringUtf8()).isEqualTo("to-group-from-ns1");
        assertThat(got.getRinfo().getAddress()).isEqualTo(PEER1);
        assertThat(got.getRinfo().getPort()).isEqualTo(sender.port);

        // After dropMembership the group's traffic no longer arrives: the same sender sends to the group,
        // then a unicast marker; the marker must be the next message.
        stub().dropMembership(DropMembershipRequest.newBuilder().setSocketId(m).setMulticastAddress(group)
                .setInterfaceAddress(HOST).build());
        startSender(NS1, PEER1, PEER1, new Send(group, port, "to-group-after-drop"), new Send(HOST, port, "marker"))
                .awaitExit();
        assertThat(events.next(EventCase.MESSAGE).getMessage().getData().toStringUtf8()).isEqualTo("marker");
    }

    @Test
    void sourceSpecificMembershipAdmitsOnlyItsSource() throws Exception {
        String group = "232.77.0.20";
        // Two daemon sockets on one port: one joined to (ns1, group) only, one to the group from any source.
        String ssm = create(true);
        EventRecorder ssmEvents = events(ssm);
        int port = bind(ssm, "", 0).getPort();
        String any = create(true);
        EventRecorder anyEvents = events(any);
        bind(any, "", port);
        stub().addSourceSpecificMembership(AddSourceSpecificMembershipRequest.newBuilder().setSocketId(ssm)
                .setSourceAddress(PEER1).setGroupAddress(group).setInterfaceAddress(HOST).build());
        stub().addMembership(AddMembershipRequest.newBuilder().setSocketId(any).setMulticastAddress(group)
                .setInterfaceAddress(HOST).build());
        ssmEvents.next(EventCase.LISTENING);
        anyEvents.next(EventCase.LISTENING);

        // ns2 sends first (and is done), then ns1.
        startSender(NS2, PEER2, PEER2, new Send(group, port, "from-ns2")).awaitExit();
        startSender(NS1, PEER1, PEER1, new Send(group, port, "from-ns1")).awaitExit();

        // ns2's datagram did reach the host: the any-source member got both, in order...
        Message first = anyEvents.next(EventCase.MESSAGE).getMessage();
        assertThat(first.getData().toStringUtf8()).isEqualTo("from-ns2");
        assertThat(first.getRinfo().getAddress()).isEqualTo(PEER2);
        assertThat(anyEvents.next(EventCase.MESSAGE).getMessage().getData().toStringUtf8()).isEqualTo("from-ns1");
        // ... but the source-specific member's first message is ns1's: ns2's was filtered out.
        Message admitted = ssmEvents.next(EventCase.MESSAGE).getMessage();
        assertThat(admitted.getData().toStringUtf8()).isEqualTo("from-ns1");
        assertThat(admitted.getRinfo().getAddress()).isEqualTo(PEER1);
    }

    @Test
    void broadcastOnTheSubnetReachesEveryHostAndComesIn() throws Exception {
        int peerPort = 47_700; // free: the namespaces are new
        Peer one = startPeer(NS1, "listen", "0.0.0.0", peerPort, null);
        Peer two = startPeer(NS2, "listen", "0.0.0.0", peerPort, null);
        String b = create(false);
        int portB = bind(b, HOST, 0).getPort();

        // As Node: no broadcast without setBroadcast(true).
        DaemonTestBase.expectError("EACCES", Status.Code.PERMISSION_DENIED,
                () -> send(b, "not-allowed", SUBNET_BROADCAST, peerPort));
        stub().setBroadcast(SetBroadcastRequest.newBuilder().setSocketId(b).setFlag(true).build());
        send(b, "broadcast-from-daemon", SUBNET_BROADCAST, peerPort);
        String expected = "message " + HOST + " " + portB + " broadcast-from-daemon";
        assertThat(one.nextLine("message ")).isEqualTo(expected);
        assertThat(two.nextLine("message ")).isEqualTo(expected);

        // A peer's subnet broadcast reaches a daemon socket bound to all interfaces.
        String r = create(false);
        EventRecorder events = events(r);
        int portR = bind(r, "", 0).getPort();
        events.next(EventCase.LISTENING);
        Peer sender = startPeer(NS1, "send", PEER1, 0,
                "{\"broadcast\":true,\"sends\":[" + new Send(SUBNET_BROADCAST, portR, "broadcast-from-ns1").json() + "]}");
        sender.awaitExit();
        Message got = events.next(EventCase.MESSAGE).getMessage();
        assertThat(got.getData().toStringUtf8()).isEqualTo("broadcast-from-ns1");
        assertThat(got.getRinfo().getAddress()).isEqualTo(PEER1);
    }

    /**
     * A route whose MTU (1,280) is below the segment size makes the kernel refuse a segmented send
     * (EMSGSIZE): the daemon sends the run again datagram by datagram (each fragmented by the kernel,
     * as Node's would be), every send succeeds, the peer gets each datagram whole and in order, and
     * the socket gathers no more.
     */
    @Test
    void aSegmentedSendTheRouteRefusesIsSentAgainDatagramByDatagram() throws Exception {
        ip("route", "add", PEER1 + "/32", "dev", BRIDGE, "mtu", "1280");
        try {
            Peer peer = startPeer(NS1, "listen", PEER1, 0, null);
            String a = create(false);
            int portA = bind(a, HOST, 0).getPort();
            long segmented = daemon.totals().datagramsSegmented();

            for (int size : new int[] {1400, 1000}) {
                List<String> texts = new ArrayList<>();
                for (int i = 0; i < 10; i++) {
                    String head = "run" + size + "-" + i + "-";
                    texts.add(head + "x".repeat(size - head.length()));
                }
                assertThat(sendStream(a, PEER1, peer.port, texts)).as("bytes sent, %d-byte run", size)
                        .containsOnly(size);
                for (String text : texts) {
                    assertThat(peer.nextLine("message ")).isEqualTo("message " + HOST + " " + portA + " " + text);
                }
            }
            assertThat(daemon.totals().datagramsSegmented()).as("datagrams sent segmented").isEqualTo(segmented);
        } finally {
            run("ip", "route", "del", PEER1 + "/32", "dev", BRIDGE);
        }
    }

    // ---------------------------------------------------------------- daemon helpers

    private static DgramGrpc.DgramBlockingStub stub() {
        return stub.withDeadlineAfter(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }

    private String create(boolean reuseAddr) {
        String id = stub().createSocket(CreateSocketRequest.newBuilder().setType(SocketType.SOCKET_TYPE_UDP4)
                .setReuseAddr(reuseAddr).build()).getSocketId();
        sockets.add(id);
        return id;
    }

    private EventRecorder events(String id) {
        EventRecorder r = EventRecorder.subscribe(async, id);
        recorders.add(r);
        return r;
    }

    private static AddressInfo bind(String id, String address, int port) {
        return stub().bind(BindRequest.newBuilder().setSocketId(id).setAddress(address).setPort(port).build())
                .getAddress();
    }

    private static void send(String id, String text, String address, int port) throws Exception {
        onTestNet(address);
        int bytes = stub().send(SendRequest.newBuilder().setSocketId(id).setData(ByteString.copyFromUtf8(text))
                .setAddress(address).setPort(port).build()).getBytes();
        assertThat(bytes).isEqualTo(text.length());
    }

    /** Sends {@code texts} to {@code address}:{@code port} in one SendStream batch; the bytes each sent. */
    private static List<Integer> sendStream(String id, String address, int port, List<String> texts) throws Exception {
        onTestNet(address);
        SendStreamRequest.Builder batch = SendStreamRequest.newBuilder().setSocketId(id);
        for (int i = 0; i < texts.size(); i++) {
            batch.addDatagrams(OutboundDatagram.newBuilder().setId(i).setData(ByteString.copyFromUtf8(texts.get(i)))
                    .setAddress(address).setPort(port));
        }
        Integer[] bytes = new Integer[texts.size()];
        CompletableFuture<Void> answered = new CompletableFuture<>();
        StreamObserver<SendStreamRequest> requests = async.withDeadlineAfter(TIMEOUT_SECONDS, TimeUnit.SECONDS)
                .sendStream(new StreamObserver<>() {
                    int left = texts.size();

                    @Override
                    public void onNext(SendStreamResponse response) {
                        for (SendResult r : response.getResultsList()) {
                            if (r.hasError()) {
                                answered.completeExceptionally(new AssertionError("send " + r.getId() + ": " + r.getError()));
                            }
                            bytes[(int) r.getId()] = r.getBytes();
                            left--;
                        }
                        if (left == 0) {
                            answered.complete(null);
                        }
                    }

                    @Override
                    public void onError(Throwable t) {
                        answered.completeExceptionally(t);
                    }

                    @Override
                    public void onCompleted() {
                        answered.completeExceptionally(new AssertionError("the send stream ended early"));
                    }
                });
        requests.onNext(batch.build());
        try {
            answered.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } finally {
            requests.onCompleted();
        }
        return List.of(bytes);
    }

    /** Stops the test unless {@code address} is on the test network or a group it uses. */
    private static void onTestNet(String address) throws Exception {
        byte[] a = InetAddress.getByName(address).getAddress(); // literals only: no lookup
        boolean testNet = a.length == 4 && a[0] == 10 && a[1] == 77 && a[2] == 0;
        boolean group = a.length == 4 && (a[0] & 0xff) >= 224 && (a[0] & 0xff) <= 239;
        if (!testNet && !group) {
            throw new IllegalStateException("not on the test network: " + address);
        }
    }

    // ---------------------------------------------------------------- peers

    /** One datagram a sending peer sends. */
    private record Send(String address, int port, String text) {
        String json() {
            return "{\"address\":\"" + address + "\",\"port\":" + port + ",\"text\":\"" + text + "\"}";
        }
    }

    /** A peer that sends {@code sends} in order (multicast out of {@code multicastInterface}, TTL 1) and exits. */
    private Peer startSender(String ns, String bindAddress, String multicastInterface, Send... sends) throws Exception {
        StringBuilder json = new StringBuilder("{\"multicastInterface\":\"" + multicastInterface + "\",\"sends\":[");
        for (int i = 0; i < sends.length; i++) {
            json.append(i > 0 ? "," : "").append(sends[i].json());
        }
        return startPeer(ns, "send", bindAddress, 0, json.append("]}").toString());
    }

    private Peer startPeer(String ns, String mode, String bindAddress, int port, String options) throws Exception {
        if (options != null && options.contains("\"sends\"")) {
            for (String token : options.split("\"address\":\"")) {
                if (Character.isDigit(token.charAt(0))) {
                    onTestNet(token.substring(0, token.indexOf('"')));
                }
            }
        }
        List<String> command = new ArrayList<>(List.of("ip", "netns", "exec", ns, "node", "-e", PEER_SCRIPT, mode,
                bindAddress, Integer.toString(port)));
        if (options != null) {
            command.add(options);
        }
        Process process = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        Peer peer = new Peer(ns + " " + mode, process);
        peers.add(peer);
        String ready = peer.nextLine("ready ");
        peer.port = Integer.parseInt(ready.substring("ready ".length()).trim());
        return peer;
    }

    /** A running peer process; its output lines are queued as they come. */
    private static final class Peer {
        final String name;
        final Process process;
        final LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();
        final StringBuilder all = new StringBuilder();
        int port;

        Peer(String name, Process process) {
            this.name = name;
            this.process = process;
            Thread reader = new Thread(() -> {
                try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(),
                        StandardCharsets.UTF_8))) {
                    for (String line = in.readLine(); line != null; line = in.readLine()) {
                        synchronized (all) {
                            all.append(line).append('\n');
                        }
                        lines.add(line);
                    }
                } catch (IOException ignored) {
                    // the process is gone
                }
            }, "peer " + name);
            reader.setDaemon(true);
            reader.start();
        }

        /** The next line that starts with {@code prefix}; an "error"/"timeout" line, or none in time, fails. */
        String nextLine(String prefix) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(TIMEOUT_SECONDS);
            while (true) {
                String line = lines.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                if (line == null) {
                    fail("peer %s: no '%s' line within %d s; output so far:%n%s", name, prefix, TIMEOUT_SECONDS, output());
                }
                if (line.startsWith(prefix)) {
                    return line;
                }
                if (line.startsWith("error") || line.startsWith("timeout")) {
                    fail("peer %s: %s; output:%n%s", name, line, output());
                }
            }
        }

        /** Waits for a sending peer to finish: it has sent everything. */
        void awaitExit() throws Exception {
            nextLine("sent");
            assertThat(process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)).as("peer %s exits", name).isTrue();
            assertThat(process.exitValue()).as("exit code of peer %s; output:%n%s", name, output()).isZero();
        }

        String output() {
            synchronized (all) {
                return all.toString();
            }
        }

        void stop() throws InterruptedException {
            if (process.isAlive()) {
                process.destroyForcibly();
                process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            }
        }
    }

    // ---------------------------------------------------------------- commands

    private record Result(int exitCode, String output) {}

    /** Runs {@code ip args}; fails the setup when it fails. */
    private static void ip(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("ip"));
        command.addAll(List.of(args));
        Result r = run(command.toArray(String[]::new));
        if (r.exitCode != 0) {
            throw new AssertionError(String.join(" ", command) + " failed (" + r.exitCode + "): " + r.output.trim());
        }
    }

    /** Runs a short command, output (stdout and stderr) to a file, killed after the timeout. */
    private static Result run(String... command) throws Exception {
        Path out = Files.createTempFile("dgramd-multihost", ".out");
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(out.toFile()).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .start();
            if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS);
                return new Result(-1, String.join(" ", command) + ": timed out");
            }
            return new Result(p.exitValue(), Files.readString(out));
        } finally {
            Files.deleteIfExists(out);
        }
    }

    private static boolean onPath(String command) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, command))) {
                return true;
            }
        }
        return false;
    }
}
