package dev.dgramd.daemon.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import dev.dgramd.daemon.udp.Addresses;
import dev.dgramd.daemon.udp.DgramError;
import dev.dgramd.daemon.udp.SocketConfig;
import dev.dgramd.daemon.udp.SocketEvent;
import dev.dgramd.proto.v1.EventsResponse;
import dev.dgramd.proto.v1.Message;
import dev.dgramd.proto.v1.RemoteInfo;
import dev.dgramd.proto.v1.SessionEnd;
import dev.dgramd.proto.v1.SessionResponse;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link EventBatch} and {@link SlotResponse} write the bytes protobuf writes for the same
 * EventsResponse and SessionResponse.
 */
class EventBatchTest {
    private static final InetAddress[] SENDERS = addresses("127.0.0.1", "10.1.2.3", "::1", "fe80::1%1", "::ffff:10.0.0.9");

    @Test
    void writesWhatProtobufWrites() throws IOException {
        Random random = new Random(17);
        for (SocketConfig.Family family : SocketConfig.Family.values()) {
            Protos protos = new Protos(family);
            for (int i = 0; i < 400; i++) {
                String id = random.nextInt(3) == 0 ? "s\u00e9-" + random.nextInt(1000) : null;
                boolean attached = id != null && random.nextBoolean();
                EventBatch batch = new EventBatch(id, attached, random.nextInt(3)); // grows now and then
                EventsResponse.Builder expected = EventsResponse.newBuilder().setAttached(attached);
                if (id != null) {
                    expected.setSocketId(id);
                }
                long[] drops = {count(random), count(random), count(random), count(random)};
                batch.dropped(drops[0], drops[1], drops[2], drops[3]);
                expected.setDroppedMessages(drops[0]).setDroppedErrors(drops[1]).setDroppedMessagesBudget(drops[2])
                        .setKernelDroppedMessages(drops[3]);
                int n = random.nextInt(i % 40 == 0 ? 300 : 6);
                for (int k = 0; k < n; k++) {
                    SocketEvent e = event(random);
                    if (e instanceof SocketEvent.Message m) {
                        batch.add(m, protos.sender(m.sender().getAddress()));
                        expected.addEvents(dev.dgramd.proto.v1.SocketEvent.newBuilder().setMessage(message(m, family)));
                    } else {
                        dev.dgramd.proto.v1.SocketEvent p = protos.event(e);
                        batch.add(p);
                        expected.addEvents(p);
                    }
                }
                EventsResponse want = expected.build();
                assertThat(batch.count()).isEqualTo(n);
                assertThat(batch.socketId()).isEqualTo(want.getSocketId());
                assertThat(batch.endsWithClose()).isEqualTo(n > 0 && want.getEvents(n - 1).hasClose());
                assertThat(bytes(ReusedResponseBuffers.<EventBatch>writeOnly("EventsResponse").stream(batch))).isEqualTo(want.toByteArray());

                int slot = random.nextInt(4) == 0 ? 0 : random.nextInt(100_000);
                assertThat(bytes(ReusedResponseBuffers.<SlotResponse>writeOnly("SessionResponse").stream(SlotResponse.events(slot, batch))))
                        .isEqualTo(SessionResponse.newBuilder().setSlot(slot).setEvents(want).build().toByteArray());
            }
        }
    }

    @Test
    void writesASlotsEndAsProtobufDoes() throws IOException {
        SessionEnd failed = SessionCall.sessionEnd(ErrorMapping.toStatus(DgramError.of("EADDRINUSE", "bind EADDRINUSE")));
        for (SessionEnd end : new SessionEnd[] {SessionEnd.getDefaultInstance(), failed}) {
            assertThat(bytes(ReusedResponseBuffers.<SlotResponse>writeOnly("SessionResponse").stream(SlotResponse.end(7, end))))
                    .isEqualTo(SessionResponse.newBuilder().setSlot(7).setEnd(end).build().toByteArray());
        }
    }

    @Test
    void theSameSenderIsFormattedOnce() {
        Protos protos = new Protos(SocketConfig.Family.IPV4);
        Protos.Sender first = protos.sender(SENDERS[1]);
        assertThat(protos.sender(addresses("10.1.2.3")[0])).isSameAs(first);
        assertThat(protos.sender(SENDERS[0])).isNotSameAs(first);
        assertThatThrownBy(() -> protos.event(new SocketEvent.Message(new byte[1], new InetSocketAddress(SENDERS[0], 1))))
                .isInstanceOf(IllegalArgumentException.class);
    }

    /** The Message protobuf's builder makes for {@code m}, as the daemon built it before. */
    private static Message message(SocketEvent.Message m, SocketConfig.Family family) {
        InetAddress a = m.sender().getAddress();
        return Message.newBuilder().setData(ByteString.copyFrom(m.data()))
                .setRinfo(RemoteInfo.newBuilder().setAddress(Addresses.text(a, family))
                        .setFamily(Addresses.family(a, family)).setPort(m.sender().getPort()).setSize(m.data().length))
                .build();
    }

    private static SocketEvent event(Random random) {
        InetSocketAddress peer = new InetSocketAddress(SENDERS[random.nextInt(SENDERS.length)],
                random.nextInt(5) == 0 ? 0 : random.nextInt(65_536));
        return switch (random.nextInt(8)) {
            case 0 -> new SocketEvent.Listening(peer);
            case 1 -> new SocketEvent.Connect(peer);
            case 2 -> new SocketEvent.Error(DgramError.of("ECONNREFUSED", "recv ECONNREFUSED"));
            case 3 -> new SocketEvent.Close();
            default -> {
                byte[] data = new byte[random.nextInt(4) == 0 ? 0 : random.nextInt(random.nextBoolean() ? 200 : 70_000)];
                random.nextBytes(data);
                if (random.nextBoolean()) {
                    yield new SocketEvent.Message(data, peer);
                }
                // a part of a larger array, as a read burst's borrowed messages are
                byte[] shared = new byte[data.length + 40];
                random.nextBytes(shared);
                int offset = random.nextInt(41);
                System.arraycopy(data, 0, shared, offset, data.length);
                yield new SocketEvent.Message(shared, offset, data.length, peer, true);
            }
        };
    }

    private static long count(Random random) {
        return random.nextInt(3) == 0 ? 0 : random.nextLong() >>> random.nextInt(64);
    }

    private static byte[] bytes(InputStream in) throws IOException {
        try (in) {
            return in.readAllBytes();
        }
    }

    private static InetAddress[] addresses(String... literals) {
        InetAddress[] a = new InetAddress[literals.length];
        for (int i = 0; i < a.length; i++) {
            try {
                a[i] = InetAddress.getByName(literals[i]);
            } catch (java.net.UnknownHostException e) {
                throw new IllegalStateException(e);
            }
        }
        return a;
    }
}
