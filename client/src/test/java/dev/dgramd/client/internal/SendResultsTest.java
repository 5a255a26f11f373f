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

/** {@link SendResults}, the hand-written SendStreamResponse decoder, against protobuf's generated encoder. */
class SendResultsTest {

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
        SendResults got = SendResults.decode(bytes, 0, bytes.length);
        assertThat(got.count).isEqualTo(want.getResultsCount());
        for (int i = 0; i < got.count; i++) {
            SendResult r = want.getResults(i);
            assertThat(got.ids[i]).isEqualTo(r.getId());
            assertThat(got.bytes[i]).isEqualTo(r.getBytes());
            assertThat(got.errors == null ? null : got.errors[i]).isEqualTo(r.hasError() ? r.getError() : null);
        }
        byte[] truncated = java.util.Arrays.copyOf(bytes, bytes.length - 3);
        assertThatThrownBy(() -> SendResults.decode(truncated, 0, truncated.length))
                .isInstanceOf(IOException.class);
    }
}
