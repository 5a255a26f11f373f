package dev.dgramd.daemon.cli;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.CoreConstants;
import ch.qos.logback.core.LayoutBase;
import java.time.Instant;
import java.util.Map;
import java.util.Set;

/**
 * One JSON object per log line: {@code time} (ISO-8601, UTC), {@code level}, {@code logger},
 * {@code thread}, {@code message}, every MDC entry ({@code socket_id}, {@code principal}, ... when set)
 * and {@code error} (the stack trace) when the event carries an exception.
 */
final class JsonLogLayout extends LayoutBase<ILoggingEvent> {
    private static final Set<String> RESERVED = Set.of("time", "level", "logger", "thread", "message", "error");

    @Override
    public String doLayout(ILoggingEvent event) {
        StringBuilder json = new StringBuilder(256);
        json.append('{');
        field(json, "time", Instant.ofEpochMilli(event.getTimeStamp()).toString());
        field(json, "level", event.getLevel().toString());
        field(json, "logger", event.getLoggerName());
        field(json, "thread", event.getThreadName());
        field(json, "message", event.getFormattedMessage());
        Map<String, String> mdc = event.getMDCPropertyMap();
        if (mdc != null) {
            for (Map.Entry<String, String> e : mdc.entrySet()) {
                if (!RESERVED.contains(e.getKey()) && e.getValue() != null) {
                    field(json, e.getKey(), e.getValue());
                }
            }
        }
        IThrowableProxy error = event.getThrowableProxy();
        if (error != null) {
            field(json, "error", ThrowableProxyUtil.asString(error));
        }
        json.setLength(json.length() - 1); // the last comma
        return json.append('}').append(CoreConstants.LINE_SEPARATOR).toString();
    }

    @Override
    public String getContentType() {
        return "application/json";
    }

    private static void field(StringBuilder json, String name, String value) {
        string(json, name);
        json.append(':');
        string(json, value == null ? "" : value);
        json.append(',');
    }

    /** Appends {@code s} as a JSON string (RFC 8259 escapes; control characters as \\uXXXX). */
    static void string(StringBuilder json, String s) {
        json.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> json.append("\\\"");
                case '\\' -> json.append("\\\\");
                case '\n' -> json.append("\\n");
                case '\r' -> json.append("\\r");
                case '\t' -> json.append("\\t");
                default -> {
                    if (c < 0x20) {
                        json.append(String.format("\\u%04x", (int) c));
                    } else {
                        json.append(c);
                    }
                }
            }
        }
        json.append('"');
    }
}
