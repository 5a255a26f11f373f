package dev.dgramd.ctl;

import dev.dgramd.proto.v1.TapDirection;
import dev.dgramd.proto.v1.TapRequest;
import dev.dgramd.proto.v1.TapResponse;
import dev.dgramd.proto.v1.TappedDatagram;
import io.grpc.Context;
import java.io.PrintWriter;
import java.time.Instant;
import java.util.Iterator;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code dgramctl tap SOCKET}: a live copy of a socket's datagrams, one line each, like a per-socket
 * tcpdump. Runs until the socket closes, {@code --count} datagrams were shown, or it is interrupted.
 */
@Command(name = "tap", mixinStandardHelpOptions = true,
        description = {
            "Prints every datagram the socket receives or sends from now on, one a line:",
            "  TIME  in|out  PEER  SIZE  PAYLOAD",
            "PAYLOAD as quoted text (the default) or hex. Runs until the socket closes",
            "(exit 0), --count datagrams were printed, or Ctrl-C. Watching never slows",
            "the socket: when this reader falls behind, the daemon drops copies, and a",
            "line '# N datagrams dropped' says so.",
            ""
        })
final class TapCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @ParentCommand
    Dgramctl ctl;

    @Parameters(paramLabel = "SOCKET", description = "The socket id, or a prefix only it has.")
    String socket;

    @ArgGroup(exclusive = true)
    PayloadFormat format = new PayloadFormat();

    @Option(names = "--count", paramLabel = "N", defaultValue = "0",
            description = "Stop after N datagrams; 0 (the default) for no limit.")
    long count;

    /** --hex or --text. */
    static final class PayloadFormat {
        @Option(names = "--hex", description = "Payloads in hex (what 'send --hex' reads).")
        boolean hex;

        @Option(names = "--text", description = "Payloads as quoted UTF-8 text, escaped (the default).")
        boolean text;
    }

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        try (Connection daemon = ctl.connect();
             Context.CancellableContext call = Context.current().withCancellation()) {
            String id = daemon.socketId(socket, spec.commandLine());
            Iterator<TapResponse> events = call.call(() ->
                    daemon.adminUnbounded().tap(TapRequest.newBuilder().setSocketId(id).build()));
            long shown = 0;
            while (events.hasNext()) {
                TapResponse e = events.next();
                if (e.getDropped() > 0) {
                    out.println("# " + e.getDropped() + " datagrams dropped: this tap fell behind");
                }
                if (e.hasAttached()) {
                    err.println("tapping " + id + " (" + Formats.socketType(e.getAttached().getType())
                            + " " + Formats.hostPort(e.getAttached().getLocal(), e.getAttached().hasLocal())
                            + "); Ctrl-C to stop");
                    err.flush();
                } else if (e.hasDatagram()) {
                    out.println(line(e.getDatagram()));
                    if (count > 0 && ++shown >= count) {
                        out.flush();
                        call.cancel(null);
                        return 0;
                    }
                }
                out.flush();
            }
            err.println("socket " + id + " closed");
            err.flush();
            return 0;
        }
    }

    private String line(TappedDatagram d) {
        byte[] data = d.getData().toByteArray();
        return Instant.ofEpochSecond(d.getTime().getSeconds(), d.getTime().getNanos()) + "  "
                + (d.getDirection() == TapDirection.TAP_DIRECTION_RECEIVED ? "in " : "out") + "  "
                + Formats.hostPort(d.getPeer(), d.hasPeer()) + "  " + data.length + "  "
                + (format.hex ? Formats.hex(data) : Formats.text(data));
    }
}
