package dev.dgramd.daemon.udp;

import java.net.InetSocketAddress;

/**
 * A live copy of one socket's datagrams, in and out (see {@link UdpSocket#addTap}). Called on the
 * socket's event loop: implementations must not block and should drop rather than queue without bound.
 */
public interface DatagramTap {

    /** Which way a tapped datagram went. */
    enum Direction {
        /** Received from {@code peer}. */
        RECEIVED,
        /** Sent to {@code peer} (the kernel accepted it). */
        SENT
    }

    /** A datagram went {@code direction}; {@code data} is shared with the socket: read it, never change it. */
    void onDatagram(Direction direction, InetSocketAddress peer, byte[] data);

    /** The socket closed: no datagram follows. */
    void onClose();
}
