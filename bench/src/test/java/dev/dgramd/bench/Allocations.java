package dev.dgramd.bench;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Heap bytes allocated by the threads of this JVM between two moments, as HotSpot counts them per
 * thread ({@code com.sun.management.ThreadMXBean}). Counts allocation, not time: the same work
 * allocates the same bytes on a busy machine as on a quiet one. A thread that ends between the
 * snapshots takes its share with it ({@link Delta#vanished} tells how many did).
 */
final class Allocations {
    private static final com.sun.management.ThreadMXBean MX =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    private final long[] ids;
    private final long[] bytes;

    private Allocations(long[] ids, long[] bytes) {
        this.ids = ids;
        this.bytes = bytes;
    }

    /** The bytes each live thread allocated so far. */
    static Allocations snapshot() {
        if (!MX.isThreadAllocatedMemorySupported()) {
            throw new IllegalStateException("this JVM does not count allocated bytes per thread");
        }
        MX.setThreadAllocatedMemoryEnabled(true);
        long[] ids = MX.getAllThreadIds();
        return new Allocations(ids, MX.getThreadAllocatedBytes(ids));
    }

    /** One thread's share of a delta. */
    record Share(String thread, long bytes) {}

    /**
     * What happened between two snapshots.
     *
     * @param bytes allocated by the counted threads
     * @param byThread the counted threads' shares, largest first, by thread name
     * @param vanished threads of {@code before} that ended meanwhile (their share is lost)
     */
    record Delta(long bytes, List<Share> byThread, int vanished) {}

    /** Bytes allocated since {@code before} by every thread but {@code excluded} (thread ids). */
    Delta since(Allocations before, Set<Long> excluded) {
        Map<Long, Long> start = new HashMap<>();
        for (int i = 0; i < before.ids.length; i++) {
            start.put(before.ids[i], before.bytes[i]);
        }
        Map<String, Long> names = new HashMap<>();
        long total = 0;
        int alive = 0;
        for (int i = 0; i < ids.length; i++) {
            if (bytes[i] < 0 || excluded.contains(ids[i])) {
                continue;
            }
            Long was = start.get(ids[i]);
            if (was != null) {
                alive++;
            }
            long d = bytes[i] - (was == null ? 0 : was); // a thread started meanwhile: all of it
            total += d;
            names.merge(threadName(ids[i]), d, Long::sum);
        }
        int vanished = 0;
        for (int i = 0; i < before.ids.length; i++) {
            if (before.bytes[i] >= 0 && !excluded.contains(before.ids[i]) && !contains(ids, before.ids[i])) {
                vanished++;
            }
        }
        List<Share> shares = new ArrayList<>();
        names.forEach((n, b) -> shares.add(new Share(n, b)));
        shares.sort((a, b) -> Long.compare(b.bytes(), a.bytes()));
        return new Delta(total, shares, vanished);
    }

    private static boolean contains(long[] a, long v) {
        for (long x : a) {
            if (x == v) {
                return true;
            }
        }
        return false;
    }

    /** The thread's name with trailing digits folded ("dgramd-listener-7" as "dgramd-listener-#"). */
    private static String threadName(long id) {
        var info = MX.getThreadInfo(id);
        String name = info == null ? "thread-" + id : info.getThreadName();
        return name.replaceAll("\\d+$", "#");
    }
}
