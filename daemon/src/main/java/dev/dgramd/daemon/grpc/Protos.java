package dev.dgramd.daemon.grpc;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import dev.dgramd.daemon.udp.Addresses;
import dev.dgramd.daemon.udp.SocketConfig;
import dev.dgramd.daemon.udp.SocketEvent;
import dev.dgramd.proto.v1.AddressInfo;
import dev.dgramd.proto.v1.Close;
import dev.dgramd.proto.v1.Connect;
import dev.dgramd.proto.v1.ErrorEvent;
import dev.dgramd.proto.v1.Listening;
import dev.dgramd.proto.v1.Message;
import dev.dgramd.proto.v1.RemoteInfo;
import java.net.InetAddress;
import java.net.InetSocketAddress;

/**
 * The contract's form of what {@code udp/} speaks: socket events and addresses (errors are
 * {@link ErrorMapping}'s). One instance converts the events of one socket, on its event loop, and
 * keeps what repeats: most traffic comes from few peers, in datagrams of one size, so a sender's
 * address is formatted once and its {@link RemoteInfo} (serialized size memoized) is built once per
 * sender, port and size; the builders of 'message' events are reused. Not thread-safe.
 */
final class Protos {
    private final SocketConfig.Family family;
    private InetAddress lastSender;
    private ByteString lastSenderText;
    private ByteString lastSenderFamily;
    private RemoteInfo lastRinfo;
    // Made at the first 'message': a socket that never receives one (most of 10,000) holds none.
    private dev.dgramd.proto.v1.SocketEvent.Builder eventBuilder;
    private Message.Builder messageBuilder;

    /** @param family the socket's, which decides how addresses are written (IPv4-mapped ones, ...) */
    Protos(SocketConfig.Family family) {
        this.family = family;
    }

    /** {@code e} as the contract's SocketEvent; a 'message' shares its payload array (the event owns it). */
    dev.dgramd.proto.v1.SocketEvent event(SocketEvent e) {
        if (e instanceof SocketEvent.Message m) {
            if (eventBuilder == null) {
                eventBuilder = dev.dgramd.proto.v1.SocketEvent.newBuilder();
                messageBuilder = Message.newBuilder();
            }
            ByteString data = UnsafeByteOperations.unsafeWrap(m.data());
            return eventBuilder.clear().setMessage(messageBuilder.clear().setData(data)
                    .setRinfo(rinfo(m.sender(), m.data().length))).build();
        }
        dev.dgramd.proto.v1.SocketEvent.Builder b = dev.dgramd.proto.v1.SocketEvent.newBuilder();
        if (e instanceof SocketEvent.Listening l) {
            b.setListening(Listening.newBuilder().setAddress(addressInfo(l.address(), family)));
        } else if (e instanceof SocketEvent.Connect c) {
            b.setConnect(Connect.newBuilder().setRemote(addressInfo(c.remote(), family)));
        } else if (e instanceof SocketEvent.Error err) {
            b.setError(ErrorEvent.newBuilder().setError(ErrorMapping.toProto(err.error())));
        } else {
            b.setClose(Close.getDefaultInstance());
        }
        return b.build();
    }

    private RemoteInfo rinfo(InetSocketAddress from, int size) {
        boolean sameSender = from.getAddress().equals(lastSender);
        if (sameSender && lastRinfo.getPort() == from.getPort() && lastRinfo.getSize() == size) {
            return lastRinfo;
        }
        if (!sameSender) {
            lastSender = from.getAddress();
            // as bytes, so that each message's serialization copies them rather than encoding text
            lastSenderText = ByteString.copyFromUtf8(Addresses.text(lastSender, family));
            lastSenderFamily = ByteString.copyFromUtf8(Addresses.family(lastSender, family));
        }
        lastRinfo = RemoteInfo.newBuilder()
                .setAddressBytes(lastSenderText)
                .setFamilyBytes(lastSenderFamily)
                .setPort(from.getPort())
                .setSize(size)
                .build();
        return lastRinfo;
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
