package dev.dgramd.daemon.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.LayoutBase;
import ch.qos.logback.core.encoder.LayoutWrappingEncoder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies {@code --log-level} and {@code --log-format} to logback at start-up: the level to the root
 * logger; for json, the console appender of logback.xml is replaced by one writing
 * {@link JsonLogLayout} lines. Does nothing when logback is not the SLF4J backend.
 */
final class LogSetup {
    /** The console appender's name in logback.xml. */
    static final String CONSOLE = "STDOUT";

    private LogSetup() {
    }

    static void apply(DgramdCommand.LogFormat format, DgramdCommand.LogLevel level) {
        if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
            return;
        }
        ch.qos.logback.classic.Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
        root.setLevel(Level.toLevel(level.name()));
        if (format != DgramdCommand.LogFormat.JSON || !(root.getAppender(CONSOLE) instanceof ConsoleAppender<?>)) {
            return;
        }
        ConsoleAppender<ILoggingEvent> json = console(context, new JsonLogLayout());
        ch.qos.logback.core.Appender<ILoggingEvent> text = root.getAppender(CONSOLE);
        root.detachAppender(text);
        text.stop();
        root.addAppender(json);
    }

    /** A started console appender named {@value #CONSOLE} writing {@code layout}'s lines (started here too). */
    static ConsoleAppender<ILoggingEvent> console(LoggerContext context, LayoutBase<ILoggingEvent> layout) {
        ConsoleAppender<ILoggingEvent> console = new ConsoleAppender<>();
        console.setContext(context);
        console.setName(CONSOLE);
        console.setEncoder(encoder(context, layout));
        console.start();
        return console;
    }

    /** A started encoder writing {@code layout}'s lines, the layout started too. */
    static LayoutWrappingEncoder<ILoggingEvent> encoder(LoggerContext context, LayoutBase<ILoggingEvent> layout) {
        layout.setContext(context);
        layout.start();
        LayoutWrappingEncoder<ILoggingEvent> encoder = new LayoutWrappingEncoder<>();
        encoder.setContext(context);
        encoder.setLayout(layout);
        encoder.start();
        return encoder;
    }
}
