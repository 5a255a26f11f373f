package dev.dgramd.daemon.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.dgramd.proto.v1.OutboundDatagram;
import dev.dgramd.proto.v1.SendStreamRequest;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link SendBatchView} reads what protobuf's parser of SendStreamRequest reads, and refuses what
 * it refuses: well-formed requests (with unknown fields, repeated scalars, groups), then each of
 * them truncated and with bytes flipped, compared with the generated parser.
 */
class SendBatchViewTest {
    private final Random random = new Random(11);

    @Test
    void readsWhatProtobufReads() throws IOException {
        for (int i = 0; i < 300; i++) {
            byte[] bytes = request();
            assertSame(bytes, bytes.length);
        }
    }

    @Test
    void refusesWhatProtobufRefuses() throws IOException {
        for (int i = 0; i < 300; i++) {
            byte[] bytes = request();
            for (int cut = 0; cut < bytes.length; cut += 1 + bytes.length / 40) {
                assertSame(bytes, cut);
            }
            for (int k = 0; k < 40; k++) {
                byte[] mutated = bytes.clone();
                int n = 1 + random.nextInt(3);
                for (int j = 0; j < n && mutated.length > 0; j++) {
                    mutated[random.nextInt(mutated.length)] = (byte) random.nextInt(256);
                }
                assertSame(mutated, mutated.length);
            }
        }
    }

    @Test
    void complainsAsProtobufDoes() {
        byte[] garbage = {(byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF,
                (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF};
        String expected = catchMessage(() -> SendStreamRequest.parseFrom(garbage));
        assertThatThrownBy(() -> SendBatchView.parse(garbage, garbage.length))
                .isInstanceOf(InvalidProtocolBufferException.class).hasMessage(expected);
        byte[] zeroTag = {0};
        assertThatThrownBy(() -> SendBatchView.parse(zeroTag, 1))
                .hasMessage(catchMessage(() -> SendStreamRequest.parseFrom(zeroTag)));
        byte[] badUtf8 = {0x0a, 1, (byte) 0xC0};
        assertThatThrownBy(() -> SendBatchView.parse(badUtf8, 3))
                .hasMessage(catchMessage(() -> SendStreamRequest.parseFrom(badUtf8)));
    }

    private interface Parse {
        void run() throws Exception;
    }

    private static String catchMessage(Parse p) {
        try {
            p.run();
        } catch (Exception e) {
            return e.getMessage();
        }
        throw new AssertionError("no failure");
    }

    /** Both parsers on {@code bytes[0, length)}: both fail, or both read the same request. */
    private static void assertSame(byte[] bytes, int length) {
        byte[] region = Arrays.copyOf(bytes, length);
        SendStreamRequest expected;
        try {
            expected = SendStreamRequest.parseFrom(region);
        } catch (InvalidProtocolBufferException e) {
            assertThatThrownBy(() -> SendBatchView.parse(region, length)).as("%s", Arrays.toString(region))
                    .isInstanceOf(InvalidProtocolBufferException.class);
            return;
        }
        SendBatchView view;
        try {
            view = SendBatchView.parse(bytes, length); // a longer array than the message: only the region counts
        } catch (InvalidProtocolBufferException e) {
            throw new AssertionError("refused what protobuf reads: " + Arrays.toString(region), e);
        }
        assertThat(view.socketId()).isEqualTo(expected.getSocketId());
        assertThat(view.count()).isEqualTo(expected.getDatagramsCount());
        long payload = 0;
        SendBatchView.Datagrams d = new SendBatchView.Datagrams();
        d.start(view);
        for (OutboundDatagram e : expected.getDatagramsList()) {
            assertThat(d.next()).isTrue();
            assertThat(d.id()).as("%s", Arrays.toString(region)).isEqualTo(e.getId());
            assertThat(d.port()).isEqualTo(e.getPort());
            assertThat(d.address()).isEqualTo(e.getAddress());
            assertThat(d.emitError()).isEqualTo(e.getEmitError());
            assertThat(Arrays.copyOfRange(d.dataArray(), d.dataOffset(), d.dataOffset() + d.dataLength()))
                    .isEqualTo(e.getData().toByteArray());
            payload += e.getData().size();
        }
        assertThat(d.next()).isFalse();
        assertThat(view.payloadBytes()).isEqualTo(payload);
    }

    /** A request as a client might write it, with now and then what only another writer would: unknown fields, repeats, groups. */
    private byte[] request() throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        CodedOutputStream out = CodedOutputStream.newInstance(bytes);
        if (random.nextInt(4) > 0) {
            out.writeString(1, "s-" + random.nextInt(1000));
        }
        int n = random.nextInt(5);
        for (int i = 0; i < n; i++) {
            OutboundDatagram.Builder d = OutboundDatagram.newBuilder().setId(random.nextLong())
                    .setPort(random.nextInt(5) == 0 ? -random.nextInt(100) : random.nextInt(70_000))
                    .setAddress(random.nextBoolean() ? "127.0.0.1" : random.nextBoolean() ? "" : "h\u00e9\u4e16\ud83d\ude00")
                    .setEmitError(random.nextBoolean());
            byte[] data = new byte[random.nextInt(20)];
            random.nextBytes(data);
            d.setData(ByteString.copyFrom(data));
            byte[] body = d.build().toByteArray();
            if (random.nextInt(3) == 0) {
                body = withOddities(body);
            }
            out.writeByteArray(2, body);
            if (random.nextInt(6) == 0) {
                out.writeUInt64(9, random.nextLong()); // unknown at the top
            }
        }
        if (random.nextInt(6) == 0) {
            out.writeString(1, "later-" + random.nextInt(10)); // the last socket_id wins
        }
        out.flush();
        return bytes.toByteArray();
    }

    /** {@code body} followed by what protobuf skips or takes the last of. */
    private byte[] withOddities(byte[] body) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        bytes.write(body);
        CodedOutputStream out = CodedOutputStream.newInstance(bytes);
        switch (random.nextInt(5)) {
            case 0 -> out.writeUInt64(1, random.nextLong()); // id again: the last wins
            case 1 -> out.writeFixed32(7, random.nextInt()); // unknown fixed32
            case 2 -> out.writeFixed64(8, random.nextLong()); // unknown fixed64
            case 3 -> {
                out.writeTag(12, 3); // a group, skipped
                out.writeInt32(1, 5);
                out.writeTag(12, 4);
            }
            default -> out.writeString(4, "::1"); // address again
        }
        out.flush();
        return bytes.toByteArray();
    }
}
