package dev.dgramd.daemon.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The launcher's shipped JVM options are {@link JvmSettings#OPTIONS}. */
class JvmSettingsTest {
    static final Path LAUNCHER = Path.of("src", "main", "dist", "dgramd");

    @Test
    void theLauncherShipsJvmSettings() throws IOException {
        Matcher m = Pattern.compile("(?m)^shipped=\"([^\"]*)\"$").matcher(Files.readString(LAUNCHER));
        assertThat(m.find()).as("a shipped=\"...\" line in %s", LAUNCHER).isTrue();
        assertThat(List.of(m.group(1).trim().split("\\s+"))).isEqualTo(JvmSettings.OPTIONS);
        assertThat(Files.isExecutable(LAUNCHER)).as("%s is executable", LAUNCHER).isTrue();
    }

    @Test
    void collectorOptionsAreRecognised() {
        assertThat(JvmSettings.selectsCollector("-XX:+UseSerialGC")).isTrue();
        assertThat(JvmSettings.selectsCollector("-XX:+UseZGC")).isTrue();
        assertThat(JvmSettings.selectsCollector("-XX:+UseNUMA")).isFalse();
        assertThat(JvmSettings.selectsCollector("-XX:-UseG1GC")).isFalse();
    }
}
