package dev.dgramd.ctl;

import dev.dgramd.proto.v1.ListSocketsRequest;
import dev.dgramd.proto.v1.SocketInfo;
import java.io.PrintWriter;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code dgramctl ls}: the open sockets, one a line, oldest first. */
@Command(name = "ls", mixinStandardHelpOptions = true,
        description = {
            "Lists the open sockets, oldest first: id, type, name (SocketOptions.name;",
            "- for none), local and remote address, datagrams and bytes received (RX) and",
            "sent (TX), send failures, events dropped (DROPPED: 'message' and 'error' events",
            "the daemon dropped), inbound datagrams lost by where (KERNEL: the socket's",
            "receive buffer was full; BUDGET: the daemon-wide event budget was full; LISTENER:",
            "the socket's own bound was full, its reader absent or behind), bytes of events",
            "held for its reader (BUFFERED), whether an Events stream is attached (no: an",
            "orphan, waiting for its client within its keep-alive), taps, creation time.",
            ""
        })
final class ListCommand implements Runnable {
    private static final String[] HEADER = {"ID", "TYPE", "NAME", "LOCAL", "REMOTE", "RX", "RX_BYTES", "TX",
        "TX_BYTES", "FAILED", "DROPPED", "KERNEL", "BUDGET", "LISTENER", "BUFFERED", "ATTACHED", "TAPS", "CREATED"};

    @Spec
    CommandSpec spec;

    @ParentCommand
    Dgramctl ctl;

    @Option(names = {"-q", "--quiet"}, description = "Print the socket ids only.")
    boolean quiet;

    @Override
    public void run() {
        List<SocketInfo> sockets;
        try (Connection daemon = ctl.connect()) {
            sockets = daemon.admin().listSockets(ListSocketsRequest.getDefaultInstance()).getSocketsList();
        }
        PrintWriter out = spec.commandLine().getOut();
        if (quiet) {
            sockets.forEach(s -> out.println(s.getSocketId()));
            out.flush();
            return;
        }
        List<String[]> rows = new ArrayList<>();
        rows.add(HEADER);
        for (SocketInfo s : sockets) {
            rows.add(new String[] {
                s.getSocketId(),
                Formats.socketType(s.getType()),
                s.getName().isEmpty() ? "-" : s.getName(),
                Formats.hostPort(s.getLocal(), s.hasLocal()),
                Formats.hostPort(s.getRemote(), s.hasRemote()),
                Long.toString(s.getDatagramsReceived()),
                Long.toString(s.getBytesReceived()),
                Long.toString(s.getDatagramsSent()),
                Long.toString(s.getBytesSent()),
                Long.toString(s.getSendFailures()),
                Long.toString(s.getDroppedMessages() + s.getDroppedErrors()),
                Long.toString(s.getKernelDropped()),
                Long.toString(s.getDroppedMessagesBudget()),
                Long.toString(s.getDroppedMessages() - s.getDroppedMessagesBudget()),
                Long.toString(s.getBufferedEventBytes()),
                s.getEventsAttached() ? "yes" : "no",
                Integer.toString(s.getTaps()),
                Instant.ofEpochSecond(s.getCreatedTime().getSeconds(), s.getCreatedTime().getNanos())
                        .truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString(),
            });
        }
        int[] widths = new int[HEADER.length];
        for (String[] row : rows) {
            for (int i = 0; i < row.length; i++) {
                widths[i] = Math.max(widths[i], row[i].length());
            }
        }
        for (String[] row : rows) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < row.length; i++) {
                line.append(i == row.length - 1 ? row[i] : String.format("%-" + widths[i] + "s  ", row[i]));
            }
            out.println(line);
        }
        out.flush();
    }
}
