package dev.dgramd.daemon;

import static dev.dgramd.daemon.DaemonTestBase.expectError;
import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.google.protobuf.ByteString;
import com.google.rpc.ErrorInfo;
import dev.dgramd.daemon.policy.Policy;
import dev.dgramd.proto.v1.AddMembershipRequest;
import dev.dgramd.proto.v1.BindRequest;
import dev.dgramd.proto.v1.CloseRequest;
import dev.dgramd.proto.v1.ConnectRequest;
import dev.dgramd.proto.v1.CreateSocketRequest;
import dev.dgramd.proto.v1.DgramGrpc;
import dev.dgramd.proto.v1.SendRequest;
import dev.dgramd.proto.v1.SetBroadcastRequest;
import dev.dgramd.proto.v1.SetMulticastInterfaceRequest;
import dev.dgramd.proto.v1.SocketEvent;
import dev.dgramd.proto.v1.SocketType;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.NettyChannelBuilder;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * The policy as a caller meets it: through gRPC on a real daemon, with real UDP. Each refusal is
 * a Node-style code (EACCES, ENOBUFS, EMSGSIZE, EMFILE) under PERMISSION_DENIED or
 * RESOURCE_EXHAUSTED, with the rule in ErrorInfo metadata "policy", and one audit line.
 */
class PolicyEnforcementTest {
    private static final long TIMEOUT_SECONDS = DaemonTestBase.TIMEOUT_SECONDS;

    private Dgramd daemon;
    private ManagedChannel channel;
    private DgramGrpc.DgramBlockingStub stub;
    private DgramGrpc.DgramStub async;
    private final ListAppender<ILoggingEvent> audit = new ListAppender<>();

    private void start(Policy policy) throws Exception {
        daemon = Dgramd.start(new DgramdOptions().listen("127.0.0.1:0").policy(policy));
        channel = NettyChannelBuilder.forTarget(daemon.target()).usePlaintext().build();
        stub = DgramGrpc.newBlockingStub(channel);
        async = DgramGrpc.newStub(channel);
        audit.start();
        ((Logger) LoggerFactory.getLogger("dgramd.audit")).addAppender(audit);
    }

    @AfterEach
    void stop() throws Exception {
        ((Logger) LoggerFactory.getLogger("dgramd.audit")).detachAppender(audit);
        if (channel != null) {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        if (daemon != null) {
            daemon.close();
        }
    }

    private DgramGrpc.DgramBlockingStub stub() {
        return stub.withDeadlineAfter(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }

    private String create(SocketType type) {
        return stub().createSocket(CreateSocketRequest.newBuilder().setType(type).build()).getSocketId();
    }

    private void send(String id, int port, String address, byte[] data) {
        stub().send(SendRequest.newBuilder().setSocketId(id).setPort(port).setAddress(address)
                .setData(ByteString.copyFrom(data)).build());
    }

    private static DatagramSocket peer() throws Exception {
        DatagramSocket s = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        s.setSoTimeout((int) TimeUnit.SECONDS.toMillis(TIMEOUT_SECONDS));
        return s;
    }

    private String auditLines() {
        StringBuilder all = new StringBuilder();
        for (ILoggingEvent e : audit.list) {
            all.append(e.getFormattedMessage()).append('\n');
        }
        return all.toString();
    }

    /** docker/hardened-policy.yaml, the policy for a daemon shared by many principals. */
    private static Policy hardened() throws Exception {
        return Policy.load(Path.of("..", "docker", "hardened-policy.yaml"));
    }

    @Test
    void hardenedPolicyRefusesPrivilegedPortsAndSaysWhy() throws Exception {
        start(hardened());
        String id = create(SocketType.SOCKET_TYPE_UDP4);
        EventRecorder events = EventRecorder.subscribe(async, id);
        ErrorInfo info = expectError("EACCES", Status.Code.PERMISSION_DENIED, () -> stub().bind(
                BindRequest.newBuilder().setSocketId(id).setPort(80).setAddress("127.0.0.1").build()));
        assertThat(info.getMetadataMap()).containsEntry("syscall", "bind").containsKey("policy");
        // As for any failed bind, Node's 'error' event too.
        assertThat(events.next(SocketEvent.EventCase.ERROR).getError().getError().getCode()).isEqualTo("EACCES");
        // The socket is still usable: an allowed bind works afterwards.
        int port = stub().bind(BindRequest.newBuilder().setSocketId(id).setPort(0).setAddress("127.0.0.1").build())
                .getAddress().getPort();
        assertThat(port).isGreaterThanOrEqualTo(1024);
        assertThat(auditLines()).contains("audit: refused", "principal=anonymous", "socket=" + id, "op=bind",
                "code=EACCES");
        events.close();
    }

    @Test
    void defaultPolicyRefusesLinkLocalDestinationsEvenThroughIpv4MappedAddresses() throws Exception {
        start(Policy.defaults());
        String v4 = create(SocketType.SOCKET_TYPE_UDP4);
        ErrorInfo info = expectError("EACCES", Status.Code.PERMISSION_DENIED,
                () -> send(v4, 80, "169.254.169.254", new byte[] {1}));
        assertThat(info.getMetadataMap()).containsEntry("syscall", "send").containsEntry("address", "169.254.169.254")
                .containsKey("policy");
        expectError("EACCES", Status.Code.PERMISSION_DENIED, () -> stub().connect(ConnectRequest.newBuilder()
                .setSocketId(v4).setPort(80).setAddress("169.254.169.254").build()));
        String v6 = create(SocketType.SOCKET_TYPE_UDP6);
        expectError("EACCES", Status.Code.PERMISSION_DENIED,
                () -> send(v6, 80, "::ffff:169.254.169.254", new byte[] {1}));
        expectError("EACCES", Status.Code.PERMISSION_DENIED, () -> send(v6, 80, "fe80::1", new byte[] {1}));
    }

    @Test
    void defaultPolicyRefusesLinkLocalCarriedInNat64SixToFourAndIpv4CompatibleDestinations() throws Exception {
        start(Policy.defaults());
        String v6 = create(SocketType.SOCKET_TYPE_UDP6);
        for (String to : new String[] {"64:ff9b::a9fe:a9fe", "2002:a9fe:a9fe::1", "::169.254.169.254"}) {
            ErrorInfo info = expectError("EACCES", Status.Code.PERMISSION_DENIED,
                    () -> send(v6, 80, to, new byte[] {1}));
            assertThat(info.getMetadataMap().get("policy")).as(to)
                    .contains("carries 169.254.169.254").contains("destinations.deny 169.254.0.0/16");
        }
        expectError("EACCES", Status.Code.PERMISSION_DENIED, () -> stub().connect(ConnectRequest.newBuilder()
                .setSocketId(v6).setPort(80).setAddress("64:ff9b::a9fe:a9fe").build()));
    }

    @Test
    void refusedDatagramsNeverLeaveWhileAllowedOnesDo() throws Exception {
        try (DatagramSocket denied = peer(); DatagramSocket allowed = peer()) {
            start(Policy.parse("""
                    default:
                      destinations:
                        deny: ["127.0.0.1 %d"]
                    """.formatted(denied.getLocalPort()), "test-policy"));
            String id = create(SocketType.SOCKET_TYPE_UDP4);
            expectError("EACCES", Status.Code.PERMISSION_DENIED,
                    () -> send(id, denied.getLocalPort(), "127.0.0.1", "secret".getBytes()));
            send(id, allowed.getLocalPort(), "127.0.0.1", "fine".getBytes());
            DatagramPacket got = new DatagramPacket(new byte[64], 64);
            allowed.receive(got);
            assertThat(new String(got.getData(), 0, got.getLength())).isEqualTo("fine");
            // Sends leave in order: the allowed one arrived, so a leaked refused one would be waiting.
            denied.setSoTimeout(1);
            assertThat(receivedAnything(denied)).as("refused datagram arrived").isFalse();
        }
    }

    private static boolean receivedAnything(DatagramSocket s) throws Exception {
        try {
            s.receive(new DatagramPacket(new byte[64], 64));
            return true;
        } catch (java.net.SocketTimeoutException e) {
            return false;
        }
    }

    @Test
    void underTheHardenedPolicyBroadcastAndMulticastNeedAGrant() throws Exception {
        start(hardened());
        String id = create(SocketType.SOCKET_TYPE_UDP4);
        stub().bind(BindRequest.newBuilder().setSocketId(id).setPort(0).setAddress("127.0.0.1").build());
        expectError("EACCES", Status.Code.PERMISSION_DENIED, () -> stub().setBroadcast(
                SetBroadcastRequest.newBuilder().setSocketId(id).setFlag(true).build()));
        // Turning broadcast off is always allowed.
        stub().setBroadcast(SetBroadcastRequest.newBuilder().setSocketId(id).setFlag(false).build());
        expectError("EACCES", Status.Code.PERMISSION_DENIED, () -> stub().addMembership(AddMembershipRequest.newBuilder()
                .setSocketId(id).setMulticastAddress("239.1.2.3").setInterfaceAddress("127.0.0.1").build()));
        expectError("EACCES", Status.Code.PERMISSION_DENIED, () -> send(id, 5000, "239.1.2.3", new byte[] {1}));
    }

    @Test
    void theDefaultPolicyAllowsWhatNodeAllows() throws Exception {
        start(Policy.defaults());
        // Node's multicast loopback example: join a group on 127.0.0.1, send to it, receive it.
        String receiver = create(SocketType.SOCKET_TYPE_UDP4);
        int port = stub().bind(BindRequest.newBuilder().setSocketId(receiver).setPort(0).setAddress("").build())
                .getAddress().getPort();
        EventRecorder events = EventRecorder.subscribe(async, receiver);
        events.next(SocketEvent.EventCase.LISTENING);
        stub().addMembership(AddMembershipRequest.newBuilder().setSocketId(receiver).setMulticastAddress("239.255.7.7")
                .setInterfaceAddress("127.0.0.1").build());
        String sender = create(SocketType.SOCKET_TYPE_UDP4);
        stub().bind(BindRequest.newBuilder().setSocketId(sender).setPort(0).setAddress("").build());
        stub().setMulticastInterface(SetMulticastInterfaceRequest.newBuilder().setSocketId(sender)
                .setInterfaceAddress("127.0.0.1").build());
        send(sender, port, "239.255.7.7", "to the group".getBytes());
        assertThat(events.next(SocketEvent.EventCase.MESSAGE).getMessage().getData().toStringUtf8())
                .isEqualTo("to the group");
        events.close();
        // Broadcast is the kernel's to allow once SO_BROADCAST is on, as in Node.
        stub().setBroadcast(SetBroadcastRequest.newBuilder().setSocketId(sender).setFlag(true).build());
        // A port below 1024: the kernel decides (root may bind it, others get the kernel's EACCES,
        // never the policy's).
        String low = create(SocketType.SOCKET_TYPE_UDP4);
        for (int candidate = 1000; candidate > 900; candidate--) {
            int p = candidate;
            try {
                assertThat(stub().bind(BindRequest.newBuilder().setSocketId(low).setPort(p).setAddress("127.0.0.1")
                        .build()).getAddress().getPort()).isEqualTo(p);
                break;
            } catch (io.grpc.StatusRuntimeException e) {
                ErrorInfo info = DaemonTestBase.errorInfo(e);
                assertThat(info.getMetadataMap()).as("a low port is never the policy's to refuse: %s", e)
                        .doesNotContainKey("policy");
                if (!info.getReason().equals("EADDRINUSE")) {
                    assertThat(info.getReason()).isEqualTo("EACCES");
                    break;
                }
            }
        }
        assertThat(auditLines()).doesNotContain("audit: refused");
    }

    @Test
    void allowedMulticastGroupsAndBroadcastWork() throws Exception {
        start(Policy.parse("""
                default:
                  broadcast: true
                  multicast:
                    groups: ["239.1.0.0/16"]
                """, "test-policy"));
        String id = create(SocketType.SOCKET_TYPE_UDP4);
        stub().bind(BindRequest.newBuilder().setSocketId(id).setPort(0).setAddress("0.0.0.0").build());
        stub().setBroadcast(SetBroadcastRequest.newBuilder().setSocketId(id).setFlag(true).build());
        stub().addMembership(AddMembershipRequest.newBuilder().setSocketId(id).setMulticastAddress("239.1.2.3")
                .setInterfaceAddress("127.0.0.1").build());
        expectError("EACCES", Status.Code.PERMISSION_DENIED, () -> stub().addMembership(AddMembershipRequest.newBuilder()
                .setSocketId(id).setMulticastAddress("239.2.0.1").setInterfaceAddress("127.0.0.1").build()));
    }

    @Test
    void socketQuotaIsPerPrincipalAndFreedOnClose() throws Exception {
        start(Policy.parse("""
                default:
                  quotas: {maxSockets: 2}
                """, "test-policy"));
        String first = create(SocketType.SOCKET_TYPE_UDP4);
        create(SocketType.SOCKET_TYPE_UDP4);
        ErrorInfo info = expectError("EMFILE", Status.Code.RESOURCE_EXHAUSTED, () -> create(SocketType.SOCKET_TYPE_UDP4));
        assertThat(info.getMetadataMap()).containsKey("policy");
        stub().close(CloseRequest.newBuilder().setSocketId(first).build());
        create(SocketType.SOCKET_TYPE_UDP4);
        assertThat(daemon.openSockets()).isEqualTo(2);
        assertThat(auditLines()).contains("op=createSocket", "code=EMFILE");
    }

    @Test
    void payloadAndRateQuotas() throws Exception {
        try (DatagramSocket sink = peer()) {
            start(Policy.parse("""
                    default:
                      quotas: {maxPayload: 100, datagramsPerSecond: 5}
                    """, "test-policy"));
            String id = create(SocketType.SOCKET_TYPE_UDP4);
            expectError("EMSGSIZE", Status.Code.RESOURCE_EXHAUSTED,
                    () -> send(id, sink.getLocalPort(), "127.0.0.1", new byte[101]));
            // A burst of one second's worth passes, then the bucket is empty: ENOBUFS, as a full kernel queue.
            int sent = 0;
            int refused = 0;
            for (int i = 0; i < 20; i++) {
                try {
                    send(id, sink.getLocalPort(), "127.0.0.1", new byte[10]);
                    sent++;
                } catch (io.grpc.StatusRuntimeException e) {
                    assertThat(DaemonTestBase.errorInfo(e).getReason()).isEqualTo("ENOBUFS");
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
                    refused++;
                }
            }
            // 20 unary round trips take well under a second here, so at most 5 + a refill of ~1-2.
            assertThat(sent).isBetween(5, 10);
            assertThat(refused).isEqualTo(20 - sent);
            for (int i = 0; i < sent; i++) {
                sink.receive(new DatagramPacket(new byte[64], 64));
            }
            // A burst of refusals is summarised, not logged line by line.
            assertThat(audit.list.size()).isLessThan(refused);
        }
    }
}
