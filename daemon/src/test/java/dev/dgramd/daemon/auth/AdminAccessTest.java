package dev.dgramd.daemon.auth;

import static dev.dgramd.daemon.auth.AuthTestSupport.ADMIN_WHOAMI;
import static dev.dgramd.daemon.auth.AuthTestSupport.WHOAMI;
import static dev.dgramd.daemon.auth.AuthTestSupport.failsWith;
import static dev.dgramd.daemon.auth.AuthTestSupport.plaintext;
import static dev.dgramd.daemon.auth.AuthTestSupport.whoami;
import static dev.dgramd.daemon.auth.AuthTestSupport.withToken;
import static org.assertj.core.api.Assertions.assertThat;

import dev.dgramd.daemon.DgramdOptions;
import dev.dgramd.daemon.auth.AuthTestSupport.LogCapture;
import dev.dgramd.daemon.auth.AuthTestSupport.WhoamiServer;
import dev.dgramd.daemon.grpc.AdminAccess;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link AdminAccess} sees the principal that authentication set, because authentication runs first:
 * an unauthenticated Admin call is UNAUTHENTICATED, an authenticated non-admin one PERMISSION_DENIED.
 */
class AdminAccessTest {
    @TempDir
    Path dir;

    @Test
    void onlyAdminsPassAndAuthenticationComesFirst() throws Exception {
        Path tokens = Files.write(dir.resolve("tokens"), List.of("admin-0123456789abc alice", "user-0123456789abcd bob"));
        Files.setPosixFilePermissions(tokens, PosixFilePermissions.fromString("rw-------"));
        try (LogCapture log = new LogCapture(AdminAccess.class);
             WhoamiServer server = new WhoamiServer(new DgramdOptions().tokensFile(tokens), new AdminAccess("alice"::equals))) {
            ManagedChannel channel = plaintext(server.target());
            try {
                assertThat(whoami(withToken(channel, "admin-0123456789abc"), ADMIN_WHOAMI)).isEqualTo("alice");
                assertThat(whoami(withToken(channel, "user-0123456789abcd"), WHOAMI)).isEqualTo("bob");

                Status denied = failsWith(Status.Code.PERMISSION_DENIED,
                        () -> whoami(withToken(channel, "user-0123456789abcd"), ADMIN_WHOAMI));
                assertThat(denied.getDescription()).isEqualTo("principal bob may not use the Admin service");
                assertThat(log.await(m -> m.startsWith("audit:")).getFormattedMessage())
                        .startsWith("audit: refused test.AdminWhoami/Get to principal bob from /127.0.0.1:");

                failsWith(Status.Code.UNAUTHENTICATED, () -> whoami(channel, ADMIN_WHOAMI));
            } finally {
                channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
        }
    }

    @Test
    void withoutAuthenticationEveryoneIsAnonymousAndAnAdminByDefault() throws Exception {
        try (WhoamiServer open = new WhoamiServer(new DgramdOptions(), new AdminAccess());
             WhoamiServer closed = new WhoamiServer(new DgramdOptions(), new AdminAccess(p -> false))) {
            ManagedChannel a = plaintext(open.target());
            ManagedChannel b = plaintext(closed.target());
            try {
                assertThat(whoami(a, WHOAMI)).isEqualTo(Principal.ANONYMOUS);
                assertThat(whoami(a, ADMIN_WHOAMI)).isEqualTo(Principal.ANONYMOUS);
                assertThat(failsWith(Status.Code.PERMISSION_DENIED, () -> whoami(b, ADMIN_WHOAMI)).getDescription())
                        .isEqualTo("principal anonymous may not use the Admin service");
            } finally {
                a.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
                b.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
        }
    }
}
