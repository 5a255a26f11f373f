package dev.dgramd.client;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;

/**
 * A receiver program, as a server restarted for a deploy would run it: a socket named
 * {@code args[1]} on the daemon at {@code args[0]}, bound with {@code bind(0)}. Prints
 * "listening PORT", "got PAYLOAD" per datagram, and on the line "report" from its input
 * "dropped N" (Socket.droppedMessages).
 */
public final class NamedReceiverChild {
    private NamedReceiverChild() {}

    public static void main(String[] args) throws Exception {
        DgramClient dgram = DgramClient.connect(args[0]);
        Socket socket = dgram.createSocket(new SocketOptions().type("udp4").name(args[1]));
        socket.on("message", (msg, rinfo) -> System.out.println("got " + new String(msg, StandardCharsets.UTF_8)));
        socket.on("listening", () -> System.out.println("listening " + socket.address().port()));
        socket.on("error", err -> System.out.println("error " + err));
        socket.bind(0);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line; (line = in.readLine()) != null; ) {
            if (line.equals("report")) {
                System.out.println("dropped " + socket.droppedMessages());
            }
        }
        socket.close();
        dgram.close();
    }
}
