package dev.dgramd.daemon.udp;

import java.net.InetAddress;
import java.net.InetSocketAddress;

/**
 * What one socket may do, asked before it acts: bind, connect, send, setBroadcast(true) and group
 * joins. Each method answers null to allow, or the error to fail the operation with (usually a
 * {@link DgramError#refused refusal}); the socket fails the operation as it fails any other
 * (callback, 'error' event), so the caller sees the refusal as Node users see a kernel error.
 *
 * <p>One guard per socket, always called on that socket's event loop, so an implementation may keep
 * per-socket state (token buckets) without locks. Checks run on resolved addresses, after any name
 * lookup. {@link #admitSend} runs for every datagram: keep it cheap on the allow path.
 */
public interface SocketGuard {
    /** Allows everything. */
    SocketGuard ALLOW_ALL = new SocketGuard() { };

    /** Before binding to {@code local}:{@code port} (port 0: the kernel picks one). */
    default DgramError checkBind(InetAddress local, int port) {
        return null;
    }

    /** Before connecting to, or sending to (unconnected), {@code to}; {@code syscall} is "connect" or "send". */
    default DgramError checkDestination(InetSocketAddress to, String syscall) {
        return null;
    }

    /** Before {@code setBroadcast(true)}. */
    default DgramError checkBroadcast() {
        return null;
    }

    /** Before joining {@code group} ({@code source} non-null for a source-specific join). */
    default DgramError checkMembership(InetAddress group, InetAddress source, String syscall) {
        return null;
    }

    /** Before writing a datagram of {@code bytes} to {@code to}: quotas (size, rate). */
    default DgramError admitSend(int bytes, InetSocketAddress to) {
        return null;
    }
}
