package dev.dgramd.daemon.cli;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.OutputStreamAppender;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.slf4j.MDC;

/** The JSON log format: one object per line, MDC entries as fields, stack traces escaped. */
class JsonLogLayoutTest {

    @Test
    void eachEventIsOneJsonObjectWithTheMdcAndTheError() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Logger log = logger(out);
        Instant before = Instant.now();
        try (var socket = MDC.putCloseable("socket_id", "0123abcd");
             var principal = MDC.putCloseable("principal", "alice")) {
            log.info("socket {}: \"quoted\"\tand\nnew line \u0001", "0123abcd");
        }
        log.warn("no MDC here", new IllegalStateException("boom"));

        List<String> lines = out.toString(StandardCharsets.UTF_8).lines().toList();
        assertThat(lines).hasSize(2);
        JsonObject first = JsonParser.parseString(lines.get(0)).getAsJsonObject();
        assertThat(first.get("level").getAsString()).isEqualTo("INFO");
        assertThat(first.get("logger").getAsString()).isEqualTo("test.json");
        assertThat(first.get("thread").getAsString()).isEqualTo(Thread.currentThread().getName());
        assertThat(first.get("message").getAsString()).isEqualTo("socket 0123abcd: \"quoted\"\tand\nnew line \u0001");
        assertThat(first.get("socket_id").getAsString()).isEqualTo("0123abcd");
        assertThat(first.get("principal").getAsString()).isEqualTo("alice");
        assertThat(Instant.parse(first.get("time").getAsString())).isBetween(before.minusMillis(1), Instant.now());
        assertThat(first.has("error")).isFalse();

        JsonObject second = JsonParser.parseString(lines.get(1)).getAsJsonObject();
        assertThat(second.get("level").getAsString()).isEqualTo("WARN");
        assertThat(second.has("socket_id")).isFalse();
        assertThat(second.get("error").getAsString()).startsWith("java.lang.IllegalStateException: boom")
                .contains("\tat " + getClass().getName());
    }

    @Test
    void mdcEntriesCannotReplaceTheStandardFields() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Logger log = logger(out);
        try (var fake = MDC.putCloseable("level", "FAKE")) {
            log.error("real");
        }
        JsonObject line = JsonParser.parseString(out.toString(StandardCharsets.UTF_8).strip()).getAsJsonObject();
        assertThat(line.get("level").getAsString()).isEqualTo("ERROR");
        assertThat(line.size()).isEqualTo(5);
    }

    /** A logger of a logback context of its own, writing JSON lines to {@code out}. */
    private static Logger logger(ByteArrayOutputStream out) {
        LoggerContext context = new LoggerContext();
        context.setMDCAdapter(MDC.getMDCAdapter()); // the MDC the daemon's code writes to
        OutputStreamAppender<ILoggingEvent> appender = new OutputStreamAppender<>();
        appender.setContext(context);
        appender.setEncoder(LogSetup.encoder(context, new JsonLogLayout()));
        appender.setOutputStream(out);
        appender.start();
        Logger log = context.getLogger("test.json");
        log.addAppender(appender);
        return log;
    }
}
