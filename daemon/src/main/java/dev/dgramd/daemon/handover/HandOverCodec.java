package dev.dgramd.daemon.handover;

import dev.dgramd.daemon.grpc.DgramService.HandedSocket;
import dev.dgramd.daemon.grpc.HeldEvents;
import dev.dgramd.daemon.udp.DgramError;
import dev.dgramd.daemon.udp.SocketConfig;
import dev.dgramd.daemon.udp.SocketCounters;
import dev.dgramd.daemon.udp.SocketEvent;
import dev.dgramd.daemon.udp.UdpSocket;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The state of handed-over sockets in bytes, between two dgramd processes of the same build or
 * of builds that share {@link #VERSION}: every field of {@link HandedSocket} except the file
 * descriptor, which travels on its own ({@code SCM_RIGHTS}), in the same order as the sockets.
 * Not a public contract: a process refuses a version it does not know.
 */
final class HandOverCodec {
    /** The format's version; a change of the format changes it. */
    static final int VERSION = 1;
    private static final int MAGIC = 0x64674876; // "dgHv"
    private static final byte LISTENING = 1;
    private static final byte CONNECT = 2;
    private static final byte MESSAGE = 3;
    private static final byte ERROR = 4;

    private HandOverCodec() {
    }

    static byte[] encode(List<HandedSocket> sockets) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeInt(MAGIC);
            out.writeInt(VERSION);
            out.writeInt(sockets.size());
            for (HandedSocket h : sockets) {
                writeSocket(out, h);
            }
        } catch (IOException e) {
            throw new IllegalStateException("encoding in memory failed", e);
        }
        return bytes.toByteArray();
    }

    /**
     * The sockets {@code bytes} describe, each with file descriptor -1 until its own arrives.
     *
     * @throws IOException when the bytes are not this format (another version, truncated, ...)
     */
    static List<HandedSocket> decode(byte[] bytes) throws IOException {
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes));
        if (in.readInt() != MAGIC) {
            throw new IOException("not a dgramd hand-over");
        }
        int version = in.readInt();
        if (version != VERSION) {
            throw new IOException("hand-over format " + version + ", this dgramd reads " + VERSION);
        }
        int n = in.readInt();
        if (n < 0) {
            throw new IOException("hand-over of " + n + " sockets");
        }
        List<HandedSocket> sockets = new ArrayList<>(Math.min(n, 65_536));
        for (int i = 0; i < n; i++) {
            sockets.add(readSocket(in));
        }
        if (in.available() > 0) {
            throw new IOException("hand-over has " + in.available() + " bytes past its end");
        }
        return sockets;
    }

    private static void writeSocket(DataOutputStream out, HandedSocket h) throws IOException {
        UdpSocket.HandedOver s = h.socket();
        out.writeUTF(s.id());
        out.writeUTF(s.owner());
        writeNullable(out, h.name());
        SocketConfig c = s.config();
        out.writeUTF(c.family().name());
        out.writeBoolean(c.reuseAddr());
        out.writeBoolean(c.reusePort());
        out.writeBoolean(c.ipv6Only());
        out.writeInt(c.recvBufferSize());
        out.writeInt(c.sendBufferSize());
        writeAddress(out, s.local());
        writeAddress(out, s.remote());
        out.writeLong(s.kernelDropsSeen());
        SocketCounters.Counts k = s.counts();
        out.writeLong(k.created().getEpochSecond());
        out.writeInt(k.created().getNano());
        out.writeLong(k.datagramsReceived());
        out.writeLong(k.bytesReceived());
        out.writeLong(k.datagramsSent());
        out.writeLong(k.bytesSent());
        out.writeLong(k.sendFailures());
        out.writeLong(k.errorsEmitted());
        out.writeLong(k.kernelDropped());
        HeldEvents e = h.events();
        out.writeLong(e.droppedMessages());
        out.writeLong(e.droppedMessagesBudget());
        out.writeLong(e.droppedErrors());
        out.writeLong(e.kernelDropped());
        out.writeLong(e.droppedMessagesTotal());
        out.writeLong(e.droppedMessagesBudgetTotal());
        out.writeLong(e.droppedErrorsTotal());
        out.writeLong(e.keepAliveNanos());
        out.writeBoolean(e.reapable());
        out.writeInt(e.queued().size());
        for (SocketEvent event : e.queued()) {
            writeEvent(out, event);
        }
    }

    private static HandedSocket readSocket(DataInputStream in) throws IOException {
        String id = in.readUTF();
        String owner = in.readUTF();
        String name = readNullable(in);
        SocketConfig.Family family;
        try {
            family = SocketConfig.Family.valueOf(in.readUTF());
        } catch (IllegalArgumentException e) {
            throw new IOException("hand-over names an unknown socket family", e);
        }
        SocketConfig config = new SocketConfig(family, in.readBoolean(), in.readBoolean(), in.readBoolean(),
                in.readInt(), in.readInt());
        InetSocketAddress local = readAddress(in);
        InetSocketAddress remote = readAddress(in);
        long kernelDropsSeen = in.readLong();
        Instant created = Instant.ofEpochSecond(in.readLong(), in.readInt());
        SocketCounters.Counts counts = new SocketCounters.Counts(created, in.readLong(), in.readLong(), in.readLong(),
                in.readLong(), in.readLong(), in.readLong(), in.readLong());
        long droppedMessages = in.readLong();
        long droppedMessagesBudget = in.readLong();
        long droppedErrors = in.readLong();
        long kernelDropped = in.readLong();
        long droppedMessagesTotal = in.readLong();
        long droppedMessagesBudgetTotal = in.readLong();
        long droppedErrorsTotal = in.readLong();
        long keepAliveNanos = in.readLong();
        boolean reapable = in.readBoolean();
        int queued = in.readInt();
        if (queued < 0) {
            throw new IOException("hand-over of " + queued + " events");
        }
        List<SocketEvent> events = new ArrayList<>(Math.min(queued, 4096));
        for (int i = 0; i < queued; i++) {
            events.add(readEvent(in));
        }
        return new HandedSocket(new UdpSocket.HandedOver(id, owner, config, local, remote, kernelDropsSeen, counts, -1),
                name, new HeldEvents(events, droppedMessages, droppedMessagesBudget, droppedErrors, kernelDropped,
                        droppedMessagesTotal, droppedMessagesBudgetTotal, droppedErrorsTotal, keepAliveNanos, reapable));
    }

    private static void writeEvent(DataOutputStream out, SocketEvent event) throws IOException {
        if (event instanceof SocketEvent.Listening l) {
            out.writeByte(LISTENING);
            writeAddress(out, l.address());
        } else if (event instanceof SocketEvent.Connect c) {
            out.writeByte(CONNECT);
            writeAddress(out, c.remote());
        } else if (event instanceof SocketEvent.Message m) {
            out.writeByte(MESSAGE);
            writeAddress(out, m.sender());
            out.writeInt(m.length());
            out.write(m.array(), m.offset(), m.length());
        } else if (event instanceof SocketEvent.Error e) {
            DgramError d = e.error();
            out.writeByte(ERROR);
            out.writeUTF(d.code());
            out.writeUTF(d.getMessage() == null ? "" : d.getMessage());
            out.writeInt(d.errno());
            writeNullable(out, d.syscall());
            writeNullable(out, d.address());
            out.writeInt(d.port());
        } else {
            throw new IllegalArgumentException("an open socket has no 'close' queued");
        }
    }

    private static SocketEvent readEvent(DataInputStream in) throws IOException {
        byte type = in.readByte();
        switch (type) {
            case LISTENING:
                return new SocketEvent.Listening(readAddress(in));
            case CONNECT:
                return new SocketEvent.Connect(readAddress(in));
            case MESSAGE: {
                InetSocketAddress sender = readAddress(in);
                int length = in.readInt();
                if (length < 0 || length > 65_535) {
                    throw new IOException("hand-over of a " + length + "-byte datagram");
                }
                byte[] data = new byte[length];
                in.readFully(data);
                return new SocketEvent.Message(data, sender);
            }
            case ERROR:
                return new SocketEvent.Error(DgramError.restore(in.readUTF(), in.readUTF(), in.readInt(),
                        readNullable(in), readNullable(in), in.readInt()));
            default:
                throw new IOException("hand-over of an unknown event type " + type);
        }
    }

    private static void writeAddress(DataOutputStream out, InetSocketAddress a) throws IOException {
        if (a == null) {
            out.writeByte(0);
            return;
        }
        byte[] ip = a.getAddress().getAddress();
        out.writeByte(ip.length);
        out.write(ip);
        if (a.getAddress() instanceof java.net.Inet6Address v6) {
            out.writeInt(v6.getScopeId());
        }
        out.writeShort(a.getPort());
    }

    private static InetSocketAddress readAddress(DataInputStream in) throws IOException {
        int length = in.readUnsignedByte();
        if (length == 0) {
            return null;
        }
        if (length != 4 && length != 16) {
            throw new IOException("hand-over of a " + length + "-byte address");
        }
        byte[] ip = new byte[length];
        in.readFully(ip);
        InetAddress address = length == 16 ? java.net.Inet6Address.getByAddress(null, ip, in.readInt())
                : InetAddress.getByAddress(ip);
        return new InetSocketAddress(address, in.readUnsignedShort());
    }

    private static void writeNullable(DataOutputStream out, String s) throws IOException {
        out.writeBoolean(s != null);
        if (s != null) {
            out.writeUTF(s);
        }
    }

    private static String readNullable(DataInputStream in) throws IOException {
        return in.readBoolean() ? in.readUTF() : null;
    }
}
