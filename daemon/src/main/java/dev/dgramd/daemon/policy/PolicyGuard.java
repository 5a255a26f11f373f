package dev.dgramd.daemon.policy;

import dev.dgramd.daemon.udp.Addresses;
import dev.dgramd.daemon.udp.DgramError;
import dev.dgramd.daemon.udp.DgramError.Refusal;
import dev.dgramd.daemon.udp.SocketGuard;
import dev.dgramd.daemon.udp.SystemError;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.function.LongSupplier;

/**
 * One socket's guard: its principal's {@link Rules} and the socket's own token buckets. Refusals are
 * EACCES (forbidden: bind address or port, destination, broadcast, multicast group) or, for quotas,
 * EMSGSIZE (payload above maxPayload) and ENOBUFS (rate), each audited. Used on the socket's event
 * loop only.
 */
final class PolicyGuard implements SocketGuard {
    private final Rules rules;
    private final String principal;
    private final String socketId;
    private final LongSupplier clock;
    private final TokenBucket datagrams;
    private final TokenBucket bytes;
    /** Made at the first refusal: most sockets are never refused anything. */
    private AuditLimiter audit;
    /** The last destination allowed: a run of sends to one peer is checked once. */
    private InetSocketAddress lastAllowed;

    PolicyGuard(Rules rules, String principal, String socketId, LongSupplier clock) {
        this.rules = rules;
        this.principal = principal;
        this.socketId = socketId;
        this.clock = clock;
        this.datagrams = rules.datagramsPerSecond() > 0
                ? new TokenBucket(rules.datagramsPerSecond(), rules.datagramsPerSecond(), clock) : null;
        this.bytes = rules.bytesPerSecond() > 0
                ? new TokenBucket(rules.bytesPerSecond(), rules.bytesPerSecond(), clock) : null;
    }

    @Override
    public DgramError checkBind(InetAddress local, int port) {
        String why = rules.bindRefusal(local, port);
        return why == null ? null
                : refuse("bind", Refusal.FORBIDDEN, SystemError.EACCES, Addresses.text(local), port, why);
    }

    @Override
    public DgramError checkDestination(InetSocketAddress to, String syscall) {
        if (to.equals(lastAllowed)) {
            return null;
        }
        String why = rules.destinationRefusal(to.getAddress(), to.getPort());
        if (why != null) {
            return refuse(syscall, Refusal.FORBIDDEN, SystemError.EACCES, Addresses.text(to.getAddress()),
                    to.getPort(), why);
        }
        lastAllowed = to;
        return null;
    }

    @Override
    public DgramError checkBroadcast() {
        String why = rules.broadcastRefusal();
        return why == null ? null : refuse("setBroadcast", Refusal.FORBIDDEN, SystemError.EACCES, null, 0, why);
    }

    @Override
    public DgramError checkMembership(InetAddress group, InetAddress source, String syscall) {
        String why = rules.multicastGroupRefusal(group);
        return why == null ? null
                : refuse(syscall, Refusal.FORBIDDEN, SystemError.EACCES, Addresses.text(group), 0, why);
    }

    @Override
    public DgramError admitSend(int size, InetSocketAddress to) {
        if (size > rules.maxPayload()) {
            return refuse("send", Refusal.QUOTA, SystemError.EMSGSIZE, Addresses.text(to.getAddress()), to.getPort(),
                    "maxPayload " + rules.maxPayload() + " bytes, datagram has " + size);
        }
        if (datagrams != null && !datagrams.tryTake(1)) {
            return refuse("send", Refusal.QUOTA, SystemError.ENOBUFS, Addresses.text(to.getAddress()), to.getPort(),
                    "datagramsPerSecond " + rules.datagramsPerSecond() + " per socket");
        }
        if (bytes != null && !bytes.tryTake(size)) {
            return refuse("send", Refusal.QUOTA, SystemError.ENOBUFS, Addresses.text(to.getAddress()), to.getPort(),
                    "bytesPerSecond " + rules.bytesPerSecond() + " per socket");
        }
        return null;
    }

    private DgramError refuse(String syscall, Refusal kind, SystemError code, String address, int port, String why) {
        DgramError e = DgramError.refused(kind, code, syscall, address, port, why);
        if (audit == null) {
            audit = new AuditLimiter();
        }
        audit.log(principal, socketId, syscall, e, clock.getAsLong());
        return e;
    }
}
