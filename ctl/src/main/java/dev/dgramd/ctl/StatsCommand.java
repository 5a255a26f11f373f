package dev.dgramd.ctl;

import dev.dgramd.proto.v1.StatsRequest;
import dev.dgramd.proto.v1.StatsResponse;
import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code dgramctl stats}: the daemon's totals since it started, one "name value" a line. */
@Command(name = "stats", mixinStandardHelpOptions = true,
        description = {
            "The daemon's version, transport, uptime, and its totals since it started",
            "(closed sockets included).",
            ""
        })
final class StatsCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @ParentCommand
    Dgramctl ctl;

    @Override
    public void run() {
        StatsResponse s;
        try (Connection daemon = ctl.connect()) {
            s = daemon.admin().stats(StatsRequest.getDefaultInstance());
        }
        PrintWriter out = spec.commandLine().getOut();
        line(out, "version", s.getVersion());
        line(out, "transport", s.getTransport());
        line(out, "started", Instant.ofEpochSecond(s.getStartedTime().getSeconds(), s.getStartedTime().getNanos())
                .truncatedTo(java.time.temporal.ChronoUnit.SECONDS));
        line(out, "uptime", Formats.duration(Duration.ofSeconds(s.getUptime().getSeconds(), s.getUptime().getNanos())));
        line(out, "sockets_open", s.getSocketsOpen());
        line(out, "sockets_created", s.getSocketsCreated());
        line(out, "sockets_closed", s.getSocketsClosed());
        line(out, "datagrams_received", s.getDatagramsReceived());
        line(out, "bytes_received", s.getBytesReceived());
        line(out, "datagrams_sent", s.getDatagramsSent());
        line(out, "bytes_sent", s.getBytesSent());
        line(out, "send_failures", s.getSendFailures());
        line(out, "errors_emitted", s.getErrorsEmitted());
        line(out, "dropped_messages", s.getDroppedMessages());
        line(out, "dropped_errors", s.getDroppedErrors());
        line(out, "tap_dropped", s.getTapDropped());
        line(out, "dropped_kernel", s.getKernelDropped());
        line(out, "dropped_budget", s.getDroppedMessagesBudget());
        line(out, "dropped_listener", s.getDroppedMessages() - s.getDroppedMessagesBudget());
        line(out, "buffered_events", s.getBufferedEventBytes() + " of " + s.getBufferedEventBytesLimit() + " bytes");
        out.flush();
    }

    private static void line(PrintWriter out, String name, Object value) {
        out.printf("%-19s %s%n", name, value);
    }
}
