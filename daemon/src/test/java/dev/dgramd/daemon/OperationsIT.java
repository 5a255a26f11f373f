package dev.dgramd.daemon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.dgramd.proto.v1.AdminGrpc;
import dev.dgramd.proto.v1.CloseSocketRequest;
import dev.dgramd.proto.v1.CreateSocketRequest;
import dev.dgramd.proto.v1.DgramGrpc;
import dev.dgramd.proto.v1.SocketType;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged {@code dgramd.jar} run as operators run it: configured by DGRAMD_* variables and a
 * config file, logging JSON with socket ids, serving metrics, checked by its own {@code health}.
 */
class OperationsIT {
    private static final long SECONDS = 30;
    private static final Pattern LISTENING = Pattern.compile("dgramd listening on 127\\.0\\.0\\.1:(\\d+) ");
    private static final Pattern METRICS = Pattern.compile("metrics on http://(127\\.0\\.0\\.1:\\d+)/metrics");

    private final List<Process> processes = new ArrayList<>();
    private ManagedChannel channel;

    @TempDir
    Path dir;

    @AfterEach
    void cleanUp() throws Exception {
        if (channel != null) {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        for (Process p : processes) {
            p.destroyForcibly();
        }
    }

    @Test
    void configuredByEnvironmentAndFileLogsJsonWithSocketIdsAndServesMetrics() throws Exception {
        Path config = dir.resolve("dgramd.properties");
        Files.writeString(config, "listen=127.0.0.1:1\nlog-format=text\nmetrics=127.0.0.1:0\n");
        // The environment beats the file for listen and log-format; metrics comes from the file.
        Process daemon = start(Map.of("DGRAMD_CONFIG", config.toString(), "DGRAMD_LISTEN", "127.0.0.1:0",
                "DGRAMD_LOG_FORMAT", "json", "DGRAMD_LOG_LEVEL", "debug"));
        Output out = Output.of(daemon);
        JsonObject listening = out.awaitJson(j -> LISTENING.matcher(j.get("message").getAsString()).find());
        assertThat(listening.get("level").getAsString()).isEqualTo("INFO");
        assertThat(listening.get("logger").getAsString()).isEqualTo(Dgramd.class.getName());
        Matcher m = LISTENING.matcher(listening.get("message").getAsString());
        assertThat(m.find()).isTrue();
        int port = Integer.parseInt(m.group(1));

        channel = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
        String id = DgramGrpc.newBlockingStub(channel).withDeadlineAfter(SECONDS, TimeUnit.SECONDS)
                .createSocket(CreateSocketRequest.newBuilder().setType(SocketType.SOCKET_TYPE_UDP4).build()).getSocketId();
        JsonObject created = out.awaitJson(j -> j.has("socket_id"));
        assertThat(created.get("socket_id").getAsString()).isEqualTo(id);
        assertThat(created.get("level").getAsString()).isEqualTo("DEBUG");
        assertThat(created.get("message").getAsString()).isEqualTo("socket " + id + " created (IPv4)");

        AdminGrpc.newBlockingStub(channel).withDeadlineAfter(SECONDS, TimeUnit.SECONDS)
                .closeSocket(CloseSocketRequest.newBuilder().setSocketId(id).build());
        JsonObject closedByAdmin = out.awaitJson(j -> j.get("message").getAsString().contains("closed by an Admin"));
        assertThat(closedByAdmin.get("socket_id").getAsString()).isEqualTo(id);
        assertThat(closedByAdmin.get("level").getAsString()).isEqualTo("INFO");

        String metricsAt = out.text().lines().map(METRICS::matcher).filter(Matcher::find).map(x -> x.group(1))
                .findFirst().orElseThrow(() -> new AssertionError("no metrics line in " + out.text()));
        HttpResponse<String> scrape = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://" + metricsAt + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(scrape.body()).contains("dgramd_sockets_opened_total 1.0", "dgramd_sockets_closed_total 1.0");

        // The image's HEALTHCHECK: the same jar, `health`, finding the daemon through DGRAMD_LISTEN.
        Process health = start(Map.of("DGRAMD_LISTEN", "0.0.0.0:" + port), "health");
        Output healthOut = Output.of(health);
        assertThat(health.waitFor(SECONDS, TimeUnit.SECONDS)).isTrue();
        healthOut.awaitEnd();
        assertThat(health.exitValue()).as(healthOut.text()).isZero();
        assertThat(healthOut.text()).isEqualTo("SERVING\n");

        assertThat(daemon.toHandle().destroy()).isTrue(); // SIGTERM
        assertThat(daemon.waitFor(SECONDS, TimeUnit.SECONDS)).isTrue();
        assertThat(daemon.exitValue()).isZero();
        out.awaitEnd();
        for (String line : out.text().split("\n")) {
            assertThat(JsonParser.parseString(line).isJsonObject()).as("a JSON object: %s", line).isTrue();
        }
    }

    @Test
    void unknownConfigKeyStopsTheJarWithStatus2AndOneLine() throws Exception {
        Path config = dir.resolve("bad.properties");
        Files.writeString(config, "listen=127.0.0.1:0\nmax-mesage-bytes=1\n");
        Process p = start(Map.of(), "--config", config.toString());
        Output out = Output.of(p);
        assertThat(p.waitFor(SECONDS, TimeUnit.SECONDS)).isTrue();
        out.awaitEnd();
        assertThat(p.exitValue()).isEqualTo(2);
        assertThat(out.text()).startsWith("dgramd: config file " + config + ": unknown key 'max-mesage-bytes'")
                .doesNotContain("Exception");
        assertThat(out.text().strip().lines().count()).isEqualTo(1);
    }

    @Test
    void healthOfADaemonThatIsNotThereExitsOne() throws Exception {
        Process p = start(Map.of(), "health", "--target", "127.0.0.1:1", "--timeout", "5");
        Output out = Output.of(p);
        assertThat(p.waitFor(SECONDS, TimeUnit.SECONDS)).isTrue();
        out.awaitEnd();
        assertThat(p.exitValue()).as(out.text()).isEqualTo(1);
        assertThat(out.text()).startsWith("UNREACHABLE 127.0.0.1:1: UNAVAILABLE");
    }

    // ---------------------------------------------------------------- helpers

    /** Runs the packaged jar with {@code env} added to a clean DGRAMD_-free environment. */
    private Process start(Map<String, String> env, String... args) throws IOException {
        Path jar = Path.of("target/dgramd.jar").toAbsolutePath();
        if (!Files.isRegularFile(jar)) {
            fail("%s is missing: run this test after package (mvn verify)", jar);
        }
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar", jar.toString()));
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().keySet().removeIf(k -> k.startsWith("DGRAMD_"));
        builder.environment().putAll(env);
        Process p = builder.start();
        processes.add(p);
        return p;
    }

    /** A process's output, read by a thread: its lines as they come, and all of it. */
    private static final class Output {
        private final LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();
        private final StringBuffer text = new StringBuffer();
        private final CompletableFuture<Void> ended = new CompletableFuture<>();

        static Output of(Process p) {
            Output out = new Output();
            Thread t = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(
                        new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                    for (String line = r.readLine(); line != null; line = r.readLine()) {
                        out.text.append(line).append('\n');
                        out.lines.add(line);
                    }
                } catch (IOException e) {
                    out.text.append("[reading failed: ").append(e).append("]\n");
                } finally {
                    out.ended.complete(null);
                }
            }, "dgramd-output");
            t.setDaemon(true);
            t.start();
            return out;
        }

        /** The next line (from here on) that is a JSON object matching {@code test}. */
        JsonObject awaitJson(Predicate<JsonObject> test) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(SECONDS);
            while (true) {
                String line = lines.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                if (line == null) {
                    fail("no matching JSON line within %d s; output:%n%s", SECONDS, text);
                }
                JsonObject json = JsonParser.parseString(line).getAsJsonObject();
                if (test.test(json)) {
                    return json;
                }
            }
        }

        void awaitEnd() throws Exception {
            ended.get(SECONDS, TimeUnit.SECONDS);
        }

        String text() {
            return text.toString();
        }
    }
}
