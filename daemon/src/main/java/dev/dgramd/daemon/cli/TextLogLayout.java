package dev.dgramd.daemon.cli;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.CoreConstants;
import ch.qos.logback.core.LayoutBase;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/**
 * The daemon's text log line, {@code 2026-12-04T18:30:22.451Z INFO  [main] d.d.daemon.Dgramd - message}:
 * the time (ISO-8601, UTC, milliseconds), the level padded to five, the thread, the logger's name
 * shortened to {@value #LOGGER_LENGTH} characters where it can be, and the message; the stack trace
 * on the lines after it when the event carries an exception.
 */
final class TextLogLayout extends LayoutBase<ILoggingEvent> {
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSXXX")
            .withZone(ZoneOffset.UTC);
    /** The logger's name is shortened to this many characters where it can be. */
    static final int LOGGER_LENGTH = 24;

    @Override
    public String doLayout(ILoggingEvent event) {
        StringBuilder line = new StringBuilder(128);
        TIME.formatTo(Instant.ofEpochMilli(event.getTimeStamp()), line);
        line.append(' ');
        String level = event.getLevel().toString();
        line.append(level);
        for (int i = level.length(); i < 5; i++) {
            line.append(' ');
        }
        line.append(" [").append(event.getThreadName()).append("] ");
        abbreviate(line, event.getLoggerName(), LOGGER_LENGTH);
        line.append(" - ").append(event.getFormattedMessage()).append(CoreConstants.LINE_SEPARATOR);
        IThrowableProxy error = event.getThrowableProxy();
        if (error != null) {
            line.append(ThrowableProxyUtil.asString(error)); // each of its lines ends with a separator
        }
        return line.toString();
    }

    /**
     * Appends {@code name}, its packages shortened to their initials from the left until it is at
     * most {@code target} characters long or only the class name is left whole (as logback's
     * {@code %logger{24}}): {@code dev.dgramd.daemon.grpc.EventStream} as {@code d.d.d.grpc.EventStream}.
     */
    static void abbreviate(StringBuilder line, String name, int target) {
        int length = name.length();
        int lastDot = name.lastIndexOf('.');
        int start = 0;
        while (length > target && start < lastDot) {
            int dot = name.indexOf('.', start);
            line.append(name.charAt(start)).append('.');
            length -= dot - start - 1;
            start = dot + 1;
        }
        line.append(name, start, name.length());
    }
}
