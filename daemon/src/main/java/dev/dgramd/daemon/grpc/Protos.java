package dev.dgramd.daemon.grpc;

import dev.dgramd.daemon.udp.Addresses;
import dev.dgramd.daemon.udp.SocketConfig;
import dev.dgramd.daemon.udp.SocketEvent;
import dev.dgramd.proto.v1.AddressInfo;
import dev.dgramd.proto.v1.Close;
import dev.dgramd.proto.v1.Connect;
import dev.dgramd.proto.v1.ErrorEvent;
import dev.dgramd.proto.v1.Listening;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

/**
 * The contract's form of what {@code udp/} speaks: socket events and addresses (errors are
 * {@link ErrorMapping}'s). One instance serves the events of one socket, on its event loop, and
 * keeps what repeats: most traffic comes from few peers, so a sender's address is formatted once
 * and kept as the bytes a 'message' event writes ({@link EventBatch} encodes those events by
 * hand). Not thread-safe.
 */
final class Protos {
    private final SocketConfig.Family family;
    private Sender lastSender;

    /** @param family the socket's, which decides how addresses are written (IPv4-mapped ones, ...) */
    Protos(SocketConfig.Family family) {
        this.family = family;
    }

    /**
     * A sender's address as a 'message' event's rinfo writes it: its address and family, as UTF-8.
     * Immutable; the arrays are not to be changed.
     */
    record Sender(InetAddress from, byte[] address, byte[] family) {}

    /** {@code from} as rinfo writes it: the last sender's again when it is the same address. */
    Sender sender(InetAddress from) {
        Sender last = lastSender;
        if (last == null || !last.from().equals(from)) {
            last = new Sender(from, Addresses.text(from, family).getBytes(StandardCharsets.UTF_8),
                    Addresses.family(from, family).getBytes(StandardCharsets.UTF_8));
            lastSender = last;
        }
        return last;
    }

    /** {@code e}, an event other than 'message', as the contract's SocketEvent. */
    dev.dgramd.proto.v1.SocketEvent event(SocketEvent e) {
        dev.dgramd.proto.v1.SocketEvent.Builder b = dev.dgramd.proto.v1.SocketEvent.newBuilder();
        if (e instanceof SocketEvent.Listening l) {
            b.setListening(Listening.newBuilder().setAddress(addressInfo(l.address(), family)));
        } else if (e instanceof SocketEvent.Connect c) {
            b.setConnect(Connect.newBuilder().setRemote(addressInfo(c.remote(), family)));
        } else if (e instanceof SocketEvent.Error err) {
            b.setError(ErrorEvent.newBuilder().setError(ErrorMapping.toProto(err.error())));
        } else if (e instanceof SocketEvent.Close) {
            b.setClose(Close.getDefaultInstance());
        } else {
            throw new IllegalArgumentException("a 'message' is EventBatch's to encode");
        }
        return b.build();
    }

    /** {@code a} as socket.address() gives it on a socket of {@code family}. */
    static AddressInfo addressInfo(InetSocketAddress a, SocketConfig.Family family) {
        return AddressInfo.newBuilder()
                .setAddress(Addresses.text(a.getAddress(), family))
                .setFamily(Addresses.family(a.getAddress(), family))
                .setPort(a.getPort())
                .build();
    }
}
