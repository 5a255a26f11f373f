package dev.dgramd.daemon.udp;

import io.netty.util.NetUtil;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Turns the address strings of dgram calls into {@link InetAddress}es, as Node's {@code dns.lookup}
 * does for a socket: literals are parsed at once, host names are looked up (through the system
 * resolver, so /etc/hosts applies) on a small bounded pool, never on an event loop.
 */
public final class AddressResolver implements AutoCloseable {
    private static final int LOOKUP_THREADS = 4;
    private static final int LOOKUP_QUEUE = 1024;

    private final ThreadPoolExecutor lookups;

    public AddressResolver() {
        this(LOOKUP_THREADS);
    }

    /** With {@code threads} lookup threads: tests use one, to hold lookups behind a task of their own. */
    AddressResolver(int threads) {
        AtomicInteger n = new AtomicInteger();
        lookups = new ThreadPoolExecutor(threads, threads, 30, TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(LOOKUP_QUEUE), r -> {
                    Thread t = new Thread(r, "dgramd-lookup-" + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        lookups.allowCoreThreadTimeOut(true);
    }

    /** Runs {@code task} on the lookup pool (ahead of lookups asked for after it); for tests. */
    void execute(Runnable task) {
        lookups.execute(task);
    }

    /** The literal address {@code text}, or null when it is not an IP literal. Never does I/O. */
    static InetAddress parseLiteral(String text) {
        if (NetUtil.isValidIpV4Address(text)) {
            return byAddress(NetUtil.createByteArrayFromIpAddressString(text));
        }
        String bare = text.startsWith("[") && text.endsWith("]") ? text.substring(1, text.length() - 1) : text;
        int percent = bare.indexOf('%');
        if (NetUtil.isValidIpV6Address(percent < 0 ? bare : bare.substring(0, percent))) {
            try {
                return InetAddress.getByName(bare); // a literal: no lookup
            } catch (UnknownHostException e) {
                return null; // bad scope id
            }
        }
        return null;
    }

    private static InetAddress withoutHostName(InetAddress a) {
        return a instanceof Inet6Address six && six.getScopeId() != 0 ? a : byAddress(a.getAddress());
    }

    private static InetAddress byAddress(byte[] bytes) {
        try {
            return InetAddress.getByAddress(bytes);
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Resolves {@code host} for a socket of {@code family}.
     * Fails with EINVAL (for {@code syscall}) when a literal is of the other family, and with
     * ENOTFOUND (syscall getaddrinfo) when a name has no address of the family.
     */
    public CompletableFuture<InetAddress> resolve(String host, SocketConfig.Family family, String syscall, int port) {
        InetAddress literal = literal(host, family);
        if (literal != null) {
            if (!matches(literal, family)) {
                return CompletableFuture.failedFuture(DgramError.system(SystemError.EINVAL, syscall, host, port));
            }
            return CompletableFuture.completedFuture(literal);
        }
        if (!isPlausibleHostName(host)) {
            return CompletableFuture.failedFuture(notFound(host));
        }
        CompletableFuture<InetAddress> result = new CompletableFuture<>();
        try {
            lookups.execute(() -> {
                try {
                    for (InetAddress a : InetAddress.getAllByName(host)) {
                        if (matches(a, family)) {
                            result.complete(withoutHostName(a));
                            return;
                        }
                    }
                    result.completeExceptionally(notFound(host));
                } catch (UnknownHostException | SecurityException e) {
                    result.completeExceptionally(notFound(host));
                }
            });
        } catch (RejectedExecutionException e) {
            result.completeExceptionally(DgramError.of("EAI_AGAIN", "getaddrinfo EAI_AGAIN " + host + " (too many lookups in flight)"));
        }
        return result;
    }

    /**
     * The literal address {@code host} as a socket of {@code family} uses it (on udp6,
     * "::ffff:a.b.c.d" is the IPv4-mapped IPv6 address), or null when it is not an IP literal.
     * Never does I/O; it may be of the other family (which {@link #resolve} refuses).
     */
    static InetAddress literal(String host, SocketConfig.Family family) {
        InetAddress literal = parseLiteral(host);
        if (literal instanceof Inet4Address v4 && family == SocketConfig.Family.IPV6 && host.indexOf(':') >= 0) {
            literal = ipv4Mapped(v4); // "::ffff:a.b.c.d": udp6 reaches IPv4 through it, as in Node
        }
        return literal;
    }

    /** True when {@code a} is an address a socket of {@code family} can use. */
    static boolean usable(InetAddress a, SocketConfig.Family family) {
        return matches(a, family);
    }

    /** {@code ::ffff:a.b.c.d} as an IPv6 address (the JDK reads that text as the IPv4 address). */
    private static InetAddress ipv4Mapped(Inet4Address v4) {
        byte[] bytes = new byte[16];
        bytes[10] = (byte) 0xff;
        bytes[11] = (byte) 0xff;
        System.arraycopy(v4.getAddress(), 0, bytes, 12, 4);
        try {
            return Inet6Address.getByAddress(null, bytes, -1);
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    private static boolean matches(InetAddress a, SocketConfig.Family family) {
        return family == SocketConfig.Family.IPV4 ? a instanceof Inet4Address : a instanceof Inet6Address;
    }

    /**
     * False for what no resolver can answer, so it fails at once without a query: text that is not
     * a DNS name (bad characters, over 253 characters, a label over 63), and names under the
     * special-use ".invalid" domain (RFC 6761 asks resolvers to refuse those themselves).
     */
    private static boolean isPlausibleHostName(String host) {
        if (host.isEmpty() || host.length() > 253) {
            return false;
        }
        int label = 0;
        for (int i = 0; i < host.length(); i++) {
            char c = host.charAt(i);
            if (c == '.') {
                label = 0;
            } else if (++label > 63 || !(c < 128 && (Character.isLetterOrDigit(c) || c == '-' || c == '_'))) {
                return false;
            }
        }
        String lower = host.toLowerCase(java.util.Locale.ROOT);
        String name = lower.endsWith(".") ? lower.substring(0, lower.length() - 1) : lower;
        return !(name.equals("invalid") || name.endsWith(".invalid"));
    }

    private static DgramError notFound(String host) {
        return DgramError.system(SystemError.ENOTFOUND, "getaddrinfo", host, 0);
    }

    @Override
    public void close() {
        lookups.shutdownNow();
    }
}
