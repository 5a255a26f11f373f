package dev.dgramd.daemon.udp;

import io.netty.channel.EventLoop;
import io.netty.channel.socket.DatagramChannel;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The open sockets of a daemon, by id. Ids are 128 random bits, so they cannot be guessed.
 * Remembers a bounded number of recently closed ids, so a late call on one of them can be told
 * "closed" rather than "never existed".
 */
public final class SocketRegistry implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(SocketRegistry.class);
    private static final int REMEMBERED_CLOSED = 4096;

    private final Transport transport;
    private final TrafficTotals totals = new TrafficTotals();
    private final AddressResolver resolver = new AddressResolver();
    private final SecureRandom random = new SecureRandom();
    private final Map<String, UdpSocket> open = new ConcurrentHashMap<>();
    private final Map<String, Boolean> recentlyClosed = Collections.synchronizedMap(
            new LinkedHashMap<>(64, 0.75f, false) {
                private static final long serialVersionUID = 1L;

                @Override
                protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
                    return size() > REMEMBERED_CLOSED;
                }
            });

    public SocketRegistry(Transport transport) {
        this.transport = transport;
    }

    /**
     * Creates an unbound socket on {@code loop} (or on any of the transport's loops when null).
     *
     * @param observer makes the observer of the new socket's events, given the socket's id and loop
     */
    public CompletableFuture<UdpSocket> create(SocketConfig config, EventLoop loop,
                                               Function<UdpSocket.Context, SocketObserver> observer) {
        EventLoop target = loop != null ? loop : transport.group().next();
        DatagramChannel channel = transport.newDatagramChannel(config.family());
        String id = newId();
        CompletableFuture<UdpSocket> result = new CompletableFuture<>();
        target.register(channel).addListener(f -> {
            if (!f.isSuccess()) {
                channel.close();
                result.completeExceptionally(DgramError.system(SystemError.of(f.cause()), "socket", null, 0));
                return;
            }
            UdpSocket socket = new UdpSocket(id, config, channel, resolver,
                    observer.apply(new UdpSocket.Context(id, channel.eventLoop())), this::closed,
                    new SocketCounters(totals));
            open.put(id, socket);
            totals.socketsCreated.increment();
            SocketLog.debug(log, id, "socket {} created ({})", id, config.family().nodeName());
            result.complete(socket);
        });
        return result;
    }

    /** The open socket {@code id}, or null. */
    public UdpSocket get(String id) {
        return id == null ? null : open.get(id);
    }

    /** True when {@code id} names a socket closed not long ago. */
    public boolean wasClosed(String id) {
        return id != null && recentlyClosed.containsKey(id);
    }

    /** How many sockets are open. */
    public int size() {
        return open.size();
    }

    /** The open sockets now, in no particular order. */
    public List<UdpSocket> sockets() {
        return new ArrayList<>(open.values());
    }

    /** The daemon-wide counters of every socket this registry created. */
    public TrafficTotals totals() {
        return totals;
    }

    /** Closes every open socket; completes when each has emitted 'close'. */
    public CompletableFuture<Void> closeAll() {
        List<CompletableFuture<Boolean>> closing = new ArrayList<>();
        for (UdpSocket s : open.values()) {
            closing.add(s.close());
        }
        return CompletableFuture.allOf(closing.toArray(CompletableFuture[]::new));
    }

    private void closed(UdpSocket socket) {
        recentlyClosed.put(socket.id(), Boolean.TRUE);
        open.remove(socket.id());
        totals.socketsClosed.increment();
        SocketLog.debug(log, socket.id(), "socket {} closed", socket.id());
    }

    private String newId() {
        byte[] bytes = new byte[16];
        random.nextBytes(bytes);
        return HexFormat.of().formatHex(bytes);
    }

    @Override
    public void close() {
        resolver.close();
    }
}
