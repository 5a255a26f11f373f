package dev.dgramd.daemon.udp;

import java.net.InetSocketAddress;
import java.util.Arrays;

/** One event of a {@link UdpSocket}, named as Node's {@code dgram.Socket} events. */
public sealed interface SocketEvent {

    /** 'listening': the socket is bound to {@code address}. */
    record Listening(InetSocketAddress address) implements SocketEvent {}

    /** 'connect': the socket is connected to {@code remote}. */
    record Connect(InetSocketAddress remote) implements SocketEvent {}

    /**
     * 'message': {@code length} bytes from {@code offset} of {@code array} arrived from {@code sender}.
     *
     * <p>A borrowed message ({@code borrowed} true) lies in the buffer the socket's reads share
     * ({@link BurstBuffer}): its bytes are the observer's only until {@link SocketObserver#onBurstEnd}
     * returns, after which the next read writes over them. An observer that keeps the event longer
     * keeps {@link #owned()} instead. Otherwise the event owns its bytes.
     */
    record Message(byte[] array, int offset, int length, InetSocketAddress sender, boolean borrowed)
            implements SocketEvent {
        /** {@code data}, all of it, owned by the event. */
        public Message(byte[] data, InetSocketAddress sender) {
            this(data, 0, data.length, sender, false);
        }

        /** This message with bytes of its own: itself when it owns them. */
        public Message owned() {
            return borrowed ? new Message(data(), sender) : this;
        }

        /** The payload as an array of its own length: {@link #array} when it is all of it, else a copy. */
        public byte[] data() {
            return offset == 0 && length == array.length && !borrowed
                    ? array : Arrays.copyOfRange(array, offset, offset + length);
        }
    }

    /** 'error'. */
    record Error(DgramError error) implements SocketEvent {}

    /** 'close': the last event of a socket. */
    record Close() implements SocketEvent {}
}
