package dev.dgramd.daemon.udp;

import io.netty.buffer.ByteBuf;

/**
 * One datagram to send, as a socket reads it: an {@link UdpSocket.Outgoing}, or the current one of
 * a {@link Batch}. Port 0 and address null or empty: the connected peer. The payload is the
 * socket's to give up once it was read: written (which releases it), moved ({@link #moveTo}) or
 * discarded ({@link #discard}), once.
 */
public interface OutgoingDatagram {
    /** Chosen by the caller, given back with the datagram's outcome. */
    long id();

    /** The payload as a buffer the reader now owns; the same buffer on each call. */
    ByteBuf data();

    /** The payload's length in bytes, without making {@link #data()}'s buffer. */
    default int size() {
        return data().readableBytes();
    }

    /**
     * Appends the payload to {@code dst} and gives it up: what a writer that gathers several
     * datagrams into one buffer calls instead of {@link #data()}, saving a buffer per datagram.
     */
    default void moveTo(ByteBuf dst) {
        ByteBuf data = data();
        dst.writeBytes(data, data.readerIndex(), data.readableBytes());
        data.release();
    }

    /** Gives the payload up unsent. */
    default void discard() {
        data().release();
    }

    int port();

    String address();

    /** Whether a failure is also emitted as 'error'. */
    boolean emitError();

    /**
     * How many datagrams of the same call follow this one, 0 when none or unknown: a hint for
     * sizing a buffer that gathers them ({@link #moveTo}).
     */
    default int following() {
        return 0;
    }

    /**
     * Datagrams read one after another, the accessors describing the current one: what a caller
     * that holds them in a form of its own hands to {@link UdpSocket#send(Batch, UdpSocket.SendCompletion)},
     * so that a datagram becomes an object only when it has to wait (for a bind, connect or name
     * lookup, or for the socket's event loop). The socket reads the whole batch before that
     * call returns, and gives up each payload before it moves to the next.
     */
    interface Batch extends OutgoingDatagram {
        /** Moves to the next datagram; false when there is none. */
        boolean next();
    }
}
