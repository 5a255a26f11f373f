package dev.dgramd.daemon.udp;

import java.net.InetSocketAddress;

/** One event of a {@link UdpSocket}, named as Node's {@code dgram.Socket} events. */
public sealed interface SocketEvent {

    /** 'listening': the socket is bound to {@code address}. */
    record Listening(InetSocketAddress address) implements SocketEvent {}

    /** 'connect': the socket is connected to {@code remote}. */
    record Connect(InetSocketAddress remote) implements SocketEvent {}

    /** 'message': {@code data} arrived from {@code sender}. The array is owned by the event. */
    record Message(byte[] data, InetSocketAddress sender) implements SocketEvent {}

    /** 'error'. */
    record Error(DgramError error) implements SocketEvent {}

    /** 'close': the last event of a socket. */
    record Close() implements SocketEvent {}
}
