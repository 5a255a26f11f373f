package dev.dgramd.daemon.auth;

import static dev.dgramd.daemon.auth.AuthTestSupport.SECONDS;
import static dev.dgramd.daemon.auth.AuthTestSupport.WHOAMI;
import static dev.dgramd.daemon.auth.AuthTestSupport.createAndCloseSocket;
import static dev.dgramd.daemon.auth.AuthTestSupport.failsWith;
import static dev.dgramd.daemon.auth.AuthTestSupport.plaintext;
import static dev.dgramd.daemon.auth.AuthTestSupport.reasonOf;
import static dev.dgramd.daemon.auth.AuthTestSupport.whoami;
import static dev.dgramd.daemon.auth.AuthTestSupport.withAuthorization;
import static dev.dgramd.daemon.auth.AuthTestSupport.withToken;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import dev.dgramd.daemon.Dgramd;
import dev.dgramd.daemon.DgramdOptions;
import dev.dgramd.daemon.policy.Policy;
import dev.dgramd.daemon.policy.PolicyException;
import dev.dgramd.daemon.auth.AuthTestSupport.LogCapture;
import dev.dgramd.daemon.auth.AuthTestSupport.WhoamiServer;
import dev.dgramd.proto.v1.AdminGrpc;
import dev.dgramd.proto.v1.StatsRequest;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bearer tokens: a daemon with --tokens-file refuses Dgram and Admin calls without a token of the
 * file, takes the token's principal, answers health and reflection without a token, and follows
 * edits of the file while it runs.
 */
class TokensTest {
    private static final String ALICE = "alice-0123456789abcdef";
    private static final String BOB = "bob-0123456789abcdef";
    private static final String CAROL = "carol-0123456789abcdef";

    @TempDir
    Path dir;

    private Path tokens;
    private Dgramd daemon;
    private ManagedChannel channel;

    @BeforeEach
    void start() throws IOException {
        tokens = write("tokens", "# who may use dgramd", "", ALICE + " alice", "  " + BOB + "\tbob  ");
        daemon = Dgramd.start(new DgramdOptions().listen("127.0.0.1:0").tokensFile(tokens).policy(bobIsAdmin()));
        channel = plaintext(daemon.target());
    }

    @AfterEach
    void stop() throws InterruptedException {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        daemon.close();
    }

    @Test
    void aCallWithoutAKnownTokenIsUnauthenticatedAndTheTokenIsNotEchoed() throws Exception {
        try (LogCapture log = new LogCapture(Authenticator.class)) {
            Status none = failsWith(Status.Code.UNAUTHENTICATED, () -> createAndCloseSocket(channel));
            assertThat(none.getDescription()).isEqualTo("missing or unknown bearer token");
            assertThat(log.await(m -> m.startsWith("audit: rejected dgramd.v1.Dgram/CreateSocket from /127.0.0.1:")))
                    .satisfies(e -> assertThat(e.getFormattedMessage()).endsWith(": no authorization header"));

            String wrong = "wrong-0123456789abcdef";
            Status unknown = failsWith(Status.Code.UNAUTHENTICATED, () -> createAndCloseSocket(withToken(channel, wrong)));
            assertThat(unknown.getDescription()).isEqualTo("missing or unknown bearer token");
            ILoggingEvent audit = log.await(m -> m.startsWith("audit: rejected"));
            assertThat(audit.getFormattedMessage()).endsWith(": unknown bearer token").doesNotContain(wrong);
            assertThat(audit.getLevel()).isEqualTo(Level.WARN);

            failsWith(Status.Code.UNAUTHENTICATED, () -> createAndCloseSocket(withAuthorization(channel, "Basic " + ALICE)));
            assertThat(log.await(m -> m.startsWith("audit: rejected")).getFormattedMessage())
                    .endsWith(": authorization is not 'Bearer <token>'").doesNotContain(ALICE);

            failsWith(Status.Code.UNAUTHENTICATED, () -> AdminGrpc.newBlockingStub(channel)
                    .withDeadlineAfter(SECONDS, TimeUnit.SECONDS).stats(StatsRequest.getDefaultInstance()));
        }
    }

    @Test
    void refusalsCarryAnErrorInfoToBranchOn() {
        assertThat(reasonOf(Status.Code.UNAUTHENTICATED, () -> createAndCloseSocket(channel)))
                .isEqualTo("ERR_DGRAMD_UNAUTHENTICATED");
        assertThat(reasonOf(Status.Code.UNAUTHENTICATED, () -> AdminGrpc.newBlockingStub(withToken(channel, CAROL))
                .withDeadlineAfter(SECONDS, TimeUnit.SECONDS).stats(StatsRequest.getDefaultInstance())))
                .isEqualTo("ERR_DGRAMD_UNAUTHENTICATED");
        assertThat(reasonOf(Status.Code.PERMISSION_DENIED, () -> AdminGrpc.newBlockingStub(withToken(channel, ALICE))
                .withDeadlineAfter(SECONDS, TimeUnit.SECONDS).stats(StatsRequest.getDefaultInstance())))
                .isEqualTo("ERR_DGRAMD_NOT_ADMIN");
    }

    private static Policy bobIsAdmin() {
        try {
            return Policy.parse("admins: [bob]", "test-policy");
        } catch (PolicyException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void aGoodTokenOpensDgramAndTheAdminsTokenAdmin() {
        createAndCloseSocket(withToken(channel, ALICE));
        createAndCloseSocket(withAuthorization(channel, "bearer " + BOB));
        assertThat(AdminGrpc.newBlockingStub(withToken(channel, BOB)).withDeadlineAfter(SECONDS, TimeUnit.SECONDS)
                .stats(StatsRequest.getDefaultInstance()).getVersion()).isNotEmpty();
        failsWith(Status.Code.PERMISSION_DENIED, () -> AdminGrpc.newBlockingStub(withToken(channel, ALICE))
                .withDeadlineAfter(SECONDS, TimeUnit.SECONDS).stats(StatsRequest.getDefaultInstance()));
    }

    @Test
    void healthAndReflectionNeedNoToken() throws Exception {
        assertThat(HealthGrpc.newBlockingStub(channel).withDeadlineAfter(SECONDS, TimeUnit.SECONDS)
                .check(HealthCheckRequest.newBuilder().setService("dgramd.v1.Dgram").build()).getStatus())
                .isEqualTo(ServingStatus.SERVING);

        CompletableFuture<ServerReflectionResponse> answer = new CompletableFuture<>();
        StreamObserver<ServerReflectionRequest> requests = ServerReflectionGrpc.newStub(channel)
                .withDeadlineAfter(SECONDS, TimeUnit.SECONDS).serverReflectionInfo(new StreamObserver<>() {
                    @Override
                    public void onNext(ServerReflectionResponse r) {
                        answer.complete(r);
                    }

                    @Override
                    public void onError(Throwable t) {
                        answer.completeExceptionally(t);
                    }

                    @Override
                    public void onCompleted() {
                    }
                });
        requests.onNext(ServerReflectionRequest.newBuilder().setListServices("").build());
        assertThat(answer.get(SECONDS, TimeUnit.SECONDS).getListServicesResponse().getServiceList())
                .anyMatch(s -> s.getName().equals("dgramd.v1.Dgram"));
        requests.onCompleted();
    }

    @Test
    void thePrincipalIsTheTokensName() throws Exception {
        try (WhoamiServer server = new WhoamiServer(new DgramdOptions().tokensFile(tokens), new dev.dgramd.daemon.grpc.AdminAccess())) {
            ManagedChannel c = plaintext(server.target());
            try {
                assertThat(whoami(withToken(c, ALICE), WHOAMI)).isEqualTo("alice");
                assertThat(whoami(withToken(c, BOB), WHOAMI)).isEqualTo("bob");
                failsWith(Status.Code.UNAUTHENTICATED, () -> whoami(c, WHOAMI));
            } finally {
                c.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
        }
    }

    @Test
    void anEditedFileIsReloadedWhileTheDaemonRuns() throws Exception {
        createAndCloseSocket(withToken(channel, ALICE));
        failsWith(Status.Code.UNAUTHENTICATED, () -> createAndCloseSocket(withToken(channel, CAROL)));
        try (LogCapture log = new LogCapture(TokensFile.class)) {
            Files.write(tokens, List.of(BOB + " bob", CAROL + " carol")); // edited in place
            assertThat(log.await(m -> m.contains("reloaded")).getFormattedMessage())
                    .isEqualTo("tokens file " + tokens + " reloaded: 2 principal(s), 2 token(s); removed alice,"
                            + " whose open calls end");
        }
        createAndCloseSocket(withToken(channel, CAROL));
        createAndCloseSocket(withToken(channel, BOB));
        failsWith(Status.Code.UNAUTHENTICATED, () -> createAndCloseSocket(withToken(channel, ALICE)));
    }

    @Test
    void aBadEditKeepsThePreviousTokens() throws Exception {
        try (LogCapture log = new LogCapture(TokensFile.class)) {
            replace(CAROL + " carol", "short carol");
            ILoggingEvent error = log.await(m -> m.contains("not reloaded"));
            assertThat(error.getLevel()).isEqualTo(Level.ERROR);
            assertThat(error.getFormattedMessage()).isEqualTo("tokens file " + tokens + " not reloaded, keeping the "
                    + "previous 2 token(s): " + tokens + ":2: the token of carol has 5 characters; at least 16 are required");
            createAndCloseSocket(withToken(channel, ALICE));
            failsWith(Status.Code.UNAUTHENTICATED, () -> createAndCloseSocket(withToken(channel, CAROL)));

            replace(CAROL + " carol");
            log.await(m -> m.contains("reloaded: 1 principal(s)"));
        }
        createAndCloseSocket(withToken(channel, CAROL));
        failsWith(Status.Code.UNAUTHENTICATED, () -> createAndCloseSocket(withToken(channel, ALICE)));
    }

    @Test
    void aBadVersionIsReportedOnceAndAMissingFileKeepsTheTokensToo() throws Exception {
        try (LogCapture log = new LogCapture(TokensFile.class);
             TokensFile file = TokensFile.open(tokens, java.time.Duration.ofHours(1))) { // polled by hand here
            List<java.util.Set<String>> removed = new java.util.ArrayList<>();
            file.onPrincipalsRemoved(removed::add);
            file.poll();
            assertThat(log.messages()).as("unchanged: nothing to say").isEmpty();

            replace("short carol");
            file.poll();
            file.poll();
            assertThat(log.messages()).singleElement().asString().contains("not reloaded, keeping the previous 2 token(s)");
            assertThat(file.principal(ALICE)).isEqualTo("alice");

            Files.delete(tokens);
            file.poll();
            file.poll();
            assertThat(log.messages()).singleElement().asString()
                    .isEqualTo("tokens file " + tokens + " not reloaded, keeping the previous 2 token(s): tokens file "
                            + tokens + ": no such file");
            assertThat(file.principal(BOB)).isEqualTo("bob");

            replace(CAROL + " carol");
            file.poll();
            assertThat(log.messages()).containsExactly("tokens file " + tokens + " reloaded: 1 principal(s), 1 token(s)"
                    + "; removed alice, bob, whose open calls end");
            assertThat(removed).as("told once, after the good version").containsExactly(java.util.Set.of("alice", "bob"));
            assertThat(file.principal(CAROL)).isEqualTo("carol");
            assertThat(file.principal(BOB)).isNull();
        }
    }

    @Test
    void malformedFilesFailTheStartWithFileAndLine() throws IOException {
        assertStartFails(write("short", ALICE + " alice", "# ok", "0123456789 bob"),
                ":3: the token of bob has 10 characters; at least 16 are required", "0123456789");
        assertStartFails(write("dup", ALICE + " alice", BOB + " bob", ALICE + " mallory"),
                ":3: the same token as line 1", ALICE);
        assertStartFails(write("three", ALICE + " alice admin"), ":1: expected '<token> <principal>', found 3 fields",
                ALICE);
        assertStartFails(write("one", "", ALICE), ":2: expected '<token> <principal>', found 1 field", ALICE);
        assertStartFails(write("latin", "tökentökentökentöken alice"),
                ":1: the token of alice has a character that is not printable ASCII", "tökentöken");
        Path missing = dir.resolve("absent");
        assertThatThrownBy(() -> Dgramd.start(new DgramdOptions().listen("127.0.0.1:0").tokensFile(missing)))
                .isInstanceOf(IOException.class).hasMessage("tokens file " + missing + ": no such file");
    }

    @Test
    void aFileThatOthersMayReadIsWarnedAbout() throws Exception {
        Path open = write("open", ALICE + " alice");
        Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rw-r--r--"));
        Path closed = write("closed", ALICE + " alice");
        Files.setPosixFilePermissions(closed, PosixFilePermissions.fromString("rw-r-----"));
        try (LogCapture log = new LogCapture(TokensFile.class)) {
            TokensFile.open(closed, Authentication.TOKENS_POLL).close();
            TokensFile.open(open, Authentication.TOKENS_POLL).close();
            ILoggingEvent warning = log.await(m -> m.contains("readable"));
            assertThat(warning.getLevel()).isEqualTo(Level.WARN);
            assertThat(warning.getFormattedMessage())
                    .isEqualTo("tokens file " + open + " is readable by every user (mode rw-r--r--): chmod o-r it");
            assertThat(log.messages()).noneMatch(m -> m.contains(closed.toString()));
        }
    }

    @Test
    void onlyDigestsAreKept() throws IOException {
        TokenTable table = TokenTable.parse(tokens, Files.readAllLines(tokens));
        assertThat(table.principal(ALICE)).isEqualTo("alice");
        assertThat(table.principal(ALICE + "x")).isNull();
        assertThat(table.principal(null)).isNull();
        assertThat(table.principals()).isEqualTo(2);
        assertThat(Authenticator.bearerToken("Bearer  " + ALICE + " ")).isEqualTo(ALICE);
        assertThat(Authenticator.bearerToken("Bearer")).isNull();
        assertThat(Authenticator.bearerToken("Bearer ")).isNull();
        assertThat(Authenticator.bearerToken(ALICE)).isNull();
    }

    // ---------------------------------------------------------------- helpers

    private void assertStartFails(Path file, String problem, String secret) {
        assertThatThrownBy(() -> Dgramd.start(new DgramdOptions().listen("127.0.0.1:0").tokensFile(file)).close())
                .isInstanceOf(IOException.class).hasMessage(file + problem)
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain(secret));
    }

    /** Replaces the tokens file with {@code lines} the safe way: a new file renamed over it. */
    private void replace(String... lines) throws IOException {
        Path next = dir.resolve("tokens.next");
        Files.write(next, List.of(lines));
        Files.move(next, tokens, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private Path write(String name, String... lines) throws IOException {
        Path file = dir.resolve(name);
        Files.write(file, List.of(lines));
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        return file;
    }
}
