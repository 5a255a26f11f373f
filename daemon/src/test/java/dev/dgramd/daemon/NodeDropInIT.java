package dev.dgramd.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import dev.dgramd.daemon.policy.Policy;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Runs the tests of node/, the drop-in for node:dgram, against an in-process daemon: {@code npm ci},
 * then {@code node --test test/dropin.test.js} with DGRAMD_TARGET naming the daemon; every test must
 * pass and the daemon must be left with no open socket. (Its hand-over tests start daemons of their
 * own from target/dgramd.jar, DGRAMD_JAR.)
 *
 * Also runs examples/node/dropin-demo.js end to end.
 *
 * <p>The daemon runs with node/test/node-tests-policy.yaml (what a process's own node:dgram may do:
 * broadcast, any group), the policy the package's harness for Node's own tests uses. Without node or
 * npm on the PATH the test is skipped, except when CI is set, where that is a failure.
 */
class NodeDropInIT {
    /** The package, from the daemon module's base directory (the working directory of the build). */
    private static final Path PACKAGE = Path.of("..", "node").toAbsolutePath().normalize();
    /** The daemon's jar, as the package phase made it (from the daemon module's base directory). */
    private static final Path DAEMON_JAR = Path.of("target", "dgramd.jar").toAbsolutePath();
    private static final Duration NPM_TIMEOUT = Duration.ofSeconds(90);
    private static final Duration TESTS_TIMEOUT = Duration.ofSeconds(300); // two hand-over tests start four JVMs
    private static final Duration DEMO_TIMEOUT = Duration.ofSeconds(30);

    @BeforeAll
    static void install() throws Exception {
        assertThat(PACKAGE.resolve("package.json")).as("the Node.js drop-in").isRegularFile();
        ExternalTools.npmCi(PACKAGE, NPM_TIMEOUT, "the tests of the Node.js drop-in " + PACKAGE);
    }

    @Test
    void packageTestsPassAgainstADaemon() throws Exception {
        Policy policy = Policy.load(PACKAGE.resolve("test/node-tests-policy.yaml"));
        // A short orphan grace: one test's child process exits with an unref'd socket still open (as
        // Node allows), which the daemon then closes once the grace has passed, long before the end.
        DgramdOptions options = new DgramdOptions().listen("127.0.0.1:0").policy(policy)
                .orphanGrace(Duration.ofMillis(200));
        try (Dgramd daemon = Dgramd.start(options)) {
            // DGRAMD_JAR: the hand-over tests start two daemons of their own from the jar this build
            // packaged (--hand-over-socket, then --take-over); named, a missing jar fails them.
            ExternalTools.Result tests = ExternalTools.run(PACKAGE, TESTS_TIMEOUT, Map.of("DGRAMD_TARGET", daemon.target(),
                            "DGRAMD_JAR", DAEMON_JAR.toString()),
                    "node", "--test", "--test-reporter=tap", "test/dropin.test.js");
            System.out.println("node --test test/dropin.test.js against " + daemon.target() + ":\n" + tests.output());
            assertThat(tests.exitCode()).as("exit code of node --test; output:%n%s", tests.output()).isZero();
            assertThat(tests.output()).as("the tests ran").contains("# pass ").contains("# fail 0");
            assertThat(daemon.openSockets()).as("sockets left open by the tests").isZero();
        }
    }

    /** examples/node/dropin-demo.js, demo.js's steps as a node:dgram program on the drop-in. */
    @Test
    void dropInDemoRunsEndToEnd() throws Exception {
        Path example = PACKAGE.resolve("../examples/node").normalize();
        // The built-in default policy: the demo's multicast works on a daemon started with no flags.
        try (Dgramd daemon = Dgramd.start(new DgramdOptions().listen("127.0.0.1:0"))) {
            ExternalTools.Result demo = ExternalTools.run(example, DEMO_TIMEOUT, Map.of(),
                    "node", "dropin-demo.js", daemon.target());
            System.out.println("node dropin-demo.js " + daemon.target() + ":\n" + demo.output());
            assertThat(demo.exitCode()).as("exit code of node dropin-demo.js; output:%n%s", demo.output()).isZero();
            assertThat(demo.output()).as("output of node dropin-demo.js").contains("demo ok");
            assertThat(daemon.openSockets()).as("sockets left open by the demo").isZero();
        }
    }
}
