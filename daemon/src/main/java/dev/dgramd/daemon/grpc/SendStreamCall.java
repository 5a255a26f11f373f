package dev.dgramd.daemon.grpc;

import dev.dgramd.daemon.udp.DgramError;
import dev.dgramd.daemon.udp.SocketRegistry;
import dev.dgramd.daemon.udp.UdpSocket;
import dev.dgramd.proto.v1.OutboundDatagram;
import dev.dgramd.proto.v1.SendBatch;
import dev.dgramd.proto.v1.SendResult;
import dev.dgramd.proto.v1.SendResultBatch;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.netty.buffer.Unpooled;
import java.util.ArrayList;
import java.util.List;

/**
 * One SendStream call: batches of datagrams in, batches of results out.
 *
 * <p>Flow control: at most {@link #MAX_OUTSTANDING} batches are in the daemon at once; the next one
 * is requested only when a batch is fully answered and the client is reading the results
 * (the response stream is ready). So neither direction can queue without bound.
 */
final class SendStreamCall implements StreamObserver<SendBatch> {
    static final int MAX_OUTSTANDING = 4;

    private final SocketRegistry registry;
    private final ServerCallStreamObserver<SendResultBatch> responses;
    private final Object lock = new Object();
    // Guarded by lock.
    private int outstanding;
    private int owedRequests;
    private boolean inputDone;
    private boolean finished;

    SendStreamCall(SocketRegistry registry, ServerCallStreamObserver<SendResultBatch> responses) {
        this.registry = registry;
        this.responses = responses;
        responses.disableAutoRequest();
        responses.setOnReadyHandler(this::onReady);
        responses.setOnCancelHandler(() -> {
            synchronized (lock) {
                finished = true;
            }
        });
        responses.request(MAX_OUTSTANDING);
    }

    @Override
    public void onNext(SendBatch batch) {
        synchronized (lock) {
            outstanding++;
        }
        String socketId = batch.getSocketId();
        UdpSocket socket = registry.get(socketId);
        int n = batch.getDatagramsCount();
        if (socket == null || n == 0) {
            SendResultBatch.Builder out = SendResultBatch.newBuilder().setSocketId(socketId);
            if (n > 0) {
                var error = ErrorMapping.toProto(DgramError.of("ERR_SOCKET_DGRAM_NOT_RUNNING", "Not running"));
                for (OutboundDatagram d : batch.getDatagramsList()) {
                    out.addResults(SendResult.newBuilder().setId(d.getId()).setError(error));
                }
            }
            answer(out.build());
            return;
        }
        List<UdpSocket.Outgoing> datagrams = new ArrayList<>(n);
        for (OutboundDatagram d : batch.getDatagramsList()) {
            datagrams.add(new UdpSocket.Outgoing(d.getId(), Unpooled.wrappedBuffer(d.getData().asReadOnlyByteBuffer()),
                    d.getPort(), d.getAddress(), d.getEmitError()));
        }
        SendResultBatch.Builder out = SendResultBatch.newBuilder().setSocketId(socketId);
        int[] remaining = {n};
        socket.send(datagrams, (id, bytes, error) -> {
            SendResult.Builder r = SendResult.newBuilder().setId(id).setBytes(bytes);
            if (error != null) {
                r.setError(ErrorMapping.toProto(error));
            }
            out.addResults(r);
            if (--remaining[0] == 0) {
                answer(out.build());
            }
        });
    }

    private void answer(SendResultBatch results) {
        synchronized (lock) {
            if (finished) {
                return;
            }
            responses.onNext(results);
            outstanding--;
            if (responses.isReady()) {
                responses.request(1);
            } else {
                owedRequests++;
            }
            maybeComplete();
        }
    }

    private void onReady() {
        synchronized (lock) {
            if (owedRequests > 0 && !finished) {
                responses.request(owedRequests);
                owedRequests = 0;
            }
        }
    }

    @Override
    public void onError(Throwable t) {
        synchronized (lock) {
            finished = true;
        }
    }

    @Override
    public void onCompleted() {
        synchronized (lock) {
            inputDone = true;
            maybeComplete();
        }
    }

    private void maybeComplete() {
        if (inputDone && outstanding == 0 && !finished) {
            finished = true;
            responses.onCompleted();
        }
    }
}
