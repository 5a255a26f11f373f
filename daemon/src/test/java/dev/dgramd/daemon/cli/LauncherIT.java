package dev.dgramd.daemon.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The packaged launcher ({@code target/dgramd}, beside {@code target/dgramd.jar}) runs the daemon
 * with the shipped JVM options, and a collector given in {@code JAVA_OPTS} replaces the shipped one
 * (the JVM refuses two). An IT: it needs the packaged jar.
 */
class LauncherIT {
    private static final Path LAUNCHER = Path.of("target", "dgramd");

    @Test
    void launcherRunsTheJarWithTheShippedOptions() throws Exception {
        assertThat(LAUNCHER).isRegularFile();
        assertThat(Files.isExecutable(LAUNCHER)).isTrue();
        String[] out = run(Map.of("JAVA_OPTS", "-XX:+PrintCommandLineFlags"), "--version");
        assertThat(out[0]).as(out[1]).isEqualTo("0");
        assertThat(out[1]).contains("dgramd ");
        for (String o : JvmSettings.OPTIONS) {
            assertThat(out[1]).as("the JVM's flags").contains(asPrinted(o));
        }
    }

    /** How -XX:+PrintCommandLineFlags shows option {@code o}: -Xms32m as -XX:InitialHeapSize=33554432. */
    private static String asPrinted(String o) {
        if (!o.startsWith("-Xms")) {
            return o;
        }
        String v = o.substring(4).toLowerCase(java.util.Locale.ROOT);
        long unit = v.endsWith("g") ? 1L << 30 : v.endsWith("m") ? 1L << 20 : v.endsWith("k") ? 1L << 10 : 1;
        long n = Long.parseLong(unit == 1 ? v : v.substring(0, v.length() - 1));
        return "-XX:InitialHeapSize=" + n * unit;
    }

    @Test
    void aCollectorInJavaOptsReplacesTheShippedOne() throws Exception {
        String[] out = run(Map.of("JAVA_OPTS", "-XX:+UseParallelGC -XX:+PrintCommandLineFlags"), "--version");
        assertThat(out[0]).as(out[1]).isEqualTo("0");
        assertThat(out[1]).contains("-XX:+UseParallelGC", "dgramd ");
    }

    /** A JDK 25 or later on this machine (the development machine has a Temurin 25), or null. */
    private static Path jdk25() throws IOException {
        Path jvms = Path.of("/usr/lib/jvm");
        if (!Files.isDirectory(jvms)) {
            return null;
        }
        try (var dirs = Files.list(jvms)) {
            return dirs.filter(d -> releaseVersion(d) >= 25).map(d -> d.resolve("bin").resolve("java"))
                    .filter(Files::isExecutable).findFirst().orElse(null);
        }
    }

    /** The feature version in a JDK's release file (JAVA_VERSION="25.0.3"), 0 when unreadable. */
    private static int releaseVersion(Path jdk) {
        try {
            for (String line : Files.readAllLines(jdk.resolve("release"))) {
                if (line.startsWith("JAVA_VERSION=")) {
                    String v = line.substring("JAVA_VERSION=".length()).replace("\"", "");
                    return Integer.parseInt(v.split("[.+-]")[0]);
                }
            }
        } catch (IOException | RuntimeException e) {
            return 0;
        }
        return 0;
    }

    @Test
    void withDgramdAotCacheTheFirstRunRecordsTheCacheAndTheNextStartsFromIt(@org.junit.jupiter.api.io.TempDir Path dir)
            throws Exception {
        Path java = jdk25();
        org.junit.jupiter.api.Assumptions.assumeTrue(java != null, "no JDK 25 or later in /usr/lib/jvm");
        Path cache = Files.createDirectories(dir.resolve("with space")).resolve("dgramd.aot"); // one argument
        String[] first = run(Map.of("JAVA", java.toString(), "DGRAMD_AOT_CACHE", cache.toString(),
                "JAVA_OPTS", "-XX:+PrintCommandLineFlags"), "--version");
        assertThat(first[0]).as(first[1]).isEqualTo("0");
        assertThat(first[1]).contains("-XX:AOTCacheOutput=" + cache, "dgramd ");
        assertThat(cache).as("written when the JVM ended").isRegularFile();
        String[] second = run(Map.of("JAVA", java.toString(), "DGRAMD_AOT_CACHE", cache.toString(),
                "JAVA_OPTS", "-XX:+PrintCommandLineFlags -Xlog:aot=info"), "--version");
        assertThat(second[0]).as(second[1]).isEqualTo("0");
        assertThat(second[1]).contains("-XX:AOTCache=" + cache, "dgramd ")
                .as("the JVM used the cache").doesNotContain("Unable to use AOT cache");
    }

    private static String[] run(Map<String, String> env, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(LAUNCHER.toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().putAll(env);
        Process p = pb.start();
        p.getOutputStream().close();
        byte[] bytes = p.getInputStream().readAllBytes();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return new String[] {"timeout", new String(bytes, StandardCharsets.UTF_8)};
        }
        return new String[] {Integer.toString(p.exitValue()), new String(bytes, StandardCharsets.UTF_8)};
    }

    /** The exit status of {@code java OPTIONS -version}: 0 when the JVM accepts the options. */
    static int javaAccepts(List<String> options) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.addAll(options);
        cmd.add("-version");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return -1;
        }
        return p.exitValue();
    }
}
