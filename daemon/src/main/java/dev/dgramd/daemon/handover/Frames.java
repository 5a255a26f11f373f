package dev.dgramd.daemon.handover;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import java.nio.charset.StandardCharsets;

/**
 * The hand-over's messages on its unix socket: a 4-byte length, a type byte, then the body. The
 * file descriptors travel between them as {@code SCM_RIGHTS} messages of their own, while the
 * receiver reads descriptors (only after it asked for them, so none is read as bytes).
 *
 * <p>The exchange: the taker sends {@link #TAKE}; the giver stops its sockets and sends
 * {@link #STATE} (the {@link HandOverCodec} bytes); the taker switches to reading descriptors and
 * sends {@link #SEND_FDS}; the giver sends one descriptor per socket, in order; the taker adopts
 * them (its sockets read from now on) and sends {@link #TAKEN}; the giver stops listening on its
 * addresses and sends {@link #RELEASED}; the taker listens on them and sends {@link #DONE}; the
 * giver exits. Either side may send {@link #ERROR} (a UTF-8 reason) instead; a giver whose taker
 * fails or goes away before {@link #TAKEN} goes on with its sockets.
 */
final class Frames {
    static final byte TAKE = 'T';
    static final byte STATE = 'S';
    static final byte SEND_FDS = 'F';
    static final byte TAKEN = 'K';
    static final byte RELEASED = 'R';
    static final byte DONE = 'D';
    static final byte ERROR = 'E';
    /** The largest message: the state of every socket with its held events. */
    static final int MAX_FRAME = 1 << 30;

    private Frames() {
    }

    static LengthFieldBasedFrameDecoder decoder() {
        return new LengthFieldBasedFrameDecoder(MAX_FRAME, 0, 4, 0, 4);
    }

    static ChannelFuture send(Channel ch, byte type, byte[] body) {
        ByteBuf frame = Unpooled.buffer(5 + body.length);
        frame.writeInt(1 + body.length);
        frame.writeByte(type);
        frame.writeBytes(body);
        return ch.writeAndFlush(frame);
    }

    static ChannelFuture send(Channel ch, byte type) {
        return send(ch, type, new byte[0]);
    }

    static ChannelFuture error(Channel ch, String why) {
        return send(ch, ERROR, why.getBytes(StandardCharsets.UTF_8));
    }

    /** The body of a frame (its type byte read already). */
    static byte[] body(ByteBuf frame) {
        byte[] body = new byte[frame.readableBytes()];
        frame.readBytes(body);
        return body;
    }
}
