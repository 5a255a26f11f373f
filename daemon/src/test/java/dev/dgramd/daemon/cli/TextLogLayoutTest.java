package dev.dgramd.daemon.cli;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.Configurator.ExecutionStatus;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.OutputStreamAppender;
import ch.qos.logback.core.encoder.LayoutWrappingEncoder;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.slf4j.MDC;

/** The text log format and the logging set-up the daemon installs in code. */
class TextLogLayoutTest {

    @Test
    void aLineHasTheTimeLevelThreadShortenedLoggerAndMessage() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        LoggerContext context = new LoggerContext();
        context.setMDCAdapter(MDC.getMDCAdapter());
        Logger log = context.getLogger("dev.dgramd.daemon.grpc.EventStream");
        log.addAppender(appender(context, out));
        Instant before = Instant.now().minusMillis(1);
        log.info("socket {} opened", "0123abcd");
        log.warn("it failed", new IllegalStateException("boom"));

        List<String> lines = out.toString(StandardCharsets.UTF_8).lines().toList();
        String thread = Thread.currentThread().getName();
        assertThat(lines.get(0)).matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z INFO  \\["
                + Pattern.quote(thread) + "\\] d\\.d\\.d\\.grpc\\.EventStream - socket 0123abcd opened");
        assertThat(Instant.parse(lines.get(0).substring(0, 24))).isBetween(before, Instant.now());
        assertThat(lines.get(1)).endsWith("WARN  [" + thread + "] d.d.d.grpc.EventStream - it failed");
        assertThat(lines.get(2)).isEqualTo("java.lang.IllegalStateException: boom");
        assertThat(lines.get(3)).startsWith("\tat " + getClass().getName());
        assertThat(lines).as("no empty line after the stack trace").doesNotContain("");
    }

    @Test
    void loggerNamesAreShortenedFromTheLeftToTwentyFourCharactersButNeverTheClassName() {
        assertThat(abbreviated("dev.dgramd.daemon.Dgramd")).isEqualTo("dev.dgramd.daemon.Dgramd"); // 24 already
        assertThat(abbreviated("dev.dgramd.daemon.warmup.WarmUp")).isEqualTo("d.d.daemon.warmup.WarmUp");
        assertThat(abbreviated("dev.dgramd.daemon.cli.DgramdCommand")).isEqualTo("d.d.d.cli.DgramdCommand");
        assertThat(abbreviated("io.netty.AVeryLongClassNameIndeedLongerThanTheTarget"))
                .isEqualTo("i.n.AVeryLongClassNameIndeedLongerThanTheTarget");
        assertThat(abbreviated("dgramd.audit")).isEqualTo("dgramd.audit");
        assertThat(abbreviated("NoPackageAtAllAndLongerThanTwentyFour")).isEqualTo("NoPackageAtAllAndLongerThanTwentyFour");
    }

    @Test
    void theInstalledSetUpIsOneConsoleAppenderAndTheDaemonsLevels() {
        LoggerContext context = new LoggerContext();
        LogConfigurator.install(context);
        Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        Appender<ILoggingEvent> console = root.getAppender(LogSetup.CONSOLE);
        assertThat(console).isInstanceOf(ConsoleAppender.class);
        assertThat(((LayoutWrappingEncoder<?>) ((ConsoleAppender<?>) console).getEncoder()).getLayout())
                .isInstanceOf(TextLogLayout.class);
        assertThat(console.isStarted()).isTrue();
        assertThat(root.getLevel()).isEqualTo(Level.toLevel(System.getenv("DGRAMD_LOG_LEVEL"), Level.INFO));
        assertThat(context.getLogger("io.grpc.netty.NettyServer").getEffectiveLevel()).isEqualTo(Level.WARN);
        assertThat(context.getLogger("io.netty.channel.epoll.Epoll").getEffectiveLevel()).isEqualTo(Level.WARN);
        assertThat(context.getLogger("io.netty.bootstrap.ServerBootstrap").getEffectiveLevel()).isEqualTo(Level.ERROR);
    }

    @Test
    void aLogbackFileOnTheClassPathTakesPrecedence() {
        // The tests' own logback-test.xml is on this class path.
        LogConfigurator configurator = new LogConfigurator();
        LoggerContext context = new LoggerContext();
        configurator.setContext(context);
        assertThat(configurator.configure(context)).isEqualTo(ExecutionStatus.INVOKE_NEXT_IF_ANY);
        assertThat(context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME).getAppender(LogSetup.CONSOLE)).isNull();
    }

    private static String abbreviated(String name) {
        StringBuilder sb = new StringBuilder();
        TextLogLayout.abbreviate(sb, name, TextLogLayout.LOGGER_LENGTH);
        return sb.toString();
    }

    private static OutputStreamAppender<ILoggingEvent> appender(LoggerContext context, ByteArrayOutputStream out) {
        OutputStreamAppender<ILoggingEvent> appender = new OutputStreamAppender<>();
        appender.setContext(context);
        appender.setEncoder(LogSetup.encoder(context, new TextLogLayout()));
        appender.setOutputStream(out);
        appender.start();
        return appender;
    }
}
