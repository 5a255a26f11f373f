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

/** {@link LongMap}, the pipeline's map of datagrams in flight, against a HashMap. */
class LongMapTest {

    @Test
    void longMapAgreesWithHashMap() {
        LongMap<Long> map = new LongMap<>(1000);
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
