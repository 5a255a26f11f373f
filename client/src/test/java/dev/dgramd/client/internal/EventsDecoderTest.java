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

/** {@link EventsDecoder}, the hand-written EventsResponse decoder, against protobuf's generated encoder. */
class EventsDecoderTest {

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
        EventsDecoder decoder = new EventsDecoder();
        for (int round = 0; round < 2; round++) { // the second with the decoder's cache warm
            EventBatch got = decoder.decode(bytes, 0, bytes.length);
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
                    assertThat(got.other(i)).isNull();
                } else {
                    assertThat(got.other(i)).as("event %d", i).isEqualTo(ev);
                }
            }
            assertThat(got.data[1]).isNotNull(); // the common case is read by hand
            assertThat(got.rinfo[2]).isSameAs(got.rinfo[1]); // and the same sender's rinfo kept
            assertThat(got.data[7]).isNull(); // the merged one went to protobuf
        }
        byte[] truncated = java.util.Arrays.copyOf(bytes, bytes.length - 1);
        assertThatThrownBy(() -> new EventsDecoder().decode(truncated, 0, truncated.length))
                .isInstanceOf(IOException.class);
    }
}
