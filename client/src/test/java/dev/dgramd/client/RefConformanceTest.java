package dev.dgramd.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * ref()/unref() in child JVMs: a ref'd bound socket keeps the JVM alive as it keeps a Node
 * process alive; an unbound, unref'd or closed one does not.
 */
class RefConformanceTest extends DaemonFixture {
    static final long EXIT_BOUND_MS = 20_000;
    static final long STAYS_ALIVE_MS = 2_500;

    /** Starts one child per mode (in parallel) and asserts each exits on its own. */
    private void assertExits(String... modes) throws Exception {
        List<ChildJvm> children = start(modes);
        try {
            for (int i = 0; i < modes.length; i++) {
                ChildJvm child = children.get(i);
                child.awaitLine("READY", 20);
                assertThat(child.exitsWithin(EXIT_BOUND_MS)).as("child '%s' exits", modes[i]).isTrue();
                assertThat(child.process.exitValue()).isZero();
            }
        } finally {
            for (ChildJvm c : children) {
                c.close();
            }
        }
    }

    /** Starts one child per mode (in parallel) and asserts none exits; then kills them. */
    private void assertStaysAlive(String... modes) throws Exception {
        List<ChildJvm> children = start(modes);
        try {
            for (ChildJvm child : children) {
                child.awaitLine("READY", 20);
            }
            for (int i = 0; i < modes.length; i++) {
                assertThat(children.get(i).exitsWithin(i == 0 ? STAYS_ALIVE_MS : 0))
                        .as("child '%s' exits", modes[i]).isFalse();
            }
        } finally {
            for (ChildJvm c : children) {
                c.close();
            }
        }
    }

    private List<ChildJvm> start(String... modes) throws Exception {
        List<ChildJvm> children = new ArrayList<>();
        for (String mode : modes) {
            children.add(new ChildJvm(RefChild.class, daemon.target(), mode));
        }
        return children;
    }

    @Test
    @DisplayName("test-dgram-ref.js: an unbound socket does not keep the JVM alive")
    void unboundDoesNotHang() throws Exception {
        assertExits("unbound");
    }

    @Test
    @DisplayName("test-dgram-ref.js: a ref'd bound socket keeps the JVM alive (also after unref().ref())")
    void refedBoundKeepsAlive() throws Exception {
        assertStaysAlive("bound", "bound-unref-ref");
    }

    @Test
    @DisplayName("test-dgram-unref.js: an unref'd bound socket lets the JVM exit")
    void unrefLetsExit() throws Exception {
        assertExits("bound-unref", "unref-then-bind");
    }

    @Test
    @DisplayName("test-dgram-ref.js: a closed socket lets the JVM exit; ref() after close is harmless")
    void closedLetsExit() throws Exception {
        assertExits("bound-close");
        Socket s = udp4();
        java.util.concurrent.CompletableFuture<Socket> refed = new java.util.concurrent.CompletableFuture<>();
        s.close(() -> refed.complete(s.ref()));
        assertThat(await(refed)).isSameAs(s);
    }
}
