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

/**
 * The hand-written codecs of the hot paths against protobuf's generated ones: what the client
 * writes parses as the same message, and what the daemon writes reads the same.
 */
class WireFormatTest {

    private static RemoteSocket.SendOp op(long id, byte[] data, int port, String address, boolean emitError) {
        RemoteSocket.SendOp op = new RemoteSocket.SendOp(null, data, port,
                address.isEmpty() ? new byte[0] : SendPipeline.Wire.utf8(address), emitError, null, null);
        op.id = id;
        return op;
    }

    private static OutboundDatagram proto(RemoteSocket.SendOp op, String address) {
        return OutboundDatagram.newBuilder().setId(op.id).setData(ByteString.copyFrom(op.data)).setPort(op.port)
                .setAddress(address).setEmitError(op.emitError).build();
    }

    @Test
    void sendBatchParsesAsTheGeneratedMessage() throws IOException {
        Random random = new Random(7);
        byte[] big = new byte[100_000]; // larger than the writer's scratch array
        random.nextBytes(big);
        byte[] small = new byte[64];
        random.nextBytes(small);
        String[] addresses = {"127.0.0.1", "", "::ffff:10.0.0.1", "h\u00e9te.example", "fe80::1%eth0"};
        List<RemoteSocket.SendOp> ops = new ArrayList<>();
        List<OutboundDatagram> expected = new ArrayList<>();
        long[] ids = {0, 1, 127, 128, Long.MAX_VALUE, -1};
        int[] ports = {0, 1, 65_535, -5, Integer.MAX_VALUE};
        byte[][] datas = {new byte[0], small, big};
        int n = 0;
        for (long id : ids) {
            for (int port : ports) {
                String address = addresses[n % addresses.length];
                byte[] data = datas[n % datas.length];
                RemoteSocket.SendOp op = op(id, data, port, address, n % 2 == 0);
                ops.add(op);
                expected.add(proto(op, address));
                n++;
            }
        }
        for (String socketId : new String[] {"", "s-1", "sock\u00e9t"}) {
            SendPipeline.OutBatch batch = new SendPipeline.OutBatch(
                    socketId.isEmpty() ? new byte[0] : SendPipeline.Wire.utf8(socketId),
                    ops.toArray(new RemoteSocket.SendOp[0]), ops.size());
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            int written = batch.writeTo(out);
            SendStreamRequest want = SendStreamRequest.newBuilder().setSocketId(socketId).addAllDatagrams(expected).build();
            assertThat(written).isEqualTo(out.size()).isEqualTo(batch.size()).isEqualTo(want.getSerializedSize());
            assertThat(SendStreamRequest.parseFrom(out.toByteArray())).isEqualTo(want);
        }
    }

    @Test
    void sendResultBatchReadsAsTheGeneratedMessage() throws IOException {
        dev.dgramd.proto.v1.Error error = dev.dgramd.proto.v1.Error.newBuilder().setCode("ENOBUFS").setErrorNumber(-105)
                .setSyscall("send").setAddress("127.0.0.1").setPort(9).setMessage("no room").build();
        SendStreamResponse.Builder b = SendStreamResponse.newBuilder().setSocketId("s-1");
        for (int i = 0; i < 100; i++) {
            SendResult.Builder r = SendResult.newBuilder().setId(i == 3 ? 0 : (long) i << (i % 50)).setBytes(i * 7);
            if (i % 10 == 9) {
                r.setError(error);
            }
            b.addResults(r);
        }
        // fields of a newer daemon, skipped
        b.setUnknownFields(UnknownFieldSet.newBuilder()
                .addField(99, UnknownFieldSet.Field.newBuilder().addVarint(5).addLengthDelimited(ByteString.copyFromUtf8("x"))
                        .addFixed32(1).addFixed64(2).build()).build());
        SendStreamResponse want = b.build();
        byte[] bytes = want.toByteArray();
        SendPipeline.Results got = SendPipeline.Results.decode(bytes, 0, bytes.length);
        assertThat(got.count).isEqualTo(want.getResultsCount());
        for (int i = 0; i < got.count; i++) {
            SendResult r = want.getResults(i);
            assertThat(got.ids[i]).isEqualTo(r.getId());
            assertThat(got.bytes[i]).isEqualTo(r.getBytes());
            assertThat(got.errors == null ? null : got.errors[i]).isEqualTo(r.hasError() ? r.getError() : null);
        }
        byte[] truncated = java.util.Arrays.copyOf(bytes, bytes.length - 3);
        assertThatThrownBy(() -> SendPipeline.Results.decode(truncated, 0, truncated.length))
                .isInstanceOf(IOException.class);
    }

    private static SocketEvent message(byte[] data, String address, String family, int port, int size) {
        return SocketEvent.newBuilder().setMessage(Message.newBuilder().setData(ByteString.copyFrom(data))
                .setRinfo(dev.dgramd.proto.v1.RemoteInfo.newBuilder().setAddress(address).setFamily(family)
                        .setPort(port).setSize(size))).build();
    }

    @Test
    void eventBatchReadsAsTheGeneratedMessage() throws IOException {
        Random random = new Random(11);
        byte[] a = new byte[64];
        byte[] b = new byte[1200];
        random.nextBytes(a);
        random.nextBytes(b);
        SocketEvent listening = SocketEvent.newBuilder().setListening(Listening.newBuilder()
                .setAddress(AddressInfo.newBuilder().setAddress("0.0.0.0").setFamily("IPv4").setPort(5))).build();
        SocketEvent error = SocketEvent.newBuilder().setError(ErrorEvent.newBuilder().setError(
                dev.dgramd.proto.v1.Error.newBuilder().setCode("EACCES").setErrorNumber(-13))).build();
        // a 'message' field twice on the wire: protobuf merges the second into the first
        ByteArrayOutputStream twice = new ByteArrayOutputStream();
        message(a, "10.0.0.1", "IPv4", 7, 0).writeTo(twice);
        SocketEvent.newBuilder().setMessage(Message.newBuilder().setRinfo(
                dev.dgramd.proto.v1.RemoteInfo.newBuilder().setPort(8))).build().writeTo(twice);
        byte[] merged = twice.toByteArray();
        SocketEvent withUnknown = message(b, "::ffff:127.0.0.1", "IPv6", 9, 1200).toBuilder()
                .setUnknownFields(UnknownFieldSet.newBuilder().addField(42,
                        UnknownFieldSet.Field.newBuilder().addVarint(1).build()).build()).build();
        List<SocketEvent> events = List.of(
                listening,
                message(a, "127.0.0.1", "IPv4", 40_000, 64),
                message(a, "127.0.0.1", "IPv4", 40_000, 64),
                message(b, "127.0.0.1", "IPv4", 40_000, 0), // size 0: the payload's length
                message(new byte[0], "127.0.0.1", "IPv4", 40_001, 0),
                message(a, "h\u00e9te", "IPv4", 40_001, 64),
                error,
                SocketEvent.parseFrom(merged),
                withUnknown,
                SocketEvent.getDefaultInstance(), // no event set: unknown
                SocketEvent.newBuilder().setClose(Close.getDefaultInstance()).build());
        // the batch's bytes, event by event (event 7 as it came: protobuf would re-encode it merged)
        ByteArrayOutputStream wire = new ByteArrayOutputStream();
        com.google.protobuf.CodedOutputStream out = com.google.protobuf.CodedOutputStream.newInstance(wire);
        for (int i = 0; i < events.size(); i++) {
            out.writeByteArray(1, i == 7 ? merged : events.get(i).toByteArray());
        }
        out.writeUInt64(2, 3);
        out.writeUInt64(3, 1L << 40);
        out.flush();
        byte[] bytes = wire.toByteArray();
        EventsResponse want = EventsResponse.parseFrom(bytes);
        assertThat(want.getEventsList()).isEqualTo(events);
        RemoteSocket.EventDecoder decoder = new RemoteSocket.EventDecoder();
        for (int round = 0; round < 2; round++) { // the second with the decoder's cache warm
            RemoteSocket.Decoded got = decoder.decode(bytes, 0, bytes.length);
            assertThat(got.droppedMessages).isEqualTo(3);
            assertThat(got.droppedErrors).isEqualTo(1L << 40);
            assertThat(got.count).isEqualTo(events.size());
            for (int i = 0; i < got.count; i++) {
                SocketEvent ev = events.get(i);
                if (got.data[i] != null) {
                    Message m = ev.getMessage();
                    var r = m.getRinfo();
                    assertThat(got.data[i]).isEqualTo(m.getData().toByteArray());
                    assertThat(got.rinfo[i]).isEqualTo(new RemoteInfo(r.getAddress(), r.getFamily(), r.getPort(),
                            r.getSize() == 0 ? m.getData().size() : r.getSize()));
                    assertThat(got.other[i]).isNull();
                } else {
                    assertThat(got.other[i]).as("event %d", i).isEqualTo(ev);
                }
            }
            assertThat(got.data[1]).isNotNull(); // the common case is read by hand
            assertThat(got.rinfo[2]).isSameAs(got.rinfo[1]); // and the same sender's rinfo kept
            assertThat(got.data[7]).isNull(); // the merged one went to protobuf
        }
        byte[] truncated = java.util.Arrays.copyOf(bytes, bytes.length - 1);
        assertThatThrownBy(() -> new RemoteSocket.EventDecoder().decode(truncated, 0, truncated.length))
                .isInstanceOf(IOException.class);
    }

    @Test
    void longMapAgreesWithHashMap() {
        SendPipeline.LongMap<Long> map = new SendPipeline.LongMap<>(1000);
        Map<Long, Long> reference = new HashMap<>();
        Random random = new Random(3);
        long next = 1;
        for (int i = 0; i < 200_000; i++) {
            if (random.nextInt(3) > 0 || reference.isEmpty()) {
                long key = random.nextInt(10) == 0 ? random.nextLong() : next++;
                map.put(key, key);
                reference.put(key, key);
            } else {
                long key = random.nextInt(4) == 0 ? random.nextLong() : next - 1 - random.nextInt(2000);
                assertThat(map.remove(key)).isEqualTo(reference.remove(key));
            }
            assertThat(map.size()).isEqualTo(reference.size());
        }
        for (Long key : new ArrayList<>(reference.keySet())) {
            assertThat(map.remove(key)).isEqualTo(key);
        }
        assertThat(map.size()).isZero();
    }
}
