package dev.dgramd.daemon;

import dev.dgramd.proto.v1.BindRequest;
import dev.dgramd.proto.v1.CreateSocketRequest;
import dev.dgramd.proto.v1.DgramGrpc;
import dev.dgramd.proto.v1.SocketEvent;
import dev.dgramd.proto.v1.SocketType;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;

/**
 * A client JVM for {@link OrphanReapingTest}: against the daemon at {@code args[0]}, creates 3
 * sockets, attaches their Events streams, binds them to 127.0.0.1, prints "SOCKET id port" per
 * socket once its 'listening' event arrived (so the stream is attached), then "READY", and blocks
 * until killed.
 */
final class OrphanClientMain {
    private OrphanClientMain() {
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
