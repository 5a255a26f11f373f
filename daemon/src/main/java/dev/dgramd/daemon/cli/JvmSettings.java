package dev.dgramd.daemon.cli;

import java.util.List;

/**
 * The JVM options the daemon ships with: the launcher ({@code daemon/target/dgramd}, from
 * {@code daemon/src/main/dist/dgramd}), the README's start command and the container image's
 * entrypoint give the daemon's JVM these, and the bench starts its daemons with them. A jar's
 * manifest cannot carry JVM options, so each of those places repeats them; {@code JvmSettingsTest}
 * and {@code DockerFilesIT} check that they agree with this list.
 */
public final class JvmSettings {
    private JvmSettings() {}

    /**
     * The options, in order: the serial collector and a 32 MiB initial heap (short pauses and a
     * small footprint on a daemon whose live data is small; the README's Performance section has
     * the measurements), exit on {@code OutOfMemoryError} (rather than serve on in an unknown
     * state; its supervisor restarts it), and a trim of the C heap every second (glibc keeps what the
     * JIT's compilations freed, tens of MiB after the warm-up; HotSpot 17.0.9 and later).
     */
    public static final List<String> OPTIONS = List.of("-XX:+UseSerialGC", "-Xms32m", "-XX:+ExitOnOutOfMemoryError",
            "-XX:TrimNativeHeapInterval=1000");

    /** Whether {@code option} selects the garbage collector ({@code -XX:+UseG1GC} and the like). */
    public static boolean selectsCollector(String option) {
        return option.matches("-XX:\\+Use\\w*GC");
    }
}
