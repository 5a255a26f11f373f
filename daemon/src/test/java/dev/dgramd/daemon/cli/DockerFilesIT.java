package dev.dgramd.daemon.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonParser;
import dev.dgramd.daemon.DgramdOptions;
import dev.dgramd.daemon.auth.Authentication;
import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

/**
 * What can be checked of docker/ without a Docker engine: the jar the Dockerfile copies is the one
 * {@code package} builds, its entrypoint, command and health check parse with the daemon's own command
 * line, and every DGRAMD_* variable that the Dockerfile, compose.yaml and the Kubernetes manifest give
 * the daemon is an option it honours, with a value it accepts. Secure by default: each place either
 * listens on loopback or must be given credentials, and none turns on --insecure. An IT: it needs
 * the packaged jar.
 */
class DockerFilesIT {
    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    private static final Path DOCKER = ROOT.resolve("docker");

    @Test
    void dockerfileCopiesTheJarThatPackageBuildsAndItsCommandsParse() throws IOException, InterruptedException {
        Dockerfile file = Dockerfile.read(DOCKER.resolve("Dockerfile"));

        assertThat(file.buildRuns).anyMatch(run -> run.contains("mvn") && run.contains("-pl daemon"));
        Matcher copy = Pattern.compile("--from=build (/src/\\S+) (\\S+)").matcher(String.join("\n", file.copies));
        assertThat(copy.find()).as("COPY --from=build of the jar in %s", file.copies).isTrue();
        Path built = ROOT.resolve(copy.group(1).substring("/src/".length()));
        assertThat(built).as("the jar the Dockerfile copies, after package").isRegularFile()
                .hasFileName("dgramd.jar");
        String jar = copy.group(2);

        // The JVM options before -jar: the shipped ones (JvmSettings), each one the JVM accepts.
        List<String> jvmOptions = file.entrypoint.subList(1, file.entrypoint.indexOf("-jar"));
        assertThat(file.entrypoint.get(0)).isEqualTo("java");
        assertThat(jvmOptions).as("the entrypoint's JVM options").containsSubsequence(JvmSettings.OPTIONS);
        assertThat(LauncherIT.javaAccepts(jvmOptions)).as("java %s -version", jvmOptions).isEqualTo(0);

        List<String> args = new ArrayList<>(afterJar(file.entrypoint, jar));
        args.addAll(file.cmd);
        DgramdCommand command = parse(file.env, args);
        DgramdOptions options = command.options();
        int port = DgramdOptions.HostPort.parse(options.listen(), "listen").port();
        assertThat(file.exposed).contains(port + "/tcp");
        assertHonoured(file.env, command);

        // The image listens on all interfaces: alone it refuses to start; given tokens (or TLS) it starts.
        assertThat(file.env).doesNotContainKey("DGRAMD_INSECURE");
        assertThat(Authentication.refusal(options.authConfig())).as("the image without credentials")
                .startsWith("refusing to listen on 0.0.0.0:" + port + " without TLS or a tokens file");
        Map<String, String> withTokens = new LinkedHashMap<>(file.env);
        withTokens.put("DGRAMD_TOKENS_FILE", "/run/secrets/dgramd-tokens");
        assertThat(Authentication.refusal(parse(withTokens, args).options().authConfig())).as("with a tokens file").isNull();

        CommandLine health = DgramdCommand.commandLine();
        List<String> healthArgs = afterJar(file.healthcheck, jar);
        DgramdCommand.configure(health, healthArgs.toArray(String[]::new), file.env);
        CommandLine.ParseResult parsed = health.parseArgs(healthArgs.toArray(String[]::new));
        assertThat(parsed.subcommand()).as("HEALTHCHECK runs a subcommand").isNotNull();
        assertThat(parsed.subcommand().commandSpec().name()).isEqualTo("health");

        assertThat(file.user).as("USER").doesNotStartWith("0").isNotEqualTo("root").matches("\\d+(:\\d+)?");
        assertThat(file.labels).contains("org.opencontainers.image.title", "org.opencontainers.image.version",
                "org.opencontainers.image.licenses");
    }

    @Test
    @SuppressWarnings("unchecked")
    void composeGivesTheDaemonOnlyOptionsItHonours() throws IOException {
        Map<String, Object> compose = yaml(DOCKER.resolve("compose.yaml")).get(0);
        Map<String, Object> services = (Map<String, Object>) compose.get("services");
        Map<String, Object> dgramd = (Map<String, Object>) services.get("dgramd");
        Map<String, Object> app = (Map<String, Object>) services.get("app");

        assertBuildsFrom(dgramd, "Dockerfile");
        assertBuildsFrom(app, "node-example.Dockerfile");
        Map<String, String> env = strings((Map<String, Object>) dgramd.get("environment"));
        // A file the service mounts is read from where compose mounts it from.
        for (String volume : (List<String>) dgramd.getOrDefault("volumes", List.of())) {
            String[] parts = volume.split(":");
            env.replaceAll((k, v) -> v.equals(parts[1]) ? DOCKER.resolve(parts[0]).normalize().toString() : v);
        }
        // A sidecar serves one application: the built-in defaults (Node's behaviour less link-local).
        assertThat(env).doesNotContainKey("DGRAMD_POLICY");
        DgramdCommand command = parse(env, List.of());
        assertHonoured(env, command);
        DgramdOptions options = command.options();
        assertThat(options.policy().source()).isEqualTo("defaults");
        assertThat(env).doesNotContainKey("DGRAMD_INSECURE");
        assertThat(Authentication.refusal(options.authConfig())).as("a sidecar on loopback needs no credentials").isNull();
        assertThat(Authentication.configurationError(options.authConfig())).isNull();
        String metricsPort = ":" + DgramdOptions.HostPort.parse(options.metrics(), "metrics").port();
        assertThat((List<String>) dgramd.get("ports")).anyMatch(p -> p.endsWith(metricsPort));
        assertThat(dgramd.get("read_only")).isEqualTo(true);
        assertThat((List<String>) dgramd.get("tmpfs")).contains("/tmp");

        assertThat(app.get("network_mode")).isEqualTo("service:dgramd");
        Map<String, String> appEnv = strings((Map<String, Object>) app.get("environment"));
        assertThat(appEnv.keySet()).containsOnly("DGRAMD_TARGET");
        assertThat(appEnv.get("DGRAMD_TARGET")).isEqualTo(HealthCommand.loopbackTarget(options.listen()));
    }

    @Test
    @SuppressWarnings("unchecked")
    void kubernetesSidecarIsProbedOnItsListenPortAndGetsOnlyOptionsItHonours() throws IOException {
        List<Map<String, Object>> docs = yaml(DOCKER.resolve("k8s/deployment.yaml"));
        Map<String, Object> deployment = docs.stream().filter(d -> "Deployment".equals(d.get("kind"))).findFirst()
                .orElseThrow();
        Map<String, Object> template = (Map<String, Object>) ((Map<String, Object>) deployment.get("spec"))
                .get("template");
        Map<String, Object> pod = (Map<String, Object>) template.get("spec");
        List<Map<String, Object>> containers = new ArrayList<>();
        containers.addAll((List<Map<String, Object>>) pod.getOrDefault("initContainers", List.of()));
        containers.addAll((List<Map<String, Object>>) pod.get("containers"));
        Map<String, Object> dgramd = containers.stream().filter(c -> "dgramd".equals(c.get("name"))).findFirst()
                .orElseThrow();

        Map<String, String> env = k8sEnv(dgramd);
        DgramdCommand command = parse(env, List.of());
        assertHonoured(env, command);
        DgramdOptions options = command.options();
        assertThat(env).doesNotContainKey("DGRAMD_INSECURE");
        assertThat(Authentication.refusal(options.authConfig())).as("a sidecar on loopback needs no credentials").isNull();
        assertThat(Authentication.configurationError(options.authConfig())).isNull();
        int grpcPort = DgramdOptions.HostPort.parse(options.listen(), "listen").port();
        int metricsPort = DgramdOptions.HostPort.parse(options.metrics(), "metrics").port();
        // Loopback: the kubelet cannot dial it, so the probes run the jar's health check in the container.
        String jar = imageJar();
        for (String probe : List.of("startupProbe", "readinessProbe", "livenessProbe")) {
            Map<String, Object> exec = (Map<String, Object>) ((Map<String, Object>) dgramd.get(probe)).get("exec");
            assertThat(exec).as("%s is an exec probe", probe).isNotNull();
            HealthCommand health = parseHealth(env, afterJar((List<String>) exec.get("command"), jar));
            assertThat(health.target == null ? HealthCommand.loopbackTarget(health.daemon.listen) : health.target)
                    .as("%s checks the listen address", probe).isEqualTo(HealthCommand.loopbackTarget(options.listen()));
            assertThat(health.service).as("%s service", probe)
                    .isEqualTo(probe.equals("readinessProbe") ? "dgramd.v1.Dgram" : "");
        }
        Set<Integer> ports = ((List<Map<String, Object>>) dgramd.get("ports")).stream()
                .map(p -> (Integer) p.get("containerPort")).collect(Collectors.toSet());
        assertThat(ports).contains(metricsPort).as("the gRPC port is not the pod's").doesNotContain(grpcPort);
        Map<String, Object> annotations = (Map<String, Object>) ((Map<String, Object>) template.get("metadata"))
                .get("annotations");
        assertThat(annotations.get("prometheus.io/port")).isEqualTo(Integer.toString(metricsPort));

        Map<String, Object> security = (Map<String, Object>) dgramd.get("securityContext");
        assertThat(security.get("readOnlyRootFilesystem")).isEqualTo(true);
        assertThat(security.get("allowPrivilegeEscalation")).isEqualTo(false);
        assertThat(((Map<String, Object>) pod.get("securityContext")).get("runAsNonRoot")).isEqualTo(true);
        assertThat((List<Map<String, Object>>) dgramd.get("volumeMounts")).anyMatch(m -> "/tmp".equals(m.get("mountPath")));
        assertThat((Map<String, Object>) dgramd.get("resources")).containsKeys("requests", "limits");

        for (Map<String, Object> c : containers) {
            if (c != dgramd) {
                Map<String, String> appEnv = k8sEnv(c);
                assertThat(appEnv.keySet()).as("%s's DGRAMD_* variables", c.get("name"))
                        .allMatch(k -> !k.startsWith("DGRAMD_") || k.equals("DGRAMD_TARGET"));
                assertThat(appEnv.get("DGRAMD_TARGET")).isEqualTo(HealthCommand.loopbackTarget(options.listen()));
            }
        }
    }

    // ---------------------------------------------------------------- helpers

    /** Where the image holds the daemon jar: the destination of the Dockerfile's COPY --from=build. */
    private static String imageJar() throws IOException {
        Matcher copy = Pattern.compile("--from=build (/src/\\S+) (\\S+)")
                .matcher(String.join("\n", Dockerfile.read(DOCKER.resolve("Dockerfile")).copies));
        assertThat(copy.find()).isTrue();
        return copy.group(2);
    }

    /** Parses {@code args} (a {@code health} command line) as the daemon's jar would with {@code env}. */
    private static HealthCommand parseHealth(Map<String, String> env, List<String> args) {
        CommandLine commandLine = DgramdCommand.commandLine();
        String[] argv = args.toArray(String[]::new);
        DgramdCommand.configure(commandLine, argv, env);
        CommandLine.ParseResult parsed = commandLine.parseArgs(argv);
        assertThat(parsed.subcommand()).as("a subcommand in %s", args).isNotNull();
        assertThat(parsed.subcommand().commandSpec().name()).isEqualTo("health");
        return (HealthCommand) parsed.subcommand().commandSpec().userObject();
    }

    /** Parses {@code args} as the daemon would with {@code env}; the options must be valid. */
    private static DgramdCommand parse(Map<String, String> env, List<String> args) {
        CommandLine commandLine = DgramdCommand.commandLine();
        String[] argv = args.toArray(String[]::new);
        DgramdCommand.configure(commandLine, argv, env);
        commandLine.parseArgs(argv);
        return commandLine.getCommand();
    }

    /** Every DGRAMD_* variable of {@code env} names an option of the daemon, which took its value. */
    private static void assertHonoured(Map<String, String> env, DgramdCommand command) {
        Map<String, OptionSpec> byVariable = new LinkedHashMap<>();
        for (OptionSpec o : ConfigSources.configurable(command.spec)) {
            byVariable.put(ConfigSources.envName(o), o);
        }
        env.forEach((name, value) -> {
            if (!name.startsWith("DGRAMD_")) {
                return;
            }
            assertThat(byVariable).as("%s is a dgramd option", name).containsKey(name);
            Object taken = byVariable.get(name).getValue();
            assertThat(String.valueOf(taken)).as("%s=%s is what the daemon uses", name, value)
                    .isEqualToIgnoringCase(value);
        });
        assertThat(env.keySet().stream().filter(k -> k.startsWith("DGRAMD_"))).as("DGRAMD_* variables").isNotEmpty();
    }

    /** The arguments after {@code -jar JAR} in an exec-form command. */
    private static List<String> afterJar(List<String> command, String jar) {
        int at = command.indexOf("-jar");
        assertThat(at).as("-jar in %s", command).isNotNegative();
        assertThat(command.get(at + 1)).as("the jar %s runs", command).isEqualTo(jar);
        return command.subList(at + 2, command.size());
    }

    @SuppressWarnings("unchecked")
    private static void assertBuildsFrom(Map<String, Object> service, String dockerfile) {
        Map<String, Object> build = (Map<String, Object>) service.get("build");
        Path context = DOCKER.resolve((String) build.get("context")).normalize();
        assertThat(context).isEqualTo(ROOT);
        assertThat(context.resolve((String) build.get("dockerfile"))).isRegularFile()
                .isEqualTo(DOCKER.resolve(dockerfile));
    }

    @SuppressWarnings("unchecked")
    private static Map<String, String> k8sEnv(Map<String, Object> container) {
        Map<String, String> env = new LinkedHashMap<>();
        for (Map<String, Object> e : (List<Map<String, Object>>) container.getOrDefault("env", List.of())) {
            env.put((String) e.get("name"), String.valueOf(e.get("value")));
        }
        return env;
    }

    private static Map<String, String> strings(Map<String, Object> map) {
        Map<String, String> out = new LinkedHashMap<>();
        map.forEach((k, v) -> out.put(k, String.valueOf(v)));
        return out;
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> yaml(Path file) throws IOException {
        List<Map<String, Object>> docs = new ArrayList<>();
        try (Reader r = Files.newBufferedReader(file)) {
            for (Object doc : new Yaml().loadAll(r)) {
                if (doc != null) {
                    docs.add((Map<String, Object>) doc);
                }
            }
        }
        return docs;
    }

    /** The instructions of a Dockerfile that matter here; those of the last stage for the runtime ones. */
    private static final class Dockerfile {
        final List<String> buildRuns = new ArrayList<>();
        final List<String> copies = new ArrayList<>();
        final Map<String, String> env = new LinkedHashMap<>();
        final List<String> labels = new ArrayList<>();
        final List<String> exposed = new ArrayList<>();
        List<String> entrypoint = List.of();
        List<String> cmd = List.of();
        List<String> healthcheck = List.of();
        String user = "root";

        static Dockerfile read(Path path) throws IOException {
            Dockerfile f = new Dockerfile();
            StringBuilder logical = new StringBuilder();
            int stage = 0;
            for (String line : Files.readAllLines(path)) {
                if (line.strip().startsWith("#") || (line.isBlank() && logical.length() == 0)) {
                    continue;
                }
                if (line.endsWith("\\")) {
                    logical.append(line, 0, line.length() - 1).append(' ');
                    continue;
                }
                String instruction = logical.append(line).toString().strip();
                logical.setLength(0);
                String keyword = instruction.split("\\s+", 2)[0].toUpperCase();
                String rest = instruction.substring(keyword.length()).strip();
                switch (keyword) {
                    case "FROM" -> stage++;
                    case "RUN" -> f.buildRuns.add(rest);
                    case "COPY" -> f.copies.add(rest);
                    case "ENV" -> f.env.putAll(pairs(rest));
                    case "LABEL" -> f.labels.addAll(pairs(rest).keySet());
                    case "EXPOSE" -> f.exposed.addAll(List.of(rest.split("\\s+")));
                    case "USER" -> f.user = rest;
                    case "ENTRYPOINT" -> f.entrypoint = json(rest);
                    case "CMD" -> f.cmd = json(rest);
                    case "HEALTHCHECK" -> f.healthcheck = json(rest.substring(rest.indexOf("CMD") + 3).strip());
                    default -> {
                    }
                }
            }
            assertThat(stage).as("stages").isGreaterThanOrEqualTo(2);
            return f;
        }

        /** KEY=VALUE pairs, values optionally in double quotes. */
        private static Map<String, String> pairs(String text) {
            Map<String, String> out = new LinkedHashMap<>();
            Matcher m = Pattern.compile("([\\w.-]+)=(\"((?:[^\"\\\\]|\\\\.)*)\"|\\S*)").matcher(text);
            while (m.find()) {
                out.put(m.group(1), m.group(3) != null ? m.group(3) : m.group(2));
            }
            return out;
        }

        /** An exec-form (JSON array) command. */
        private static List<String> json(String text) {
            List<String> out = new ArrayList<>();
            JsonParser.parseString(text).getAsJsonArray().forEach(e -> out.add(e.getAsString()));
            return out;
        }
    }
}
