package dev.dgramd.client.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnknownFieldSet;
import dev.dgramd.client.RemoteInfo;
import dev.dgramd.proto.v1.AddressInfo;
import dev.dgramd.proto.v1.Close;
import dev.dgramd.proto.v1.ErrorEvent;
import dev.dgramd.proto.v1.EventsResponse;
import dev.dgramd.proto.v1.Listening;
import dev.dgramd.proto.v1.Message;
import dev.dgramd.proto.v1.OutboundDatagram;
import dev.dgramd.proto.v1.SendResult;
import dev.dgramd.proto.v1.SendStreamRequest;
import dev.dgramd.proto.v1.SendStreamResponse;
import dev.dgramd.proto.v1.SocketEvent;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** {@link SendBatch}, the client's hand-written SendStreamRequest encoder, against protobuf's generated parser. */
class SendBatchTest {

    /** A datagram whose payload sits in a larger array at {@code offset}, as in a shared chunk. */
    private static SendOp op(long id, byte[] data, int offset, int port, String address, boolean emitError) {
        SendOp op = new SendOp(data.length, port, address.isEmpty() ? new byte[0] : ProtoWire.utf8(address),
                emitError ? null : (e, n) -> { }, null);
        op.id = id;
        byte[] around = new byte[offset + data.length + 3];
        java.util.Arrays.fill(around, (byte) 0x5a); // what is around the payload must not go out
        System.arraycopy(data, 0, around, offset, data.length);
        op.payload(around, offset);
        return op;
    }

    private static OutboundDatagram proto(SendOp op, String address) {
        return OutboundDatagram.newBuilder().setId(op.id)
                .setData(ByteString.copyFrom(op.data(), op.offset, op.bytes)).setPort(op.port)
                .setAddress(address).setEmitError(op.emitError()).build();
    }

    @Test
    void sendBatchParsesAsTheGeneratedMessage() throws IOException {
        Random random = new Random(7);
        byte[] big = new byte[100_000]; // larger than the writer's scratch array
        random.nextBytes(big);
        byte[] small = new byte[64];
        random.nextBytes(small);
        String[] addresses = {"127.0.0.1", "", "::ffff:10.0.0.1", "h\u00e9te.example", "fe80::1%eth0"};
        List<SendOp> ops = new ArrayList<>();
        List<OutboundDatagram> expected = new ArrayList<>();
        long[] ids = {0, 1, 127, 128, Long.MAX_VALUE, -1};
        int[] ports = {0, 1, 65_535, -5, Integer.MAX_VALUE};
        byte[][] datas = {new byte[0], small, big};
        int n = 0;
        for (long id : ids) {
            for (int port : ports) {
                String address = addresses[n % addresses.length];
                byte[] data = datas[n % datas.length];
                SendOp op = op(id, data, n % 3 == 0 ? 0 : 17 * n, port, address, n % 2 == 0);
                ops.add(op);
                expected.add(proto(op, address));
                n++;
            }
        }
        for (String socketId : new String[] {"", "s-1", "sock\u00e9t"}) {
            SendBatch batch = new SendBatch(
                    socketId.isEmpty() ? new byte[0] : ProtoWire.utf8(socketId),
                    ops.toArray(new SendOp[0]), ops.size());
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            int written = batch.writeTo(out);
            SendStreamRequest want = SendStreamRequest.newBuilder().setSocketId(socketId).addAllDatagrams(expected).build();
            assertThat(written).isEqualTo(out.size()).isEqualTo(batch.size()).isEqualTo(want.getSerializedSize());
            assertThat(SendStreamRequest.parseFrom(out.toByteArray())).isEqualTo(want);
        }
    }
}
