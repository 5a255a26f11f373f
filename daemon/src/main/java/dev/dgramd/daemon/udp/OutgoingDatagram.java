package dev.dgramd.daemon.udp;

import io.netty.buffer.ByteBuf;

/**
 * One datagram to send, as a socket reads it: an {@link UdpSocket.Outgoing}, or the current one of
 * a {@link Batch}. Port 0 and address null or empty: the connected peer. The payload is the
 * socket's to release once it was read.
 */
public interface OutgoingDatagram {
    /** Chosen by the caller, given back with the datagram's outcome. */
    long id();

    ByteBuf data();

    int port();

    String address();

    /** Whether a failure is also emitted as 'error'. */
    boolean emitError();

    /**
     * Datagrams read one after another, the accessors describing the current one: what a caller
     * that holds them in a form of its own hands to {@link UdpSocket#send(Batch, UdpSocket.SendCompletion)},
     * so that a datagram becomes an object only when it has to wait (for a bind, connect or name
     * lookup, or for the socket's event loop). The socket reads the whole batch before that
     * call returns, {@link #data()} once per datagram.
     */
    interface Batch extends OutgoingDatagram {
        /** Moves to the next datagram; false when there is none. */
        boolean next();
    }
}
