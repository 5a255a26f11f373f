package dev.dgramd.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import dev.dgramd.daemon.policy.Policy;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Runs examples/node/demo.js, a client written from dgramd.proto alone, against an in-process daemon:
 * {@code npm ci}, then {@code node demo.js HOST:PORT}, which must exit 0 and print "demo ok".
 *
 * <p>Without node or npm on the PATH the test is skipped, except when the environment variable CI is
 * set: there a missing Node.js is a failure, so CI cannot pass without running the example.
 */
class NodeExampleIT {
    /** The example, from the daemon module's base directory (the working directory of the build). */
    private static final Path EXAMPLE = Path.of("..", "examples", "node").toAbsolutePath().normalize();
    private static final Duration NPM_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration NODE_TIMEOUT = Duration.ofSeconds(30);

    @Test
    void demoRunsEndToEnd() throws Exception {
        assertThat(EXAMPLE.resolve("demo.js")).as("the Node.js example").isRegularFile();
        NodeProcess.npmCi(EXAMPLE, NPM_TIMEOUT, "the Node.js example " + EXAMPLE);

        // The policy the compose sidecar runs the example with: the defaults plus its multicast group.
        Policy policy = Policy.load(EXAMPLE.resolve("../../docker/sidecar-policy.yaml").normalize());
        try (Dgramd daemon = Dgramd.start(new DgramdOptions().listen("127.0.0.1:0").policy(policy))) {
            NodeProcess.Result demo = NodeProcess.run(EXAMPLE, NODE_TIMEOUT, Map.of(), "node", "demo.js", daemon.target());
            System.out.println("node demo.js " + daemon.target() + ":\n" + demo.output());
            assertThat(demo.exitCode()).as("exit code of node demo.js; output:%n%s", demo.output()).isZero();
            assertThat(demo.output()).as("output of node demo.js").contains("demo ok");
            assertThat(daemon.openSockets()).as("sockets left open by the demo").isZero();
        }
    }
}
