package dev.dgramd.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** Ports of Node's socket option and multicast tests (test/parallel/test-dgram-*.js). */
class OptionsConformanceTest extends DaemonFixture {

    Socket boundUdp4() {
        Socket s = udp4();
        bound(s, null);
        return s;
    }

    @Test
    @DisplayName("test-dgram-setTTL.js: setTTL(16) returns 16; 1000 and 0 throw setTTL EINVAL; unbound EBADF")
    void setTtl() {
        assertThat(thrown(() -> udp4().setTTL(16)).getMessage()).isEqualTo("setTTL EBADF");
        Socket s = boundUdp4();
        assertThat(s.setTTL(16)).isEqualTo(16);
        assertThat(s.setTTL(1)).isEqualTo(1);
        assertThat(s.setTTL(255)).isEqualTo(255);
        for (int bad : new int[] {1000, 0, 256, -1}) {
            DgramException e = thrown(() -> s.setTTL(bad));
            assertThat(e.code()).isEqualTo("EINVAL");
            assertThat(e.getMessage()).isEqualTo("setTTL EINVAL");
            assertThat(e.syscall()).isEqualTo("setTTL");
        }
    }

    @Test
    @DisplayName("test-dgram-multicast-setTTL.js: setMulticastTTL 0..255; 1000 throws setMulticastTTL EINVAL")
    void setMulticastTtl() {
        assertCode(() -> udp4().setMulticastTTL(16), "EBADF");
        Socket s = boundUdp4();
        assertThat(s.setMulticastTTL(16)).isEqualTo(16);
        assertThat(s.setMulticastTTL(0)).isZero();
        assertThat(s.setMulticastTTL(255)).isEqualTo(255);
        for (int bad : new int[] {1000, 256, -1}) {
            DgramException e = thrown(() -> s.setMulticastTTL(bad));
            assertThat(e.code()).isEqualTo("EINVAL");
            assertThat(e.getMessage()).isEqualTo("setMulticastTTL EINVAL");
        }
    }

    @Test
    @DisplayName("test-dgram-setBroadcast.js: EBADF when unbound; set and clear when bound")
    void setBroadcast() {
        DgramException e = thrown(() -> udp4().setBroadcast(true));
        assertThat(e.code()).isEqualTo("EBADF");
        assertThat(e.getMessage()).isEqualTo("setBroadcast EBADF");
        Socket s = boundUdp4();
        s.setBroadcast(true);
        s.setBroadcast(false);
    }

    @Test
    @DisplayName("test-dgram-multicast-loopback.js: EBADF when unbound; returns the flag when bound")
    void multicastLoopback() {
        assertThat(thrown(() -> udp4().setMulticastLoopback(true)).getMessage())
                .isEqualTo("setMulticastLoopback EBADF");
        Socket s = boundUdp4();
        assertThat(s.setMulticastLoopback(true)).isTrue();
        assertThat(s.setMulticastLoopback(false)).isFalse();
    }

    @Test
    @DisplayName("test-dgram-socket-buffer-size.js: unbound ERR_SOCKET_BUFFER_SIZE; negative BAD_BUFFER_SIZE; set/get")
    void bufferSizes() {
        Socket unbound = udp4();
        for (Runnable call : new Runnable[] {() -> unbound.setSendBufferSize(8192),
                unbound::getSendBufferSize}) {
            DgramException e = thrown(call);
            assertThat(e.code()).isEqualTo("ERR_SOCKET_BUFFER_SIZE");
            assertThat(e.getMessage()).isEqualTo("Could not get or set buffer size: "
                    + "uv_send_buffer_size returned EBADF (bad file descriptor)");
            assertThat(e.syscall()).isEqualTo("uv_send_buffer_size");
        }
        assertThat(thrown(() -> unbound.setRecvBufferSize(8192)).syscall())
                .isEqualTo("uv_recv_buffer_size");
        assertCode(unbound::getRecvBufferSize, "ERR_SOCKET_BUFFER_SIZE");
        Socket s = boundUdp4();
        DgramException bad = thrown(() -> s.setRecvBufferSize(-1));
        assertThat(bad.code()).isEqualTo("ERR_SOCKET_BAD_BUFFER_SIZE");
        assertThat(bad.getMessage()).isEqualTo("Buffer size must be a positive integer");
        assertCode(() -> s.setSendBufferSize(-1), "ERR_SOCKET_BAD_BUFFER_SIZE");
        s.setRecvBufferSize(10000);
        s.setSendBufferSize(10000);
        assertThat(s.getRecvBufferSize()).isIn(10000, 20000);
        assertThat(s.getSendBufferSize()).isIn(10000, 20000);
    }

    @Test
    @DisplayName("test-dgram-multicast-set-interface.js: 0.0.0.0 ok; non-unicast throws; NOT_RUNNING after close")
    void setMulticastInterface() {
        Socket s = boundUdp4();
        s.setMulticastInterface("0.0.0.0");
        s.setMulticastInterface("127.0.0.1");
        assertThat(thrown(() -> s.setMulticastInterface("224.0.0.2")).code()).isNotEmpty();
        assertCode(() -> s.setMulticastInterface(null), "ERR_INVALID_ARG_TYPE");
        CompletableFuture<DgramException> afterClose = new CompletableFuture<>();
        s.close(() -> afterClose.complete(thrown(() -> s.setMulticastInterface("0.0.0.0"))));
        assertThat(await(afterClose).code()).isEqualTo("ERR_SOCKET_DGRAM_NOT_RUNNING");
    }

    @Test
    @DisplayName("test-dgram-multicast-set-interface.js: udp6 rejects 'undefined' with EINVAL")
    void setMulticastInterfaceUdp6() {
        Socket s = udp6();
        bound(s, null);
        assertThat(thrown(() -> s.setMulticastInterface("undefined")).code()).isEqualTo("EINVAL");
        s.setMulticastInterface("::%lo");
    }

    @Test
    @DisplayName("test-dgram-membership.js: closed NOT_RUNNING, missing MISSING_ARGS, invalid EINVAL, SSM arg types")
    void membership() {
        String group = "224.0.0.114";
        Socket closed = track(dgram.createSocket(new SocketOptions().type("udp4").reuseAddr(true)));
        CompletableFuture<DgramException[]> afterClose = new CompletableFuture<>();
        closed.close(() -> afterClose.complete(new DgramException[] {
                thrown(() -> closed.addMembership(group)), thrown(() -> closed.dropMembership(group))}));
        for (DgramException e : await(afterClose)) {
            assertThat(e.code()).isEqualTo("ERR_SOCKET_DGRAM_NOT_RUNNING");
        }
        Socket s = track(dgram.createSocket(new SocketOptions().type("udp4").reuseAddr(true)));
        DgramException missing = thrown(() -> s.addMembership(null));
        assertThat(missing.code()).isEqualTo("ERR_MISSING_ARGS");
        assertThat(missing.getMessage()).isEqualTo("The \"multicastAddress\" argument must be specified");
        assertCode(() -> s.dropMembership(""), "ERR_MISSING_ARGS");
        DgramException inval = thrown(() -> s.addMembership("256.256.256.256"));
        assertThat(inval.code()).isEqualTo("EINVAL");
        assertThat(inval.getMessage()).isEqualTo("addMembership EINVAL");
        assertThat(thrown(() -> s.dropMembership("256.256.256.256")).getMessage())
                .isEqualTo("dropMembership EINVAL");
        assertCode(() -> s.addSourceSpecificMembership(null, group), "ERR_INVALID_ARG_TYPE");
        assertCode(() -> s.addSourceSpecificMembership(group, null), "ERR_INVALID_ARG_TYPE");
        assertThat(thrown(() -> s.addSourceSpecificMembership(group, "0")).getMessage())
                .isEqualTo("addSourceSpecificMembership EINVAL");
        assertCode(() -> s.dropSourceSpecificMembership(null, group), "ERR_INVALID_ARG_TYPE");
        assertThat(thrown(() -> s.dropSourceSpecificMembership(group, "0")).getMessage())
                .isEqualTo("dropSourceSpecificMembership EINVAL");
    }

    @Test
    @DisplayName("test-dgram-multicast-multi-process.js (loopback): a datagram to a joined group on 127.0.0.1 arrives")
    void multicastOnLoopback() {
        String group = "239.255.0.77";
        Socket receiver = track(dgram.createSocket(new SocketOptions().type("udp4").reuseAddr(true)));
        CompletableFuture<Object[]> got = new CompletableFuture<>();
        receiver.on("message", (msg, rinfo) -> got.complete(new Object[] {msg, rinfo}));
        int port = bound(receiver, null);
        receiver.addMembership(group, "127.0.0.1");
        Socket sender = udp4();
        int senderPort = bound(sender, "127.0.0.1");
        sender.setMulticastInterface("127.0.0.1");
        assertThat(sender.setMulticastLoopback(true)).isTrue();
        assertThat(sender.setMulticastTTL(1)).isEqualTo(1);
        for (int i = 0; i < 3; i++) {
            sender.send("multicast", port, group);
        }
        Object[] m = await(got);
        assertThat(new String((byte[]) m[0], StandardCharsets.UTF_8)).isEqualTo("multicast");
        assertThat(((RemoteInfo) m[1]).port()).isEqualTo(senderPort);
        receiver.dropMembership(group, "127.0.0.1");
        assertThat(thrown(() -> receiver.dropMembership(group, "127.0.0.1")).code())
                .isEqualTo("EADDRNOTAVAIL");
    }

    @Test
    @DisplayName("test-dgram-membership.js: addMembership() on an unbound socket binds it ('listening')")
    void addMembershipBindsImplicitly() {
        Socket s = track(dgram.createSocket(new SocketOptions().type("udp4").reuseAddr(true)));
        CompletableFuture<AddressInfo> listening = new CompletableFuture<>();
        s.on("listening", () -> listening.complete(s.address()));
        s.addMembership("239.255.0.78", "127.0.0.1");
        assertThat(await(listening).port()).isGreaterThan(0);
        assertCode(s::bind, "ERR_SOCKET_ALREADY_BOUND");
    }
}
