package dev.dgramd.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import dev.dgramd.daemon.ExternalTools.Result;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Runs examples/python/client.py, a client generated from the .proto files alone, against an
 * in-process daemon: first the README's {@code python3 -m grpc_tools.protoc} into target/ (nothing
 * generated is committed), then {@code python3 client.py HOST:PORT}, which must exit 0 and print
 * "client ok" after create, bind, send, receive, multicast, an ErrorInfo-decoded error and close.
 *
 * <p>The interpreter is the first of {@code python3} on the PATH and /usr/bin/python3 that imports
 * grpc and grpc_tools. Without one the test is skipped, except when the environment variable CI is
 * set: there it is a failure ({@code .ci/run} installs python3-grpcio and python3-grpc-tools).
 */
class PythonExampleIT {
    private static final Path EXAMPLE = ExternalTools.ROOT.resolve("examples/python");
    private static final Path GENERATED = Path.of("target", "python-generated").toAbsolutePath();
    private static final Duration PROTOC_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration CLIENT_TIMEOUT = Duration.ofSeconds(60);

    @Test
    void clientRunsEndToEnd() throws Exception {
        assertThat(EXAMPLE.resolve("client.py")).as("the Python example").isRegularFile();
        String python = python().orElse(null);
        if (python == null) {
            ExternalTools.missing("no python3 (on the PATH, or /usr/bin/python3) imports grpc and grpc_tools: cannot"
                    + " run the Python example " + EXAMPLE + ". Install them: apt-get install python3-grpcio"
                    + " python3-grpc-tools (Debian), or pip install grpcio grpcio-tools.");
        }

        deleteRecursively(GENERATED);
        Files.createDirectories(GENERATED);
        Result protoc = ExternalTools.run(EXAMPLE, PROTOC_TIMEOUT, python, "-m", "grpc_tools.protoc",
                "-I", ExternalTools.ROOT.resolve("proto/src/main/proto").toString(), "-I", ".",
                "--python_out=" + GENERATED, "--grpc_python_out=" + GENERATED,
                "dgramd/v1/dgramd.proto", "dgramd/v1/admin.proto", "rpc_details.proto");
        assertThat(protoc.exitCode()).as("exit code of grpc_tools.protoc; output:%n%s", protoc.output()).isZero();

        // The built-in default policy: multicast works on a daemon started with no flags.
        try (Dgramd daemon = Dgramd.start(new DgramdOptions().listen("127.0.0.1:0"))) {
            Result client = ExternalTools.run(EXAMPLE, CLIENT_TIMEOUT,
                    Map.of("DGRAMD_GENERATED", GENERATED.toString(), "PYTHONDONTWRITEBYTECODE", "1"),
                    python, "client.py", daemon.target());
            System.out.println(python + " client.py " + daemon.target() + ":\n" + client.output());
            assertThat(client.exitCode()).as("exit code of client.py; output:%n%s", client.output()).isZero();
            assertThat(client.output()).as("output of client.py").contains("client ok");
            assertThat(daemon.openSockets()).as("sockets left open by the client").isZero();
        }
    }

    /** The first interpreter that has grpcio and grpcio-tools. */
    private static Optional<String> python() throws Exception {
        List<Path> candidates = Stream.of(ExternalTools.onPath("python3"), Optional.of(Path.of("/usr/bin/python3")))
                .flatMap(Optional::stream).filter(Files::isExecutable).distinct().toList();
        for (Path candidate : candidates) {
            Result probe = ExternalTools.run(ExternalTools.ROOT, Duration.ofSeconds(30), candidate.toString(), "-c",
                    "import grpc, grpc_tools.protoc");
            if (probe.exitCode() == 0) {
                return Optional.of(candidate.toString());
            }
        }
        return Optional.empty();
    }

    private static void deleteRecursively(Path dir) throws Exception {
        if (Files.exists(dir)) {
            try (Stream<Path> paths = Files.walk(dir)) {
                for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
        }
    }
}
