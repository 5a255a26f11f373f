package dev.dgramd.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import dev.dgramd.daemon.ExternalTools.Result;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The contract compiles in C++: protoc with grpc_cpp_plugin generates dgramd.proto and admin.proto
 * into target/, g++ compiles them with examples/cpp/contract_check.cc and links against gRPC and
 * protobuf (pkg-config grpc++ protobuf), and the program runs (it needs no daemon).
 *
 * <p>Without protoc, grpc_cpp_plugin, g++ or pkg-config's grpc++ the test is skipped, except when the
 * environment variable CI is set: there it is a failure ({@code .ci/run} installs protobuf-compiler,
 * protobuf-compiler-grpc, libprotobuf-dev, libgrpc++-dev, g++ and pkg-config).
 */
class CppContractIT {
    private static final Path EXAMPLE = ExternalTools.ROOT.resolve("examples/cpp");
    private static final Path GENERATED = Path.of("target", "cpp-generated").toAbsolutePath();
    private static final Duration PROTOC_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration COMPILE_TIMEOUT = Duration.ofMinutes(10); // two shared cores: about a minute
    private static final String INSTALL = "Install them: apt-get install protobuf-compiler protobuf-compiler-grpc"
            + " libprotobuf-dev libgrpc++-dev g++ pkg-config (Debian).";

    @Test
    void generatedCodeCompilesLinksAndRuns() throws Exception {
        for (String tool : List.of("protoc", "grpc_cpp_plugin", "g++", "pkg-config")) {
            ExternalTools.requireOnPath(tool, "compile the contract in C++", INSTALL);
        }
        Result flags = ExternalTools.run(EXAMPLE, PROTOC_TIMEOUT, "pkg-config", "--cflags", "--libs", "grpc++",
                "protobuf");
        if (flags.exitCode() != 0) {
            ExternalTools.missing("pkg-config knows no grpc++ or protobuf (" + flags.output().strip()
                    + "): cannot compile the contract in C++. " + INSTALL);
        }
        Files.createDirectories(GENERATED);
        Path plugin = ExternalTools.onPath("grpc_cpp_plugin").orElseThrow();
        Result protoc = ExternalTools.run(ExternalTools.ROOT, PROTOC_TIMEOUT, "protoc", "-I", "proto/src/main/proto",
                "--cpp_out=" + GENERATED, "--grpc_out=" + GENERATED, "--plugin=protoc-gen-grpc=" + plugin,
                "dgramd/v1/dgramd.proto", "dgramd/v1/admin.proto");
        assertThat(protoc.exitCode()).as("exit code of protoc; output:%n%s", protoc.output()).isZero();

        List<String> gpp = new ArrayList<>(List.of("g++", "-std=c++17", "-Wall", "-I", GENERATED.toString(),
                "contract_check.cc"));
        try (Stream<Path> sources = Files.list(GENERATED.resolve("dgramd/v1"))) {
            sources.filter(p -> p.toString().endsWith(".cc")).sorted().forEach(p -> gpp.add(p.toString()));
        }
        gpp.addAll(List.of("-o", GENERATED.resolve("contract_check").toString()));
        gpp.addAll(List.of(flags.output().strip().split("\\s+")));
        Result compile = ExternalTools.run(EXAMPLE, COMPILE_TIMEOUT, gpp.toArray(String[]::new));
        assertThat(compile.exitCode()).as("exit code of %s; output:%n%s", String.join(" ", gpp), compile.output())
                .isZero();

        Result check = ExternalTools.run(EXAMPLE, PROTOC_TIMEOUT, GENERATED.resolve("contract_check").toString());
        assertThat(check.exitCode()).as("exit code of contract_check; output:%n%s", check.output()).isZero();
        assertThat(check.output()).contains("contract ok: EADDRINUSE -98, 1 datagram(s)");
    }
}
