package dev.dgramd.daemon.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.dgramd.daemon.Dgramd;
import dev.dgramd.daemon.DgramdOptions;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

/**
 * The dgramd command's configuration: flags, DGRAMD_* variables and the --config file, their
 * precedence, --help, and one-line errors with exit status 2. Parses without starting a daemon,
 * except for {@code dgramd health}, which checks a real one.
 */
class DgramdCommandTest {
    /** A valid value, different from the default, for every option a file or the environment may set. */
    private static final Map<String, String> SAMPLES = new LinkedHashMap<>();

    static {
        SAMPLES.put("--listen", "127.0.0.2:6000");
        SAMPLES.put("--tls-cert", "/etc/dgramd/cert.pem");
        SAMPLES.put("--tls-key", "/etc/dgramd/key.pem");
        SAMPLES.put("--tls-client-ca", "/etc/dgramd/clients.pem");
        SAMPLES.put("--tokens-file", "/etc/dgramd/tokens");
        SAMPLES.put("--insecure", "true");
        SAMPLES.put("--event-loop-threads", "3");
        SAMPLES.put("--transport", "nio");
        SAMPLES.put("--max-queued-event-bytes", "131072");
        SAMPLES.put("--max-buffered-event-bytes", "67108864");
        SAMPLES.put("--max-message-bytes", "262144");
        SAMPLES.put("--metrics", "127.0.0.1:9464");
        SAMPLES.put("--orphan-grace", "500ms");
        SAMPLES.put("--keepalive-time", "2s");
        SAMPLES.put("--keepalive-timeout", "1500ms");
        SAMPLES.put("--permit-keepalive-time", "1s");
        SAMPLES.put("--hand-over-socket", "/run/dgramd/handover.sock");
        SAMPLES.put("--take-over", "/run/dgramd/old.sock");
        SAMPLES.put("--warm-up", "750ms");
        SAMPLES.put("--policy", "/etc/dgramd/policy.yaml");
        SAMPLES.put("--log-format", "json");
        SAMPLES.put("--log-level", "debug");
    }

    @TempDir
    Path dir;

    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    @Test
    void defaultsWithoutFlagsEnvironmentOrFile() {
        DgramdCommand command = parse(Map.of());
        DgramdOptions options = command.options();
        assertThat(options.listen()).isEqualTo("127.0.0.1:50051");
        assertThat(options.eventLoopThreads()).isZero();
        assertThat(options.nativeTransport()).isTrue();
        assertThat(options.maxQueuedEventBytes()).isEqualTo(4L << 20);
        assertThat(options.maxBufferedEventBytes()).as("0: a quarter of the heap").isZero();
        assertThat(options.maxMessageBytes()).isEqualTo(8 << 20);
        assertThat(options.metrics()).isNull();
        assertThat(options.orphanGrace()).isEqualTo(java.time.Duration.ofSeconds(10));
        assertThat(options.keepAliveTime()).isEqualTo(java.time.Duration.ofSeconds(10));
        assertThat(options.keepAliveTimeout()).isEqualTo(java.time.Duration.ofSeconds(10));
        assertThat(options.permitKeepAliveTime()).isEqualTo(java.time.Duration.ofSeconds(5));
        assertThat(options.tlsCert()).isNull();
        assertThat(options.tlsKey()).isNull();
        assertThat(options.tlsClientCa()).isNull();
        assertThat(options.tokensFile()).isNull();
        assertThat(options.insecure()).isFalse();
        assertThat(options.handOverSocket()).as("no hand-over unless asked").isNull();
        assertThat(options.takeOver()).isNull();
        assertThat(command.logFormat).isEqualTo(DgramdCommand.LogFormat.TEXT);
        assertThat(command.logLevel).isEqualTo(DgramdCommand.LogLevel.INFO);
    }

    @Test
    void everyOptionIsSettableByFlagByEnvironmentAndByFile() throws IOException {
        List<OptionSpec> configurable = ConfigSources.configurable(DgramdCommand.commandLine().getCommandSpec());
        assertThat(configurable.stream().map(OptionSpec::longestName).collect(Collectors.toList()))
                .as("a sample value for every option").containsExactlyInAnyOrderElementsOf(SAMPLES.keySet());
        for (OptionSpec option : configurable) {
            String name = option.longestName();
            String sample = SAMPLES.get(name);

            assertThat(valueOf(name, parse(Map.of(), name, sample))).as("%s by flag", name).isEqualToIgnoringCase(sample);

            String env = ConfigSources.envName(option);
            assertThat(valueOf(name, parse(Map.of(env, sample)))).as("%s by %s", name, env).isEqualToIgnoringCase(sample);

            Path file = write(ConfigSources.key(option) + "=" + sample);
            assertThat(valueOf(name, parse(Map.of(), "--config", file.toString())))
                    .as("%s by file key %s", name, ConfigSources.key(option)).isEqualToIgnoringCase(sample);
        }
    }

    @Test
    void environmentVariableNamesAreTheOptionNamesInCapitals() {
        var spec = DgramdCommand.commandLine().getCommandSpec();
        assertThat(ConfigSources.envName(spec.findOption("--listen"))).isEqualTo("DGRAMD_LISTEN");
        assertThat(ConfigSources.envName(spec.findOption("--max-queued-event-bytes")))
                .isEqualTo("DGRAMD_MAX_QUEUED_EVENT_BYTES");
        assertThat(ConfigSources.key(spec.findOption("--event-loop-threads"))).isEqualTo("event-loop-threads");
    }

    @Test
    void flagBeatsEnvironmentBeatsFileBeatsDefault() throws IOException {
        Path file = write("listen=127.0.0.1:1001", "event-loop-threads=2", "max-message-bytes=200000");
        Map<String, String> env = Map.of("DGRAMD_LISTEN", "127.0.0.1:1002", "DGRAMD_EVENT_LOOP_THREADS", "3");

        DgramdOptions options = parse(env, "--config", file.toString(), "--listen", "127.0.0.1:1003").options();
        assertThat(options.listen()).as("flag over env and file").isEqualTo("127.0.0.1:1003");
        assertThat(options.eventLoopThreads()).as("env over file").isEqualTo(3);
        assertThat(options.maxMessageBytes()).as("file over default").isEqualTo(200_000);
        assertThat(options.maxQueuedEventBytes()).as("default").isEqualTo(DgramdOptions.DEFAULT_MAX_QUEUED_EVENT_BYTES);

        assertThat(parse(env, "--config", file.toString()).options().listen()).as("env over file")
                .isEqualTo("127.0.0.1:1002");
        assertThat(parse(Map.of(), "--config=" + file).options().listen()).as("file over default")
                .isEqualTo("127.0.0.1:1001");
    }

    @Test
    void configFileNamedByTheEnvironmentUnlessTheFlagNamesOne() throws IOException {
        Path fromEnv = write("listen=127.0.0.1:2001");
        Path fromFlag = write("listen=127.0.0.1:2002");
        Map<String, String> env = Map.of("DGRAMD_CONFIG", fromEnv.toString());
        assertThat(parse(env).options().listen()).isEqualTo("127.0.0.1:2001");
        assertThat(parse(env, "--config", fromFlag.toString()).options().listen()).isEqualTo("127.0.0.1:2002");
    }

    @Test
    void aFlagOverridesAMalformedEnvironmentValue() {
        assertThat(parse(Map.of("DGRAMD_EVENT_LOOP_THREADS", "many"), "--event-loop-threads", "4").options()
                .eventLoopThreads()).isEqualTo(4);
    }

    @Test
    void unknownKeyInTheFileIsAOneLineErrorWithStatus2() throws IOException {
        Path file = write("listen=127.0.0.1:1", "listne=127.0.0.1:2");
        assertThat(run(Map.of(), "--config", file.toString())).isEqualTo(2);
        assertOneLine(err.toString()).contains("config file " + file + ": unknown key 'listne'")
                .contains("known keys: ").contains("event-loop-threads");
    }

    @Test
    void aFileCannotNameAnotherFile() throws IOException {
        Path file = write("config=/etc/other.properties");
        assertThat(run(Map.of(), "--config", file.toString())).isEqualTo(2);
        assertOneLine(err.toString()).contains("unknown key 'config'");
    }

    @Test
    void missingConfigFileIsAOneLineErrorWithStatus2() {
        Path missing = dir.resolve("absent.properties");
        assertThat(run(Map.of("DGRAMD_CONFIG", missing.toString()))).isEqualTo(2);
        assertOneLine(err.toString()).isEqualTo("dgramd: cannot read config file " + missing + ": no such file");
    }

    @Test
    void malformedEnvironmentValueNamesTheVariable() {
        assertThat(run(Map.of("DGRAMD_EVENT_LOOP_THREADS", "many"))).isEqualTo(2);
        assertOneLine(err.toString()).isEqualTo("dgramd: Invalid value for option '--event-loop-threads': "
                + "'many' is not an int (from environment variable DGRAMD_EVENT_LOOP_THREADS)");
    }

    @Test
    void outOfRangeFileValueNamesTheFileAndKey() throws IOException {
        Path file = write("max-queued-event-bytes=10");
        assertThat(run(Map.of(), "--config", file.toString())).isEqualTo(2);
        assertOneLine(err.toString()).contains("Invalid value for option '--max-queued-event-bytes'")
                .contains(">= 65536, got 10")
                .endsWith("(from config file " + file + ", key max-queued-event-bytes)");
    }

    @Test
    void warmUpIsTwoSecondsUnlessSaidOtherwise() {
        assertThat(parse(Map.of()).options().warmUp()).isEqualTo(java.time.Duration.ofSeconds(2));
        assertThat(parse(Map.of(), "--warm-up", "0").options().warmUp()).isZero();
        assertThat(parse(Map.of("DGRAMD_WARM_UP", "500ms")).options().warmUp())
                .isEqualTo(java.time.Duration.ofMillis(500));
        assertThat(run(Map.of(), "--warm-up", "5m")).isEqualTo(2);
        assertOneLine(err.toString()).contains("Invalid value for option '--warm-up'");
    }

    @Test
    void orphanGraceTakesMillisecondsOrSeconds() {
        assertThat(parse(Map.of(), "--orphan-grace", "500ms").options().orphanGrace())
                .isEqualTo(java.time.Duration.ofMillis(500));
        assertThat(parse(Map.of("DGRAMD_ORPHAN_GRACE", "3")).options().orphanGrace())
                .isEqualTo(java.time.Duration.ofSeconds(3));
        assertThat(parse(Map.of(), "--orphan-grace", "0").options().orphanGrace()).isZero();
        assertThat(run(Map.of("DGRAMD_ORPHAN_GRACE", "-1s"))).isEqualTo(2);
        assertOneLine(err.toString()).contains("Invalid value for option '--orphan-grace'")
                .contains("expected a duration such as 500ms or 10s, got '-1s'")
                .endsWith("(from environment variable DGRAMD_ORPHAN_GRACE)");
    }

    @Test
    void keepaliveOptionsTakeDurationsAndAZeroTimeoutIsRefused() {
        DgramdOptions options = parse(Map.of("DGRAMD_KEEPALIVE_TIME", "2"), "--keepalive-timeout", "750ms",
                "--permit-keepalive-time", "0").options();
        assertThat(options.keepAliveTime()).isEqualTo(java.time.Duration.ofSeconds(2));
        assertThat(options.keepAliveTimeout()).isEqualTo(java.time.Duration.ofMillis(750));
        assertThat(options.permitKeepAliveTime()).isZero();
        assertThat(parse(Map.of(), "--keepalive-time", "0").options().keepAliveTime()).isZero();
        assertThat(run(Map.of("DGRAMD_KEEPALIVE_TIMEOUT", "0"))).isEqualTo(2);
        assertOneLine(err.toString()).contains("Invalid value for option '--keepalive-timeout'")
                .contains("keepAliveTimeout must be > 0")
                .endsWith("(from environment variable DGRAMD_KEEPALIVE_TIMEOUT)");
    }

    @Test
    void policyFileIsLoadedAtStartAndItsErrorsAreOneLine() throws IOException {
        assertThat(parse(Map.of()).options().policy().source()).isEqualTo("defaults");
        Path good = Files.createTempFile(dir, "policy", ".yaml");
        Files.writeString(good, "default:\n  broadcast: true\n", StandardCharsets.UTF_8);
        assertThat(parse(Map.of("DGRAMD_POLICY", good.toString())).options().policy().rules("anyone")
                .broadcastAllowed()).isTrue();

        Path bad = Files.createTempFile(dir, "policy", ".yaml");
        Files.writeString(bad, "default:\n  quotas: {maxSockets: ten}\n", StandardCharsets.UTF_8);
        assertThat(run(Map.of(), "--policy", bad.toString())).isEqualTo(2);
        assertOneLine(err.toString()).contains("Invalid value for option '--policy'")
                .contains("default.quotas.maxSockets");
    }

    @Test
    void malformedAddressesAndChoicesAreOneLineErrors() {
        assertThat(run(Map.of("DGRAMD_METRICS", "9464"))).isEqualTo(2);
        assertOneLine(err.toString()).contains("metrics address must be HOST:PORT, got '9464'")
                .contains("(from environment variable DGRAMD_METRICS)");

        err.getBuffer().setLength(0);
        assertThat(run(Map.of(), "--transport", "dpdk")).isEqualTo(2);
        assertOneLine(err.toString()).contains("--transport").contains("dpdk");

        err.getBuffer().setLength(0);
        assertThat(run(Map.of(), "--listen", "nonsense")).isEqualTo(2);
        assertOneLine(err.toString()).contains("listen address must be HOST:PORT, got 'nonsense'")
                .doesNotContain("(from");
    }

    @Test
    void emptyMetricsValueMeansOff() {
        assertThat(parse(Map.of("DGRAMD_METRICS", "")).options().metrics()).isNull();
    }

    @Test
    void helpListsEveryOptionWithItsVariableAndExplainsPrecedence() {
        assertThat(run(Map.of(), "--help")).isZero();
        String help = out.toString().replaceAll("\\s+", " ");
        for (OptionSpec option : ConfigSources.configurable(DgramdCommand.commandLine().getCommandSpec())) {
            assertThat(help).contains(option.longestName()).contains("Env: " + ConfigSources.envName(option) + ".");
        }
        assertThat(help).contains("--config=FILE").contains("Env: DGRAMD_CONFIG.")
                .contains("Precedence: flag > environment variable > config file > default.")
                .contains("health");
    }

    @Test
    void accessOptionsReachTheDaemonOptions() {
        DgramdOptions options = parse(Map.of("DGRAMD_TLS_CERT", "/c.pem", "DGRAMD_TLS_KEY", "/k.pem",
                "DGRAMD_TLS_CLIENT_CA", "/ca.pem", "DGRAMD_TOKENS_FILE", "/tokens", "DGRAMD_INSECURE", "true")).options();
        assertThat(options.tlsCert()).isEqualTo(Path.of("/c.pem"));
        assertThat(options.tlsKey()).isEqualTo(Path.of("/k.pem"));
        assertThat(options.tlsClientCa()).isEqualTo(Path.of("/ca.pem"));
        assertThat(options.tokensFile()).isEqualTo(Path.of("/tokens"));
        assertThat(options.insecure()).isTrue();

        assertThat(parse(Map.of(), "--insecure").options().insecure()).as("a bare flag").isTrue();
        assertThat(parse(Map.of("DGRAMD_INSECURE", "true"), "--insecure=false").options().insecure()).isFalse();
        assertThat(parse(Map.of("DGRAMD_TOKENS_FILE", "")).options().tokensFile()).as("empty is none").isNull();
        assertThat(parse(Map.of(), "--listen", "unix:/run/dgramd.sock").options().listen()).isEqualTo("unix:/run/dgramd.sock");
    }

    @Test
    void aWildcardListenAddressWithoutCredentialsIsRefusedInOneLineWithStatus2() {
        assertThat(run(Map.of("DGRAMD_LISTEN", "0.0.0.0:50051"))).isEqualTo(2);
        assertOneLine(err.toString()).isEqualTo("dgramd: refusing to listen on 0.0.0.0:50051 without TLS or a tokens "
                + "file; give --tls-cert/--tls-key or --tokens-file, or --insecure to serve unauthenticated plaintext "
                + "(from environment variable DGRAMD_LISTEN)");

        err.getBuffer().setLength(0);
        assertThat(run(Map.of(), "--listen", "[::]:50051")).isEqualTo(2);
        assertOneLine(err.toString()).startsWith("dgramd: refusing to listen on [::]:50051 without TLS").endsWith(
                "plaintext");

        err.getBuffer().setLength(0);
        assertThat(run(Map.of(), "--tls-cert", "/c.pem")).isEqualTo(2);
        assertOneLine(err.toString()).isEqualTo("dgramd: TLS needs a certificate and its key: give both --tls-cert "
                + "and --tls-key");
    }

    @Test
    void aTlsFileThatCannotBeReadStopsTheStartWithStatus1() throws IOException {
        Path missing = dir.resolve("absent.pem");
        Path key = Files.writeString(dir.resolve("key.pem"), "not a key");
        assertThat(run(Map.of(), "--listen", "127.0.0.1:0", "--tls-cert", missing.toString(), "--tls-key",
                key.toString())).isEqualTo(1);
    }

    @Test
    void healthChecksATlsDaemonTrustingItsCertificateOrTheGivenCa() throws Exception {
        String cert = resource("server.pem");
        String key = resource("server.key");
        try (Dgramd daemon = Dgramd.start(new DgramdOptions().listen("127.0.0.1:0").tlsCert(Path.of(cert))
                .tlsKey(Path.of(key)).tlsClientCa(Path.of(resource("ca.pem"))))) {
            // As the image's HEALTHCHECK runs: the daemon's own settings, its certificate as the trust root.
            Map<String, String> env = Map.of("DGRAMD_LISTEN", "0.0.0.0:" + daemon.port(), "DGRAMD_TLS_CERT", cert,
                    "DGRAMD_TLS_KEY", key);
            assertThat(run(env, "health")).as(out.toString()).isZero();
            assertThat(out.toString().strip()).isEqualTo("SERVING");

            out.getBuffer().setLength(0);
            assertThat(run(Map.of(), "health", "--target", daemon.target(), "--tls-ca", resource("ca.pem"))).isZero();
            assertThat(out.toString().strip()).isEqualTo("SERVING");

            out.getBuffer().setLength(0);
            assertThat(run(Map.of(), "health", "--target", "localhost:" + daemon.port(), "--tls-ca",
                    resource("other-ca.pem"))).isEqualTo(1);
            assertThat(out.toString()).startsWith("UNREACHABLE localhost:" + daemon.port() + ": UNAVAILABLE");

            out.getBuffer().setLength(0);
            assertThat(run(Map.of(), "health", "--target", daemon.target(), "--tls-ca", resource("ca.pem"),
                    "--tls-server-name", "dgramd.example.org")).as("a name the certificate does not have").isEqualTo(1);

            out.getBuffer().setLength(0);
            assertThat(run(Map.of(), "health", "--target", daemon.target())).as("plaintext").isEqualTo(1);
            assertThat(out.toString()).startsWith("UNREACHABLE " + daemon.target() + ": UNAVAILABLE");

            err.getBuffer().setLength(0);
            assertThat(run(Map.of(), "health", "--target", daemon.target(), "--tls-ca", "/no/such.pem")).isEqualTo(2);
            assertOneLine(err.toString()).isEqualTo("dgramd: --tls-ca /no/such.pem: no such file");
        }
    }

    @Test
    void healthChecksADaemonWithTokensWithoutOne() throws Exception {
        Path tokens = Files.writeString(dir.resolve("tokens"), "health-0123456789abcdef ops\n");
        try (Dgramd daemon = Dgramd.start(new DgramdOptions().listen("127.0.0.1:0").tokensFile(tokens))) {
            assertThat(run(Map.of("DGRAMD_TOKENS_FILE", tokens.toString()), "health", "--target", daemon.target()))
                    .isZero();
            assertThat(out.toString().strip()).isEqualTo("SERVING");
        }
    }

    @Test
    void healthChecksADaemonOnAUnixSocket() throws Exception {
        Path socket = dir.resolve("dgramd.sock");
        try (Dgramd daemon = Dgramd.start(new DgramdOptions().listen("unix:" + socket))) {
            assertThat(run(Map.of("DGRAMD_LISTEN", "unix:" + socket), "health")).as(out.toString()).isZero();
            assertThat(out.toString().strip()).isEqualTo("SERVING");

            out.getBuffer().setLength(0);
            assertThat(run(Map.of(), "health", "--target", daemon.target())).isZero();
            assertThat(out.toString().strip()).isEqualTo("SERVING");
        }
        out.getBuffer().setLength(0);
        assertThat(run(Map.of(), "health", "--target", "unix:" + socket, "--timeout", "5")).isEqualTo(1);
        assertThat(out.toString()).startsWith("UNREACHABLE unix:" + socket + ": UNAVAILABLE");
    }

    @Test
    void healthSubcommandSaysServingForALiveDaemonFoundThroughTheListenSetting() throws Exception {
        try (Dgramd daemon = Dgramd.start(new DgramdOptions().listen("127.0.0.1:0"))) {
            // The listen setting a container would have: the wildcard is checked on loopback.
            assertThat(run(Map.of("DGRAMD_LISTEN", "0.0.0.0:" + daemon.port()), "health")).as(err.toString()).isZero();
            assertThat(out.toString().strip()).isEqualTo("SERVING");

            out.getBuffer().setLength(0);
            assertThat(run(Map.of(), "health", "--target", daemon.target(), "--service", "dgramd.v1.Dgram")).isZero();
            assertThat(out.toString().strip()).isEqualTo("SERVING");

            out.getBuffer().setLength(0);
            assertThat(run(Map.of(), "health", "--target", daemon.target(), "--service", "no.such.Service"))
                    .isEqualTo(1);
            assertThat(out.toString().strip()).isEqualTo("SERVICE_UNKNOWN");
        }
    }

    @Test
    void healthSubcommandFailsWhenNothingListens() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            port = s.getLocalPort();
        } // closed: nothing listens there now
        assertThat(run(Map.of(), "health", "--target", "127.0.0.1:" + port, "--timeout", "5")).isEqualTo(1);
        assertThat(out.toString()).startsWith("UNREACHABLE 127.0.0.1:" + port + ": UNAVAILABLE");
    }

    @Test
    void wildcardListenAddressesAreCheckedOnLoopback() {
        assertThat(HealthCommand.loopbackTarget("0.0.0.0:50051")).isEqualTo("127.0.0.1:50051");
        assertThat(HealthCommand.loopbackTarget("[::]:50051")).isEqualTo("[::1]:50051");
        assertThat(HealthCommand.loopbackTarget("10.1.2.3:7")).isEqualTo("10.1.2.3:7");
        assertThat(HealthCommand.loopbackTarget("unix:/run/dgramd.sock")).isEqualTo("unix:/run/dgramd.sock");
    }

    // ---------------------------------------------------------------- helpers

    /** Parses {@code args} with {@code env} as the environment; starts nothing. */
    private static DgramdCommand parse(Map<String, String> env, String... args) {
        CommandLine commandLine = DgramdCommand.commandLine();
        DgramdCommand.configure(commandLine, args, new HashMap<>(env));
        commandLine.parseArgs(args);
        return commandLine.getCommand();
    }

    /** A file of src/test/resources/auth, as a path string. */
    private static String resource(String name) {
        try {
            return Path.of(DgramdCommandTest.class.getResource("/auth/" + name).toURI()).toString();
        } catch (java.net.URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String valueOf(String option, DgramdCommand command) {
        return String.valueOf((Object) command.spec.findOption(option).getValue());
    }

    private int run(Map<String, String> env, String... args) {
        CommandLine commandLine = DgramdCommand.commandLine();
        commandLine.setOut(new PrintWriter(out, true));
        commandLine.setErr(new PrintWriter(err, true));
        return DgramdCommand.run(commandLine, args, env);
    }

    private Path write(String... lines) throws IOException {
        Path file = Files.createTempFile(dir, "dgramd", ".properties");
        Files.writeString(file, String.join("\n", lines) + "\n", StandardCharsets.UTF_8);
        return file;
    }

    private static org.assertj.core.api.AbstractStringAssert<?> assertOneLine(String text) {
        assertThat(text).as("one line").endsWith("\n").doesNotContain("Exception").doesNotContain("\tat ");
        assertThat(text.strip().lines().count()).as("lines in %s", text).isEqualTo(1);
        return assertThat(text.strip());
    }
}
