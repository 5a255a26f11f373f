package dev.dgramd.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import dev.dgramd.daemon.ExternalTools.Result;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * Runs examples/node/demo.js, a client written from dgramd.proto alone, against an in-process daemon:
 * {@code npm ci}, then {@code node demo.js HOST:PORT}, which must exit 0 and print "demo ok".
 *
 * <p>Without node or npm on the PATH the test is skipped, except when the environment variable CI is
 * set: there a missing Node.js is a failure, so CI cannot pass without running the example.
 */
class NodeExampleIT {
    private static final Path EXAMPLE = ExternalTools.ROOT.resolve("examples/node");
    private static final Duration NPM_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration NODE_TIMEOUT = Duration.ofSeconds(30);

    @Test
    void demoRunsEndToEnd() throws Exception {
        assertThat(EXAMPLE.resolve("demo.js")).as("the Node.js example").isRegularFile();
        ExternalTools.npmCi(EXAMPLE, NPM_TIMEOUT, "run the Node.js example " + EXAMPLE);

        // The built-in default policy, as the compose sidecar runs the example: a Node user's first
        // multicast program works on a daemon started with no flags.
        try (Dgramd daemon = Dgramd.start(new DgramdOptions().listen("127.0.0.1:0"))) {
            Result demo = ExternalTools.run(EXAMPLE, NODE_TIMEOUT, "node", "demo.js", daemon.target());
            System.out.println("node demo.js " + daemon.target() + ":\n" + demo.output());
            assertThat(demo.exitCode()).as("exit code of node demo.js; output:%n%s", demo.output()).isZero();
            assertThat(demo.output()).as("output of node demo.js").contains("demo ok");
            assertThat(daemon.openSockets()).as("sockets left open by the demo").isZero();
        }
    }
}
