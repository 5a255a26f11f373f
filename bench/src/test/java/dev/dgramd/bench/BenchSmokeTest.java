package dev.dgramd.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Guards the bench harness, not performance: the echo and control scenarios in --quick mode
 * against an in-process daemon produce positive figures, a table and a JSON file; the cold
 * scenario (fresh client JVMs, each trial on a fresh daemon) produces its rows. The Node
 * baseline is skipped where node is missing, unless CI is set (then node is required).
 */
class BenchSmokeTest {
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void echoAndControlQuick() throws Exception {
        boolean ci = System.getenv("CI") != null && !System.getenv("CI").isBlank()
                && !"false".equalsIgnoreCase(System.getenv("CI"));
        boolean node = Env.probeNode("node") != null;
        if (!node && ci) {
            fail("node (v20) is required on CI: the bench's Node baseline cannot run");
        }
        Path out = Path.of("target", "bench-smoke");
        Options o = Options.parse("--scenarios", "echo,control", "--quick", "--in-process-daemon",
                "--out", out.toString());
        o.noNode = !node;

        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        BenchMain.Result r;
        try (PrintStream ps = new PrintStream(buf, true, StandardCharsets.UTF_8)) {
            r = BenchMain.run(o, ps);
        }
        String table = buf.toString(StandardCharsets.UTF_8);
        System.out.println(table);

        assertThat(r.failures()).isEmpty();
        List<String> impls = new ArrayList<>(node ? List.of("node", "dgramd", "netty") : List.of("dgramd", "netty"));
        // The Node.js drop-in's row, when its dependencies are installed (NodeDropInIT's npm ci does it).
        if (node && Files.isDirectory(Path.of("..", "node", "node_modules", "@grpc", "grpc-js"))) {
            impls.add("dgramd-node");
        }
        for (String scenario : List.of("echo p50", "echo p99")) {
            for (String impl : impls) {
                assertThat(r.rows()).as(scenario + " " + impl)
                        .anySatisfy(row -> {
                            assertThat(row.scenario).isEqualTo(scenario);
                            assertThat(row.impl).isEqualTo(impl);
                            assertThat(row.figure).isPositive();
                        });
            }
        }
        for (String scenario : List.of("control c=1", "control c=8")) {
            for (String impl : node ? List.of("node", "dgramd", "dgramd-loop") : List.of("dgramd", "dgramd-loop")) {
                assertThat(r.rows()).as(scenario + " " + impl)
                        .anySatisfy(row -> {
                            assertThat(row.scenario).isEqualTo(scenario);
                            assertThat(row.impl).isEqualTo(impl);
                            assertThat(row.figure).isPositive();
                        });
            }
        }
        if (node) {
            assertThat(r.rows()).filteredOn(row -> row.impl.equals("dgramd"))
                    .allSatisfy(row -> assertThat(row.ratio).isNotNull().isPositive());
        }
        assertThat(table).contains("scenario", "echo p50", "control c=1", "cpu-s/M");
        assertThat(r.json()).exists();
        String json = Files.readString(r.json(), StandardCharsets.UTF_8);
        assertThat(Json.parseObject(json)).containsKeys("meta", "rows", "targets", "failures");
    }

    /**
     * The wiring only: the daemon listens on a socket file, and that file is the target the
     * bench's clients are given. Clients over a Unix domain socket are the client's and the
     * daemon's own tests.
     */
    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void withUnixSocketASpawnedDaemonListensOnAUnixDomainSocket() throws Exception {
        Options o = Options.parse("--unix-socket", "--no-node", "--out",
                Path.of("target", "bench-smoke-unix").toString());
        try (Env env = new Env(o, "unix-" + System.currentTimeMillis())) { // a log file of its own
            Daemon daemon = env.cleanup().add(env.startDaemon("daemon-unix", 0));
            assertThat(daemon.target()).startsWith("unix:/");
            Path file = Path.of(daemon.target().substring("unix:".length()));
            assertThat(Files.exists(file)).as("%s exists", file).isTrue();
            assertThat(Files.isRegularFile(file)).as("%s is a socket, not a file", file).isFalse();
        }
    }

    @Test
    void withDaemonJavaTheSpawnedDaemonRunsOnThatJava() throws Exception {
        // a java that marks the JVMs it starts, so that the daemon's own arguments tell which ran it
        Path java = Files.createDirectories(Path.of("target", "bench-smoke-java")).resolve("java");
        Files.writeString(java, "#!/bin/sh\nexec '" + ProcessHandle.current().info().command().orElseThrow()
                + "' -Ddgramd.bench.viaDaemonJava=true \"$@\"\n", StandardCharsets.UTF_8);
        assertThat(java.toFile().setExecutable(true)).isTrue();
        Options o = Options.parse("--daemon-java", java.toAbsolutePath().toString(), "--no-node", "--out",
                Path.of("target", "bench-smoke-java").toString());
        try (Env env = new Env(o, "java-" + System.currentTimeMillis())) { // a log file of its own
            Daemon daemon = env.cleanup().add(env.startDaemon("daemon-java", 0));
            String[] args = ProcessHandle.of(daemon.pid()).orElseThrow().info().arguments().orElseThrow();
            assertThat(args).contains("-Ddgramd.bench.viaDaemonJava=true");
        }
    }

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void coldQuick() throws Exception {
        boolean node = Env.probeNode("node") != null;
        Path out = Path.of("target", "bench-smoke-cold");
        Options o = Options.parse("--scenarios", "cold", "--quick", "--in-process-daemon", "--out", out.toString());
        o.noNode = !node;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        BenchMain.Result r;
        try (PrintStream ps = new PrintStream(buf, true, StandardCharsets.UTF_8)) {
            r = BenchMain.run(o, ps);
        }
        String table = buf.toString(StandardCharsets.UTF_8);
        System.out.println(table);

        assertThat(r.failures()).isEmpty();
        for (String impl : node ? List.of("node", "dgramd") : List.of("dgramd")) {
            assertThat(r.rows()).as("cold in " + impl).anySatisfy(row -> {
                assertThat(row.scenario).isEqualTo("cold in");
                assertThat(row.impl).isEqualTo(impl);
                assertThat((List<?>) row.details.get("trials")).isNotEmpty();
            });
            assertThat(r.rows()).as("cold out " + impl).anySatisfy(row -> {
                assertThat(row.scenario).isEqualTo("cold out");
                assertThat(row.impl).isEqualTo(impl);
                assertThat(row.figure).isPositive();
            });
            assertThat(r.rows()).as("cold start " + impl).anySatisfy(row -> {
                assertThat(row.scenario).isEqualTo("cold start");
                assertThat(row.impl).isEqualTo(impl);
                assertThat(row.figure).isPositive();
            });
        }
        assertThat(r.rows()).as("cold gc").anySatisfy(row -> assertThat(row.scenario).isEqualTo("cold gc"));
        assertThat(table).contains("cold in", "cold out", "load generator's own maximum");
        if (node) {
            assertThat(table).contains("cold out 64 B (fresh, 3 s): dgramd >= 0.8x node");
        }
    }
}
