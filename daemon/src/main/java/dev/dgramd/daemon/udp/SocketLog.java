package dev.dgramd.daemon.udp;

import org.slf4j.Logger;
import org.slf4j.MDC;

/**
 * Log lines about one socket: for the line's duration its id is in the MDC under {@value #MDC_KEY},
 * so that structured (JSON) logs carry it as a field. Arguments as SLF4J's, a throwable last.
 */
public final class SocketLog {
    /** The MDC key of the socket id. */
    public static final String MDC_KEY = "socket_id";

    private SocketLog() {
    }

    public static void debug(Logger log, String socketId, String format, Object... args) {
        if (log.isDebugEnabled()) {
            with(socketId, () -> log.debug(format, args));
        }
    }

    public static void info(Logger log, String socketId, String format, Object... args) {
        if (log.isInfoEnabled()) {
            with(socketId, () -> log.info(format, args));
        }
    }

    public static void warn(Logger log, String socketId, String format, Object... args) {
        if (log.isWarnEnabled()) {
            with(socketId, () -> log.warn(format, args));
        }
    }

    private static void with(String socketId, Runnable line) {
        String previous = MDC.get(MDC_KEY);
        MDC.put(MDC_KEY, socketId);
        try {
            line.run();
        } finally {
            if (previous == null) {
                MDC.remove(MDC_KEY);
            } else {
                MDC.put(MDC_KEY, previous);
            }
        }
    }
}
