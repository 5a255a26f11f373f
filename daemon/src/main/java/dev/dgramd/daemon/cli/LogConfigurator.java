package dev.dgramd.daemon.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.core.spi.ContextAwareBase;
import org.slf4j.Logger;

/**
 * The daemon's logging set-up, in code rather than in a logback.xml: one console appender named
 * {@value LogSetup#CONSOLE} writing {@link TextLogLayout} lines to standard output; the root at
 * {@code DGRAMD_LOG_LEVEL} (default INFO; {@code --log-level} applies later), gRPC and Netty at WARN,
 * Netty's {@code ServerBootstrap} at ERROR (grpc-netty sets SO_KEEPALIVE on every accepted connection,
 * and on a {@code unix:} listener Netty warns of it once per connection). Logback finds it through
 * {@code META-INF/services}; reading a logback.xml would load about 600 classes of logback's
 * configuration language and the JDK's XML parser into every daemon for the same few lines.
 *
 * <p>It steps aside, for logback's own configuration, when {@code -Dlogback.configurationFile} names
 * a file or a {@code logback-test.xml} or {@code logback.xml} is on the class path (the tests' and
 * the bench's own, or one a user adds).
 */
public final class LogConfigurator extends ContextAwareBase implements Configurator {
    /** For {@link java.util.ServiceLoader}. */
    public LogConfigurator() {}

    @Override
    public ExecutionStatus configure(LoggerContext context) {
        ClassLoader loader = LogConfigurator.class.getClassLoader();
        if (System.getProperty("logback.configurationFile") != null || loader.getResource("logback-test.xml") != null
                || loader.getResource("logback.xml") != null) {
            return ExecutionStatus.INVOKE_NEXT_IF_ANY;
        }
        install(context);
        return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
    }

    /** Sets {@code context} up as the class comment says, whatever else is on the class path. */
    static void install(LoggerContext context) {
        ch.qos.logback.classic.Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
        root.setLevel(Level.toLevel(System.getenv("DGRAMD_LOG_LEVEL"), Level.INFO));
        root.addAppender(LogSetup.console(context, new TextLogLayout()));
        context.getLogger("io.grpc").setLevel(Level.WARN);
        context.getLogger("io.netty").setLevel(Level.WARN);
        context.getLogger("io.netty.bootstrap.ServerBootstrap").setLevel(Level.ERROR);
    }
}
