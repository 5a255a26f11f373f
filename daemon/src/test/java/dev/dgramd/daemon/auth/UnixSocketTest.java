package dev.dgramd.daemon.auth;

import static dev.dgramd.daemon.auth.AuthTestSupport.SECONDS;
import static dev.dgramd.daemon.auth.AuthTestSupport.createAndCloseSocket;
import static dev.dgramd.daemon.auth.AuthTestSupport.failsWith;
import static dev.dgramd.daemon.auth.AuthTestSupport.withToken;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.dgramd.daemon.Dgramd;
import dev.dgramd.daemon.DgramdOptions;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The gRPC server on a Unix domain socket: dialled as unix:///PATH, mode 0660, stale files replaced. */
class UnixSocketTest {
    @TempDir
    Path dir;

    @Test
    void dgramCallsOverAUnixSocketWhoseModeIs0660() throws Exception {
        Path socket = dir.resolve("dgramd.sock");
        try (Dgramd daemon = Dgramd.start(new DgramdOptions().listen("unix:" + socket))) {
            assertThat(daemon.target()).isEqualTo("unix://" + socket);
            assertThat(daemon.port()).isEqualTo(-1);
            assertThat(daemon.address()).isNull();
            assertThat(daemon.unixSocket()).isEqualTo(socket);
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(socket))).isEqualTo("rw-rw----");
            assertThat(isSocket(socket)).isTrue();

            ManagedChannel channel = unix(daemon.target());
            try {
                createAndCloseSocket(channel);
                assertThat(HealthGrpc.newBlockingStub(channel).withDeadlineAfter(SECONDS, TimeUnit.SECONDS)
                        .check(HealthCheckRequest.getDefaultInstance()).getStatus()).isEqualTo(ServingStatus.SERVING);
            } finally {
                channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
        }
        assertThat(socket).as("removed on close").doesNotExist();
    }

    @Test
    void tokensApplyOverAUnixSocketToo() throws Exception {
        Path tokens = Files.write(dir.resolve("tokens"), List.of("unix-0123456789abcdef carol"));
        Files.setPosixFilePermissions(tokens, PosixFilePermissions.fromString("rw-------"));
        try (Dgramd daemon = Dgramd.start(new DgramdOptions().listen("unix://" + dir.resolve("t.sock"))
                .tokensFile(tokens))) {
            ManagedChannel channel = unix(daemon.target());
            try {
                failsWith(Status.Code.UNAUTHENTICATED, () -> createAndCloseSocket(channel));
                createAndCloseSocket(withToken(channel, "unix-0123456789abcdef"));
            } finally {
                channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
        }
    }

    @Test
    void aStaleSocketFileIsReplaced() throws Exception {
        Path socket = dir.resolve("stale.sock");
        try (ServerSocketChannel dead = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            dead.bind(UnixDomainSocketAddress.of(socket));
        } // closed, the file stays: as a daemon that died leaves it
        assertThat(isSocket(socket)).isTrue();
        try (Dgramd daemon = Dgramd.start(new DgramdOptions().listen("unix:" + socket))) {
            ManagedChannel channel = unix(daemon.target());
            try {
                createAndCloseSocket(channel);
            } finally {
                channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
        }
    }

    @Test
    void aSocketThatAProcessListensOnIsNotTaken() throws Exception {
        Path socket = dir.resolve("live.sock");
        try (ServerSocketChannel live = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            live.bind(UnixDomainSocketAddress.of(socket));
            assertThatThrownBy(() -> Dgramd.start(new DgramdOptions().listen("unix:" + socket)).close())
                    .isInstanceOf(IOException.class)
                    .hasMessage("unix socket " + socket + ": another process listens on it");
            assertThat(isSocket(socket)).isTrue();
        }
    }

    @Test
    void aPathThatIsNotASocketIsRefused() throws IOException {
        Path file = Files.writeString(dir.resolve("precious.txt"), "keep me");
        assertThatThrownBy(() -> Dgramd.start(new DgramdOptions().listen("unix:" + file)).close())
                .isInstanceOf(IOException.class)
                .hasMessage("unix socket " + file + ": exists and is not a socket; not replacing it");
        assertThat(file).hasContent("keep me");

        Path nowhere = dir.resolve("no/such/dir/d.sock");
        assertThatThrownBy(() -> Dgramd.start(new DgramdOptions().listen("unix:" + nowhere)).close())
                .isInstanceOf(IOException.class).hasMessage("unix socket " + nowhere + ": no directory " + nowhere.getParent());
    }

    @Test
    void theNioTransportCannotServeAUnixSocket() {
        Path socket = dir.resolve("nio.sock");
        assertThatThrownBy(() -> Dgramd.start(new DgramdOptions().listen("unix:" + socket).nativeTransport(false))
                .close()).isInstanceOf(IOException.class)
                .hasMessage("listen unix:" + socket + ": a unix socket needs the epoll transport, and this daemon runs on nio");
        assertThat(socket).doesNotExist();
    }

    @Test
    void unixAddressesParse() {
        assertThat(UnixSocket.path("unix:/run/d.sock")).isEqualTo(Path.of("/run/d.sock"));
        assertThat(UnixSocket.path("unix:///run/d.sock")).isEqualTo(Path.of("/run/d.sock"));
        assertThat(UnixSocket.path("unix:d.sock")).isEqualTo(Path.of("d.sock").toAbsolutePath());
        assertThat(UnixSocket.path("127.0.0.1:50051")).isNull();
        assertThat(UnixSocket.target(Path.of("/run/my dgramd/d.sock"))).isEqualTo("unix:///run/my%20dgramd/d.sock");
        assertThatThrownBy(() -> new DgramdOptions().listen("unix://host/run/d.sock"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("unix:/PATH or unix:///PATH");
        assertThatThrownBy(() -> new DgramdOptions().listen("unix:")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("listen address unix: has no socket path");
    }

    private static ManagedChannel unix(String target) {
        return Grpc.newChannelBuilder(target, InsecureChannelCredentials.create()).build();
    }

    private static boolean isSocket(Path p) throws IOException {
        return ((Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS) & 0170000) == 0140000;
    }
}
