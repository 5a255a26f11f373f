package dev.dgramd.ctl;

import com.google.protobuf.ByteString;
import dev.dgramd.proto.v1.SendTestRequest;
import dev.dgramd.proto.v1.SendTestResponse;
import dev.dgramd.proto.v1.SocketType;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code dgramctl send}: one test datagram, from a fresh socket or from an open one. */
@Command(name = "send", mixinStandardHelpOptions = true,
        description = {
            "Sends one datagram from the daemon: from a fresh socket (udp6 when --to is",
            "an IPv6 address, else udp4), closed right after, or with --from from an",
            "open socket, as its owner's send would. The payload is TEXT (UTF-8) or",
            "--hex HEX.",
            ""
        })
final class SendCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @ParentCommand
    Dgramctl ctl;

    @Option(names = "--to", paramLabel = "HOST:PORT", required = true,
            description = "Destination; IPv6 in brackets: [::1]:5000.")
    String to;

    @Option(names = "--from", paramLabel = "SOCKET", description = "Send from this open socket (id or prefix).")
    String from;

    @Option(names = "--hex", paramLabel = "HEX", description = "The payload in hex, e.g. 68656c6c6f.")
    String hex;

    @Parameters(paramLabel = "TEXT", arity = "0..1", description = "The payload as text.")
    String text;

    @Override
    public void run() {
        if ((text == null) == (hex == null)) {
            throw new ParameterException(spec.commandLine(), "give the payload as TEXT or as --hex HEX (one of them)");
        }
        byte[] payload;
        try {
            payload = hex != null ? Formats.parseHex(hex) : text.getBytes(StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        int colon = to.lastIndexOf(':');
        if (colon <= 0 || colon == to.length() - 1) {
            throw new ParameterException(spec.commandLine(), "--to must be HOST:PORT, got '" + to + "'");
        }
        String host = to.substring(0, colon);
        boolean ipv6 = host.startsWith("[") && host.endsWith("]");
        if (ipv6) {
            host = host.substring(1, host.length() - 1);
        }
        int port;
        try {
            port = Integer.parseInt(to.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new ParameterException(spec.commandLine(), "--to port must be a number, got '" + to + "'");
        }
        SendTestResponse sent;
        try (Connection daemon = ctl.connect()) {
            SendTestRequest.Builder request = SendTestRequest.newBuilder().setAddress(host).setPort(port)
                    .setData(ByteString.copyFrom(payload)).setType(ipv6 ? SocketType.SOCKET_TYPE_UDP6 : SocketType.SOCKET_TYPE_UDP4);
            if (from != null) {
                request.setSocketId(daemon.socketId(from, spec.commandLine()));
            }
            sent = daemon.admin().sendTest(request.build());
        }
        PrintWriter out = spec.commandLine().getOut();
        out.println("sent " + sent.getBytes() + " bytes to " + to + " from " + Formats.hostPort(sent.getLocal(),
                sent.hasLocal()) + (from != null ? " (socket " + sent.getSocketId() + ")" : " (a fresh socket, closed)"));
        out.flush();
    }
}
