package dev.dgramd.daemon;

import dev.dgramd.proto.v1.BindRequest;
import dev.dgramd.proto.v1.CreateSocketRequest;
import dev.dgramd.proto.v1.DgramGrpc;
import dev.dgramd.proto.v1.SocketEvent;
import dev.dgramd.proto.v1.SocketType;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A client JVM for {@link OrphanReapingTest}: against the daemon at {@code args[0]}, creates 3
 * sockets, attaches their Events streams, binds them to 127.0.0.1, prints "SOCKET id port" per
 * socket once its 'listening' event arrived (so the stream is attached), then "READY", and blocks
 * until killed.
 */
final class OrphanClientMain {
    private OrphanClientMain() {
    }

    /** A started client JVM and the sockets it reported. */
    record Child(Process process, List<String> ids, List<Integer> ports) {
    }

    /**
     * Starts the client JVM against {@code target}, its command line after {@code wrapper} (e.g.
     * {@code ip netns exec NS}), and returns once it printed READY (at most 30 s).
     */
    static Child launch(List<String> wrapper, String target) throws Exception {
        List<String> command = new ArrayList<>(wrapper);
        command.addAll(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), OrphanClientMain.class.getName(), target));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        List<String> ids = new ArrayList<>();
        List<Integer> ports = new ArrayList<>();
        BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        // Bounded: the child exits (end of output) if it fails; the reader's deadline is the future's.
        CompletableFuture<Void> ready = CompletableFuture.runAsync(() -> {
            try {
                for (String line; (line = out.readLine()) != null && !line.equals("READY"); ) {
                    String[] f = line.split(" ");
                    if (f.length == 3 && f[0].equals("SOCKET")) {
                        ids.add(f[1]);
                        ports.add(Integer.parseInt(f[2]));
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        try {
            ready.get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            process.destroyForcibly();
            throw e;
        }
        return new Child(process, ids, ports);
    }

    public static void main(String[] args) throws Exception {
        ManagedChannel channel = NettyChannelBuilder.forTarget(args[0]).usePlaintext().build();
        DgramGrpc.DgramBlockingStub stub = DgramGrpc.newBlockingStub(channel);
        DgramGrpc.DgramStub async = DgramGrpc.newStub(channel);
        for (int i = 0; i < 3; i++) {
            String id = stub.createSocket(CreateSocketRequest.newBuilder().setType(SocketType.SOCKET_TYPE_UDP4).build())
                    .getSocketId();
            EventRecorder events = EventRecorder.subscribe(async, id);
            int port = stub.bind(BindRequest.newBuilder().setSocketId(id).setAddress("127.0.0.1").build())
                    .getAddress().getPort();
            events.next(SocketEvent.EventCase.LISTENING);
            System.out.println("SOCKET " + id + " " + port);
        }
        System.out.println("READY");
        System.out.flush();
        Thread.currentThread().join(); // until killed
    }
}
