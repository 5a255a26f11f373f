package dev.dgramd.client.examples;

import dev.dgramd.client.AddressInfo;
import dev.dgramd.client.DgramClient;
import dev.dgramd.client.Socket;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;

/**
 * Node's UDP server example ({@code server.bind(41234)}), in Java, with the socket in dgramd.
 *
 * <pre>{@code
 * import dgram from 'node:dgram';
 * const server = dgram.createSocket('udp4');
 * server.on('error', (err) => {
 *   console.error(`server error:\n${err.stack}`);
 *   server.close();
 * });
 * server.on('message', (msg, rinfo) => {
 *   console.log(`server got: ${msg} from ${rinfo.address}:${rinfo.port}`);
 * });
 * server.on('listening', () => {
 *   const address = server.address();
 *   console.log(`server listening ${address.address}:${address.port}`);
 * });
 * server.bind(41234);
 * // Prints: server listening 0.0.0.0:41234
 * }</pre>
 *
 * <p>Run: {@code java ... dev.dgramd.client.examples.UdpServerExample [daemon host:port]} (default
 * 127.0.0.1:50051), then e.g. {@code echo -n hello | nc -u -w1 127.0.0.1 41234}. The bound socket
 * keeps the JVM running, as it keeps a Node process running, until an error closes it.
 */
public final class UdpServerExample {
    private UdpServerExample() {}

    public static void main(String[] args) {
        String target = args.length > 0 ? args[0] : "127.0.0.1:50051";
        DgramClient dgram = DgramClient.connect(target);

        Socket server = dgram.createSocket("udp4");
        server.on("error", err -> {
            StringWriter stack = new StringWriter();
            err.printStackTrace(new PrintWriter(stack));
            System.err.println("server error:\n" + stack);
            server.close();
        });
        server.on("message", (msg, rinfo) -> {
            System.out.println("server got: " + new String(msg, StandardCharsets.UTF_8) + " from "
                    + rinfo.address() + ":" + rinfo.port());
        });
        server.on("listening", () -> {
            AddressInfo address = server.address();
            System.out.println("server listening " + address.address() + ":" + address.port());
        });
        server.bind(41234);
        // Prints: server listening 0.0.0.0:41234
    }
}
