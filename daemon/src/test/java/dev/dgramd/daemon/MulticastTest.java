package dev.dgramd.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import com.google.rpc.ErrorInfo;
import dev.dgramd.proto.v1.AddMembershipRequest;
import dev.dgramd.proto.v1.AddSourceSpecificMembershipRequest;
import dev.dgramd.proto.v1.AddressInfo;
import dev.dgramd.proto.v1.AddressRequest;
import dev.dgramd.proto.v1.AddressResponse;
import dev.dgramd.proto.v1.BindRequest;
import dev.dgramd.proto.v1.DropMembershipRequest;
import dev.dgramd.proto.v1.Message;
import dev.dgramd.proto.v1.SendRequest;
import dev.dgramd.proto.v1.SetMulticastInterfaceRequest;
import dev.dgramd.proto.v1.SetMulticastLoopbackRequest;
import dev.dgramd.proto.v1.SetMulticastTtlRequest;
import dev.dgramd.proto.v1.SetTtlRequest;
import dev.dgramd.proto.v1.SocketEvent.EventCase;
import dev.dgramd.proto.v1.SocketType;
import io.grpc.Status;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * Multicast over the loopback interface (127.0.0.1), and the multicast/TTL socket options, with the
 * errors Node gives (checked against Node 20: each expected code below is what {@code node -e} printed).
 */
class MulticastTest extends DaemonTestBase {
    private static final String LO = "127.0.0.1";

    @Test
    void memberReceivesGroupTrafficUntilItDropsMembership() throws Exception {
        String group = "239.77.1.1";
        String a = create(SocketType.SOCKET_TYPE_UDP4);
        EventRecorder aEvents = events(a);
        AddressInfo aAddress = bind(a, 0, "");
        assertThat(aAddress.getAddress()).isEqualTo("0.0.0.0");
        aEvents.next(EventCase.LISTENING);
        stub().addMembership(join(a, group, LO));

        String b = multicastSender(LO);
        int portB = stub().address(AddressRequest.newBuilder().setSocketId(b).build()).getPort();

        send(b, "to-group", aAddress.getPort(), group);
        Message m = aEvents.next(EventCase.MESSAGE).getMessage();
        assertThat(m.getData().toStringUtf8()).isEqualTo("to-group");
        assertThat(m.getRinfo().getAddress()).isEqualTo(LO);
        assertThat(m.getRinfo().getFamily()).isEqualTo("IPv4");
        assertThat(m.getRinfo().getPort()).isEqualTo(portB);
        assertThat(m.getRinfo().getSize()).isEqualTo("to-group".length());

        stub().dropMembership(leave(a, group, LO));
        // Same sender, one after the other (each Send answers once the kernel took the datagram): if A
        // were still a member, "after-drop" would reach it before the unicast marker.
        send(b, "after-drop", aAddress.getPort(), group);
        send(b, "marker", aAddress.getPort(), LO);
        assertThat(aEvents.next(EventCase.MESSAGE).getMessage().getData().toStringUtf8()).isEqualTo("marker");
    }

    @Test
    void addMembershipOnUnboundSocketBindsItFirst() throws Exception {
        String group = "239.77.2.1";
        String a = create(SocketType.SOCKET_TYPE_UDP4);
        EventRecorder aEvents = events(a);
        stub().addMembership(join(a, group, LO));

        AddressInfo listening = aEvents.next(EventCase.LISTENING).getListening().getAddress();
        assertThat(listening.getAddress()).isEqualTo("0.0.0.0");
        assertThat(listening.getFamily()).isEqualTo("IPv4");
        assertThat(listening.getPort()).isNotZero();
        // AddressResponse has AddressInfo's fields and numbers: the bytes read as one are the same address.
        assertThat(AddressInfo.parseFrom(stub().address(AddressRequest.newBuilder().setSocketId(a).build()).toByteString()))
                .isEqualTo(listening);

        // ... and the membership is in force on the implicitly bound socket.
        String b = multicastSender(LO);
        send(b, "joined", listening.getPort(), group);
        assertThat(aEvents.next(EventCase.MESSAGE).getMessage().getData().toStringUtf8()).isEqualTo("joined");
    }

    @Test
    void sourceSpecificMembershipReceivesOnlyFromThatSource() throws Exception {
        String group = "232.77.3.1";
        String a = create(SocketType.SOCKET_TYPE_UDP4);
        EventRecorder aEvents = events(a);
        int portA = bind(a, 0, "").getPort();
        aEvents.next(EventCase.LISTENING);
        stub().addSourceSpecificMembership(AddSourceSpecificMembershipRequest.newBuilder().setSocketId(a)
                .setSourceAddress(LO).setGroupAddress(group).setInterfaceAddress(LO).build());

        String fromOther = multicastSender("127.0.0.2"); // source address 127.0.0.2: filtered out
        String fromSource = multicastSender(LO);
        int sourcePort = stub().address(AddressRequest.newBuilder().setSocketId(fromSource).build()).getPort();

        send(fromOther, "other-source", portA, group);
        send(fromSource, "right-source", portA, group);
        Message m = aEvents.next(EventCase.MESSAGE).getMessage();
        assertThat(m.getData().toStringUtf8()).isEqualTo("right-source");
        assertThat(m.getRinfo().getAddress()).isEqualTo(LO);
        assertThat(m.getRinfo().getPort()).isEqualTo(sourcePort);
    }

    @Test
    void joiningTwiceFailsWithEaddrinuse() throws Exception {
        String a = boundSocket();
        stub().addMembership(join(a, "239.77.4.1", LO));
        ErrorInfo e = expectError("EADDRINUSE", Status.Code.ALREADY_EXISTS,
                () -> stub().addMembership(join(a, "239.77.4.1", LO)));
        assertThat(e.getMetadataMap()).containsEntry("syscall", "addMembership").containsEntry("errno", "-98");
    }

    @Test
    void droppingAGroupNotJoinedFailsWithEaddrnotavail() throws Exception {
        String a = boundSocket();
        ErrorInfo e = expectError("EADDRNOTAVAIL", Status.Code.INVALID_ARGUMENT,
                () -> stub().dropMembership(leave(a, "239.77.5.1", LO)));
        assertThat(e.getMetadataMap()).containsEntry("syscall", "dropMembership").containsEntry("errno", "-99");

        // Joined then dropped: dropping again is "not joined" too.
        stub().addMembership(join(a, "239.77.5.2", LO));
        stub().dropMembership(leave(a, "239.77.5.2", LO));
        expectError("EADDRNOTAVAIL", Status.Code.INVALID_ARGUMENT,
                () -> stub().dropMembership(leave(a, "239.77.5.2", LO)));
    }

    @Test
    void joiningAUnicastAddressFailsWithEinval() throws Exception {
        String a = boundSocket();
        ErrorInfo e = expectError("EINVAL", Status.Code.INVALID_ARGUMENT,
                () -> stub().addMembership(join(a, "127.0.0.1", LO)));
        assertThat(e.getMetadataMap()).containsEntry("syscall", "addMembership").containsEntry("errno", "-22");
    }

    @Test
    void setMulticastInterfaceRejectsForeignAndMalformedAddresses() throws Exception {
        String a = boundSocket();
        ErrorInfo notLocal = expectError("EADDRNOTAVAIL", Status.Code.INVALID_ARGUMENT,
                () -> stub().setMulticastInterface(multicastInterface(a, "1.2.3.4")));
        assertThat(notLocal.getMetadataMap()).containsEntry("syscall", "setMulticastInterface")
                .containsEntry("errno", "-99");
        ErrorInfo malformed = expectError("EINVAL", Status.Code.INVALID_ARGUMENT,
                () -> stub().setMulticastInterface(multicastInterface(a, "zzz")));
        assertThat(malformed.getMetadataMap()).containsEntry("syscall", "setMulticastInterface")
                .containsEntry("errno", "-22");
        // A local interface address is accepted.
        stub().setMulticastInterface(multicastInterface(a, LO));
    }

    @Test
    void udp6SetMulticastInterfaceTakesScopedAnyAndRejectsEmpty() {
        String six = create(dev.dgramd.proto.v1.SocketType.SOCKET_TYPE_UDP6);
        stub().bind(dev.dgramd.proto.v1.BindRequest.newBuilder().setSocketId(six).setAddress("::1").build());
        stub().setMulticastInterface(multicastInterface(six, "::%lo"));
        stub().setMulticastInterface(multicastInterface(six, "::"));
        // test-dgram-multicast-set-interface.js: '' is EINVAL for udp6
        expectError("EINVAL", Status.Code.INVALID_ARGUMENT, () -> stub().setMulticastInterface(multicastInterface(six, "")));
        // An unknown interface name is scope 0, the default, as in Node (libuv's if_nametoindex).
        stub().setMulticastInterface(multicastInterface(six, "::%no-such-if"));
    }

    @Test
    void setTtlAcceptsOneTo255() throws Exception {
        String a = boundSocket();
        for (int bad : new int[] {0, 256}) {
            ErrorInfo e = expectError("EINVAL", Status.Code.INVALID_ARGUMENT, () -> stub().setTtl(ttl(a, bad)));
            assertThat(e.getMetadataMap()).as("ttl %d", bad).containsEntry("syscall", "setTTL");
        }
        assertThat(stub().setTtl(ttl(a, 64)).getTtl()).isEqualTo(64);
        assertThat(stub().setTtl(ttl(a, 1)).getTtl()).isEqualTo(1);
        assertThat(stub().setTtl(ttl(a, 255)).getTtl()).isEqualTo(255);
    }

    @Test
    void setMulticastTtlAcceptsZeroTo255() throws Exception {
        String a = boundSocket();
        ErrorInfo e = expectError("EINVAL", Status.Code.INVALID_ARGUMENT, () -> stub().setMulticastTtl(multicastTtl(a, 256)));
        assertThat(e.getMetadataMap()).containsEntry("syscall", "setMulticastTTL");
        expectError("EINVAL", Status.Code.INVALID_ARGUMENT, () -> stub().setMulticastTtl(multicastTtl(a, -1)));
        assertThat(stub().setMulticastTtl(multicastTtl(a, 0)).getTtl()).isEqualTo(0);
        assertThat(stub().setMulticastTtl(multicastTtl(a, 255)).getTtl()).isEqualTo(255);
    }

    @Test
    void setTtlOnUnboundSocketFailsWithEbadf() throws Exception {
        String a = create(SocketType.SOCKET_TYPE_UDP4);
        ErrorInfo e = expectError("EBADF", Status.Code.FAILED_PRECONDITION, () -> stub().setTtl(ttl(a, 64)));
        assertThat(e.getMetadataMap()).containsEntry("syscall", "setTTL").containsEntry("errno", "-9");
        // It did not bind the socket.
        expectError("EBADF", Status.Code.FAILED_PRECONDITION, () -> stub().address(AddressRequest.newBuilder().setSocketId(a).build()));
    }

    // ---------------------------------------------------------------- helpers

    private AddressInfo bind(String id, int port, String address) {
        return stub().bind(BindRequest.newBuilder().setSocketId(id).setPort(port).setAddress(address).build())
                .getAddress();
    }

    private String boundSocket() {
        String id = create(SocketType.SOCKET_TYPE_UDP4);
        bind(id, 0, "");
        return id;
    }

    /** A udp4 socket bound to {@code address}, sending multicast out of the loopback interface. */
    private String multicastSender(String address) {
        String id = create(SocketType.SOCKET_TYPE_UDP4);
        bind(id, 0, address);
        stub().setMulticastInterface(multicastInterface(id, LO));
        assertThat(stub().setMulticastLoopback(SetMulticastLoopbackRequest.newBuilder().setSocketId(id).setFlag(true).build())
                .getFlag()).isTrue();
        assertThat(stub().setMulticastTtl(multicastTtl(id, 1)).getTtl()).isEqualTo(1);
        return id;
    }

    private void send(String id, String text, int port, String address) {
        byte[] data = text.getBytes(StandardCharsets.UTF_8);
        int bytes = stub().send(SendRequest.newBuilder().setSocketId(id).setData(ByteString.copyFrom(data))
                .setPort(port).setAddress(address).build()).getBytes();
        assertThat(bytes).isEqualTo(data.length);
    }

    private static AddMembershipRequest join(String id, String group, String iface) {
        return AddMembershipRequest.newBuilder().setSocketId(id).setMulticastAddress(group).setInterfaceAddress(iface)
                .build();
    }

    private static DropMembershipRequest leave(String id, String group, String iface) {
        return DropMembershipRequest.newBuilder().setSocketId(id).setMulticastAddress(group).setInterfaceAddress(iface)
                .build();
    }

    private static SetMulticastInterfaceRequest multicastInterface(String id, String iface) {
        return SetMulticastInterfaceRequest.newBuilder().setSocketId(id).setInterfaceAddress(iface).build();
    }

    private static SetTtlRequest ttl(String id, int ttl) {
        return SetTtlRequest.newBuilder().setSocketId(id).setTtl(ttl).build();
    }

    private static SetMulticastTtlRequest multicastTtl(String id, int ttl) {
        return SetMulticastTtlRequest.newBuilder().setSocketId(id).setTtl(ttl).build();
    }
}
