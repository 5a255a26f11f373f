package dev.dgramd.client.internal;

import dev.dgramd.client.AddressInfo;
import dev.dgramd.client.DgramException;
import dev.dgramd.client.SocketOptions;
import dev.dgramd.proto.v1.AddMembershipRequest;
import dev.dgramd.proto.v1.AddSourceSpecificMembershipRequest;
import dev.dgramd.proto.v1.AddressRequest;
import dev.dgramd.proto.v1.AddressResponse;
import dev.dgramd.proto.v1.BindRequest;
import dev.dgramd.proto.v1.BindResponse;
import dev.dgramd.proto.v1.ConnectRequest;
import dev.dgramd.proto.v1.ConnectResponse;
import dev.dgramd.proto.v1.CreateSocketRequest;
import dev.dgramd.proto.v1.DisconnectRequest;
import dev.dgramd.proto.v1.DisconnectResponse;
import dev.dgramd.proto.v1.DropMembershipRequest;
import dev.dgramd.proto.v1.DropSourceSpecificMembershipRequest;
import dev.dgramd.proto.v1.GetRecvBufferSizeRequest;
import dev.dgramd.proto.v1.GetRecvBufferSizeResponse;
import dev.dgramd.proto.v1.GetSendBufferSizeRequest;
import dev.dgramd.proto.v1.GetSendBufferSizeResponse;
import dev.dgramd.proto.v1.SetBroadcastRequest;
import dev.dgramd.proto.v1.SetBroadcastResponse;
import dev.dgramd.proto.v1.SetMulticastInterfaceRequest;
import dev.dgramd.proto.v1.SetMulticastInterfaceResponse;
import dev.dgramd.proto.v1.SetMulticastLoopbackRequest;
import dev.dgramd.proto.v1.SetMulticastLoopbackResponse;
import dev.dgramd.proto.v1.SetMulticastTtlRequest;
import dev.dgramd.proto.v1.SetMulticastTtlResponse;
import dev.dgramd.proto.v1.SetRecvBufferSizeRequest;
import dev.dgramd.proto.v1.SetRecvBufferSizeResponse;
import dev.dgramd.proto.v1.SetSendBufferSizeRequest;
import dev.dgramd.proto.v1.SetSendBufferSizeResponse;
import dev.dgramd.proto.v1.SetTtlRequest;
import dev.dgramd.proto.v1.SetTtlResponse;
import dev.dgramd.proto.v1.SocketType;

/**
 * The daemon calls of one socket, in Node's terms: plain arguments in, plain answers out, so the
 * public {@code Socket} never sees a contract type. Each call goes through the socket's
 * {@link RemoteSocket} queue, in order behind the calls before it; the blocking ones wait for the
 * daemon's answer (and throw its error as a {@link DgramException}), the asynchronous ones answer
 * an {@link AddressOutcome} as {@link RemoteSocket#callAsync} does. On the transport's event loop
 * (listeners there) the setters do not wait: they go in order, their failure emitted as 'error'
 * ({@link RemoteSocket#call}); the getters fail with ERR_DGRAMD_WOULD_BLOCK.
 */
public final class SocketCalls {
    private final RemoteSocket remote;

    /** The outcome of a call that answers an address: {@code address} null on error or when none came. */
    @FunctionalInterface
    public interface AddressOutcome {
        void complete(AddressInfo address, DgramException error, boolean reported);
    }

    public SocketCalls(RemoteSocket remote) {
        this.remote = remote;
    }

    /** The request that creates a socket with {@code options} (its type checked by the caller). */
    public static CreateSocketRequest createRequest(SocketOptions options) {
        CreateSocketRequest.Builder req = CreateSocketRequest.newBuilder()
                .setType("udp6".equals(options.type()) ? SocketType.SOCKET_TYPE_UDP6 : SocketType.SOCKET_TYPE_UDP4)
                .setReuseAddr(options.reuseAddr())
                .setReusePort(options.reusePort())
                .setIpv6Only(options.ipv6Only())
                .setRecvBufferSize(options.recvBufferSize())
                .setSendBufferSize(options.sendBufferSize())
                .setName(options.name() == null ? "" : options.name());
        if (options.keepAlive() != null) {
            req.setKeepAlive(com.google.protobuf.Duration.newBuilder().setSeconds(options.keepAlive().getSeconds())
                    .setNanos(options.keepAlive().getNano()));
        }
        return req.build();
    }

    private static BindRequest.Builder bindRequest(int port, String address, boolean exclusive) {
        return BindRequest.newBuilder().setPort(port).setAddress(address == null ? "" : address).setExclusive(exclusive);
    }

    /**
     * When the socket has not reached the daemon yet, makes it with this bind in the same call
     * ({@link RemoteSocket#start}) and returns true: 'listening' or the bind's 'error' then comes as
     * an event. False when the socket exists already: call {@link #bind}.
     */
    public boolean createWithBind(int port, String address, boolean exclusive) {
        return remote.start(bindRequest(port, address, exclusive).build());
    }

    /** Bind; {@code outcome} gets the bound address. */
    public void bind(int port, String address, boolean exclusive, AddressOutcome outcome) {
        BindRequest.Builder req = bindRequest(port, address, exclusive);
        remote.<BindResponse>callAsync("Bind", (stub, obs) -> stub.bind(req.setSocketId(remote.id()).build(), obs),
                true, (resp, error, reported) -> outcome.complete(
                        resp != null && resp.hasAddress() ? info(resp.getAddress()) : null, error, reported));
    }

    /** Connect; {@code outcome} gets the peer. */
    public void connect(int port, String address, AddressOutcome outcome) {
        ConnectRequest.Builder req = ConnectRequest.newBuilder().setPort(port).setAddress(address == null ? "" : address);
        remote.<ConnectResponse>callAsync("Connect", (stub, obs) -> stub.connect(req.setSocketId(remote.id()).build(), obs),
                false, (resp, error, reported) -> outcome.complete(
                        resp != null && resp.hasRemote() ? info(resp.getRemote()) : null, error, reported));
    }

    /** Address, asked in order; {@code outcome} gets the bound address. */
    public void address(AddressOutcome outcome) {
        remote.<AddressResponse>callAsync("Address",
                (stub, obs) -> stub.address(AddressRequest.newBuilder().setSocketId(remote.id()).build(), obs), false,
                (resp, error, reported) -> outcome.complete(
                        resp != null ? new AddressInfo(resp.getAddress(), resp.getFamily(), resp.getPort()) : null,
                        error, reported));
    }

    public void disconnect() {
        remote.<DisconnectResponse>call("Disconnect",
                (stub, obs) -> stub.disconnect(DisconnectRequest.newBuilder().setSocketId(remote.id()).build(), obs),
                DisconnectResponse.getDefaultInstance());
    }

    public void setBroadcast(boolean flag) {
        remote.<SetBroadcastResponse>call("SetBroadcast", (stub, obs) -> stub.setBroadcast(
                SetBroadcastRequest.newBuilder().setSocketId(remote.id()).setFlag(flag).build(), obs),
                SetBroadcastResponse.getDefaultInstance());
    }

    /** SetTtl; the TTL now in force. */
    public int setTtl(int ttl) {
        return remote.<SetTtlResponse>call("SetTtl", (stub, obs) -> stub.setTtl(
                SetTtlRequest.newBuilder().setSocketId(remote.id()).setTtl(ttl).build(), obs),
                SetTtlResponse.newBuilder().setTtl(ttl).build()).getTtl();
    }

    /** SetMulticastTtl; the TTL now in force. */
    public int setMulticastTtl(int ttl) {
        return remote.<SetMulticastTtlResponse>call("SetMulticastTtl", (stub, obs) -> stub.setMulticastTtl(
                SetMulticastTtlRequest.newBuilder().setSocketId(remote.id()).setTtl(ttl).build(), obs),
                SetMulticastTtlResponse.newBuilder().setTtl(ttl).build()).getTtl();
    }

    /** SetMulticastLoopback; the flag now in force. */
    public boolean setMulticastLoopback(boolean flag) {
        return remote.<SetMulticastLoopbackResponse>call("SetMulticastLoopback", (stub, obs) -> stub.setMulticastLoopback(
                SetMulticastLoopbackRequest.newBuilder().setSocketId(remote.id()).setFlag(flag).build(), obs),
                SetMulticastLoopbackResponse.newBuilder().setFlag(flag).build()).getFlag();
    }

    public void setMulticastInterface(String iface) {
        remote.<SetMulticastInterfaceResponse>call("SetMulticastInterface", (stub, obs) -> stub.setMulticastInterface(
                SetMulticastInterfaceRequest.newBuilder().setSocketId(remote.id()).setInterfaceAddress(iface).build(), obs),
                SetMulticastInterfaceResponse.getDefaultInstance());
    }

    /** Add or drop a group membership; {@code iface} "" lets the system choose. */
    public void membership(boolean join, String group, String iface) {
        if (join) {
            remote.<dev.dgramd.proto.v1.AddMembershipResponse>call("AddMembership", (stub, obs) -> stub.addMembership(
                    AddMembershipRequest.newBuilder().setSocketId(remote.id()).setMulticastAddress(group)
                            .setInterfaceAddress(iface).build(), obs),
                    dev.dgramd.proto.v1.AddMembershipResponse.getDefaultInstance());
        } else {
            remote.<dev.dgramd.proto.v1.DropMembershipResponse>call("DropMembership", (stub, obs) -> stub.dropMembership(
                    DropMembershipRequest.newBuilder().setSocketId(remote.id()).setMulticastAddress(group)
                            .setInterfaceAddress(iface).build(), obs),
                    dev.dgramd.proto.v1.DropMembershipResponse.getDefaultInstance());
        }
    }

    /** Add or drop a source-specific membership; {@code iface} "" lets the system choose. */
    public void sourceSpecificMembership(boolean join, String source, String group, String iface) {
        if (join) {
            remote.<dev.dgramd.proto.v1.AddSourceSpecificMembershipResponse>call("AddSourceSpecificMembership",
                    (stub, obs) -> stub.addSourceSpecificMembership(AddSourceSpecificMembershipRequest.newBuilder()
                            .setSocketId(remote.id()).setSourceAddress(source).setGroupAddress(group)
                            .setInterfaceAddress(iface).build(), obs),
                    dev.dgramd.proto.v1.AddSourceSpecificMembershipResponse.getDefaultInstance());
        } else {
            remote.<dev.dgramd.proto.v1.DropSourceSpecificMembershipResponse>call("DropSourceSpecificMembership",
                    (stub, obs) -> stub.dropSourceSpecificMembership(DropSourceSpecificMembershipRequest.newBuilder()
                            .setSocketId(remote.id()).setSourceAddress(source).setGroupAddress(group)
                            .setInterfaceAddress(iface).build(), obs),
                    dev.dgramd.proto.v1.DropSourceSpecificMembershipResponse.getDefaultInstance());
        }
    }

    /** The receive ({@code send} false) or send buffer size, as the kernel reports it. */
    public int bufferSize(boolean send) {
        return send
                ? remote.<GetSendBufferSizeResponse>call("GetSendBufferSize", (stub, obs) -> stub.getSendBufferSize(
                        GetSendBufferSizeRequest.newBuilder().setSocketId(remote.id()).build(), obs), null).getSize()
                : remote.<GetRecvBufferSizeResponse>call("GetRecvBufferSize", (stub, obs) -> stub.getRecvBufferSize(
                        GetRecvBufferSizeRequest.newBuilder().setSocketId(remote.id()).build(), obs), null).getSize();
    }

    /** Sets the receive ({@code send} false) or send buffer size. */
    public void setBufferSize(boolean send, int size) {
        if (send) {
            remote.<SetSendBufferSizeResponse>call("SetSendBufferSize", (stub, obs) -> stub.setSendBufferSize(
                    SetSendBufferSizeRequest.newBuilder().setSocketId(remote.id()).setSize(size).build(), obs),
                    SetSendBufferSizeResponse.getDefaultInstance());
        } else {
            remote.<SetRecvBufferSizeResponse>call("SetRecvBufferSize", (stub, obs) -> stub.setRecvBufferSize(
                    SetRecvBufferSizeRequest.newBuilder().setSocketId(remote.id()).setSize(size).build(), obs),
                    SetRecvBufferSizeResponse.getDefaultInstance());
        }
    }

    private static AddressInfo info(dev.dgramd.proto.v1.AddressInfo a) {
        return new AddressInfo(a.getAddress(), a.getFamily(), a.getPort());
    }
}
