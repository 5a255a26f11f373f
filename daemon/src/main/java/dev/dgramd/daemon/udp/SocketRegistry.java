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
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The open sockets of a daemon, by id. Ids are 128 random bits, so they cannot be guessed.
 * Each socket has an owner (a principal name); {@link #get(String, String)} finds a socket only for
 * its owner, and the registry caps how many sockets one owner holds. Remembers a bounded number of
 * recently closed ids, so a late call on one of them can be told "closed" rather than "never existed".
 *
 * <p>A socket may have a name, unique among its owner's open sockets ({@link #open}): opening a
 * socket by a name that one holds gives that socket. Each owner has names of its own.
 */
public final class SocketRegistry implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(SocketRegistry.class);
    private static final int REMEMBERED_CLOSED = 4096;

    private final Transport transport;
    private final TrafficTotals totals = new TrafficTotals();
    private final AddressResolver resolver;
    private final SecureRandom random = new SecureRandom();
    private final Map<String, UdpSocket> open = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> owned = new ConcurrentHashMap<>();
    /** Owner and name (joined by a newline, which no principal or name holds) to the socket. */
    private final Map<String, CompletableFuture<UdpSocket>> named = new ConcurrentHashMap<>();
    private final Map<String, String> names = new ConcurrentHashMap<>(); // id -> name
    private final Consumer<UdpSocket> onClosed = this::closed; // one for every socket
    private final Map<String, String> recentlyClosed = Collections.synchronizedMap( // id -> owner
            new LinkedHashMap<>(64, 0.75f, false) {
                private static final long serialVersionUID = 1L;

                @Override
                protected boolean removeEldestEntry(Map.Entry<String, String> eldest) {
                    return size() > REMEMBERED_CLOSED;
                }
            });

    public SocketRegistry(Transport transport) {
        this(transport, new AddressResolver());
    }

    /** With {@code resolver} for every socket's name lookups; the registry closes it. */
    SocketRegistry(Transport transport, AddressResolver resolver) {
        this.transport = transport;
        this.resolver = resolver;
    }

    /**
     * Creates an unbound socket on {@code loop} (or on any of the transport's loops when null), owned
     * by {@code owner}. Fails with EMFILE (a {@link DgramError.Refusal#QUOTA} refusal) when the owner
     * already holds {@code maxOwned} open sockets, and with the kernel's error (syscall
     * {@code socket}: EMFILE at the process's file descriptor limit, ENFILE at the system's) when
     * the socket cannot be made. The owner's count of sockets is taken for the new socket only
     * when it is made: every failure gives its place back.
     *
     * @param guard makes the guard of the new socket, given its id and loop
     * @param observer makes the observer of the new socket's events, given its id and loop
     */
    public CompletableFuture<UdpSocket> create(SocketConfig config, EventLoop loop, String owner, int maxOwned,
                                               Function<UdpSocket.Context, SocketGuard> guard,
                                               Function<UdpSocket.Context, SocketObserver> observer) {
        AtomicInteger count = owned.computeIfAbsent(owner, o -> new AtomicInteger());
        if (count.incrementAndGet() > maxOwned) {
            count.decrementAndGet();
            return CompletableFuture.failedFuture(DgramError.refused(DgramError.Refusal.QUOTA, SystemError.EMFILE,
                    "socket", null, 0, "at most " + maxOwned + " open sockets per principal"));
        }
        EventLoop target = loop != null ? loop : transport.group().next();
        DatagramChannel channel;
        try {
            channel = transport.newDatagramChannel(config.family());
        } catch (RuntimeException e) { // Netty's ChannelException: EMFILE, ENFILE, ENOBUFS, ...
            count.decrementAndGet();
            return CompletableFuture.failedFuture(socketFailed(e));
        }
        String id = newId();
        CompletableFuture<UdpSocket> result = new CompletableFuture<>();
        target.register(channel).addListener(f -> {
            if (!f.isSuccess()) {
                count.decrementAndGet();
                channel.close();
                result.completeExceptionally(socketFailed(f.cause()));
                return;
            }
            UdpSocket socket;
            try {
                UdpSocket.Context context = new UdpSocket.Context(id, channel.eventLoop());
                socket = new UdpSocket(id, owner, config, channel, resolver, observer.apply(context),
                        onClosed, new SocketCounters(totals), guard.apply(context));
            } catch (RuntimeException e) {
                count.decrementAndGet();
                channel.close();
                log.warn("making socket {} failed", id, e);
                result.completeExceptionally(socketFailed(e));
                return;
            }
            open.put(id, socket);
            totals.socketsCreated.increment();
            SocketLog.debug(log, id, "socket {} created ({})", id, config.family().nodeName());
            result.complete(socket);
        });
        return result;
    }

    /** A socket {@link #open} gave: made for the call, or the open socket that held the name. */
    public record Opened(UdpSocket socket, boolean attached) {}

    /**
     * {@link #create}, except that when {@code name} is not empty and an open socket of
     * {@code owner} holds it, that socket is the answer ({@code attached}) and nothing is created;
     * otherwise the new socket takes the name until it closes. Two calls with one name at once get
     * one socket. Fails as {@link #create} does (a caller that finds the name held by a socket still
     * being created gets that creation's failure).
     */
    public CompletableFuture<Opened> open(String name, SocketConfig config, EventLoop loop, String owner, int maxOwned,
                                          Function<UdpSocket.Context, SocketGuard> guard,
                                          Function<UdpSocket.Context, SocketObserver> observer) {
        if (name == null || name.isEmpty()) {
            return create(config, loop, owner, maxOwned, guard, observer).thenApply(s -> new Opened(s, false));
        }
        String key = owner + '\n' + name;
        CompletableFuture<UdpSocket> mine = new CompletableFuture<>();
        CompletableFuture<UdpSocket> held = named.putIfAbsent(key, mine);
        if (held != null) {
            return held.thenApply(s -> new Opened(s, true));
        }
        create(config, loop, owner, maxOwned, guard, observer).whenComplete((socket, error) -> {
            if (error != null) {
                named.remove(key, mine);
                mine.completeExceptionally(error);
                return;
            }
            names.put(socket.id(), name);
            mine.complete(socket);
        });
        return mine.thenApply(s -> new Opened(s, false));
    }

    /**
     * Takes over a socket handed over by another process ({@link UdpSocket#handOver}): a channel on
     * its descriptor, on {@code loop} (or any loop), with its id, owner, name, binding, connection
     * and counts as they were. It counts toward its owner's sockets even past a quota (it exists
     * already). Reading starts once the observer is made, so the observer sees what the other
     * process held first (the observer factory restores it) and then what the kernel kept meanwhile.
     *
     * <p>Fails with IllegalStateException on the NIO transport, or when the id or the name is
     * taken here already; with the channel's error when it cannot be registered.
     *
     * @param name the socket's name, or null
     */
    public CompletableFuture<UdpSocket> adopt(UdpSocket.HandedOver state, String name, EventLoop loop,
                                              Function<UdpSocket.Context, SocketGuard> guard,
                                              Function<UdpSocket.Context, SocketObserver> observer) {
        DatagramChannel channel;
        try {
            channel = transport.adoptDatagramChannel(state.fd());
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
        String key = name == null || name.isEmpty() ? null : state.owner() + '\n' + name;
        CompletableFuture<UdpSocket> result = new CompletableFuture<>();
        if (open.containsKey(state.id()) || (key != null && named.containsKey(key))) {
            channel.close();
            return CompletableFuture.failedFuture(new IllegalStateException("socket " + state.id()
                    + " (or its name) is taken already"));
        }
        if (key != null) {
            named.put(key, result);
        }
        EventLoop target = loop != null ? loop : transport.group().next();
        target.register(channel).addListener(f -> {
            if (!f.isSuccess()) {
                channel.close();
                if (key != null) {
                    named.remove(key, result);
                }
                result.completeExceptionally(f.cause());
                return;
            }
            UdpSocket socket;
            try {
                UdpSocket.Context context = new UdpSocket.Context(state.id(), channel.eventLoop());
                socket = new UdpSocket(state.id(), state.owner(), state.config(), channel, resolver,
                        observer.apply(context), onClosed, new SocketCounters(totals, state.counts()),
                        guard.apply(context));
                socket.adopted(state.local(), state.remote(), state.kernelDropsSeen());
            } catch (RuntimeException e) {
                channel.close();
                if (key != null) {
                    named.remove(key, result);
                }
                log.warn("taking over socket {} failed", state.id(), e);
                result.completeExceptionally(e);
                return;
            }
            owned.computeIfAbsent(state.owner(), o -> new AtomicInteger()).incrementAndGet();
            open.put(state.id(), socket);
            if (key != null) {
                names.put(state.id(), name);
            }
            channel.config().setAutoRead(true); // reads what the kernel kept meanwhile
            SocketLog.debug(log, state.id(), "socket {} taken over", state.id());
            result.complete(socket);
        });
        return result;
    }

    /**
     * Forgets socket {@code id}, handed over to another process: it leaves the registry and its
     * owner's count without closing and without 'close' (the other process has it now).
     */
    public void release(String id) {
        UdpSocket socket = open.remove(id);
        if (socket == null) {
            return;
        }
        String name = names.remove(id);
        if (name != null) {
            named.remove(socket.owner() + '\n' + name);
        }
        owned.get(socket.owner()).decrementAndGet();
    }

    /** The name of open socket {@code id}, or null when it has none. */
    public String name(String id) {
        return names.get(id);
    }

    /** The Node error for a socket the kernel (or Netty) could not make. */
    private static DgramError socketFailed(Throwable cause) {
        return DgramError.system(SystemError.of(cause), "socket", null, 0);
    }

    /** The open socket {@code id} whoever owns it, or null: for administration. */
    public UdpSocket get(String id) {
        return id == null ? null : open.get(id);
    }

    /** The open socket {@code id} if {@code owner} owns it, or null (the same as for an id never seen). */
    public UdpSocket get(String id, String owner) {
        UdpSocket socket = get(id);
        return socket != null && owner.equals(socket.owner()) ? socket : null;
    }

    /** The owner of open socket {@code id}, or null. */
    public String owner(String id) {
        UdpSocket socket = get(id);
        return socket == null ? null : socket.owner();
    }

    /** True when {@code id} names a socket closed not long ago. */
    public boolean wasClosed(String id) {
        return id != null && recentlyClosed.containsKey(id);
    }

    /** True when {@code id} names a socket of {@code owner} closed not long ago. */
    public boolean wasClosed(String id, String owner) {
        return id != null && owner.equals(recentlyClosed.get(id));
    }

    /** How many open sockets {@code owner} holds. */
    public int ownedBy(String owner) {
        AtomicInteger count = owned.get(owner);
        return count == null ? 0 : count.get();
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
        recentlyClosed.put(socket.id(), socket.owner());
        open.remove(socket.id());
        String name = names.remove(socket.id());
        if (name != null) {
            named.remove(socket.owner() + '\n' + name);
        }
        owned.get(socket.owner()).decrementAndGet();
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
