package dev.dgramd.daemon.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.dgramd.daemon.udp.DgramError;
import dev.dgramd.proto.v1.Error;
import dev.dgramd.proto.v1.SendResult;
import dev.dgramd.proto.v1.SendStreamResponse;
import java.io.IOException;
import java.io.InputStream;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** {@link SendResultBatch} writes the bytes protobuf writes for the same SendStreamResponse. */
class SendResultBatchTest {
    @Test
    void writesWhatProtobufWrites() throws IOException {
        Random random = new Random(11);
        Error error = ErrorMapping.toProto(DgramError.of("ERR_SOCKET_DGRAM_NOT_RUNNING", "Not running"));
        for (int i = 0; i < 500; i++) {
            String socketId = random.nextInt(5) == 0 ? "" : "s\u00e9-" + random.nextInt(1000);
            int n = random.nextInt(i % 50 == 0 ? 600 : 5); // beyond the capacity now and then
            SendResultBatch batch = new SendResultBatch(socketId, random.nextInt(3));
            SendStreamResponse.Builder expected = SendStreamResponse.newBuilder().setSocketId(socketId);
            for (int k = 0; k < n; k++) {
                long id = random.nextInt(4) == 0 ? 0 : random.nextLong();
                int bytes = random.nextInt(3) == 0 ? 0 : random.nextInt(70_000);
                Error e = random.nextInt(4) == 0 ? error : null;
                batch.add(id, bytes, e);
                SendResult.Builder r = SendResult.newBuilder().setId(id).setBytes(bytes);
                if (e != null) {
                    r.setError(e);
                }
                expected.addResults(r);
            }
            assertThat(batch.count()).isEqualTo(n);
            try (InputStream in = ReusedResponseBuffers.<SendResultBatch>writeOnly("SendStreamResponse").stream(batch)) {
                assertThat(in.readAllBytes()).isEqualTo(expected.build().toByteArray());
            }
        }
    }
}
