package dev.dgramd.client.internal;

import java.util.ArrayDeque;

/**
 * Where the client keeps its copies of send payloads until their datagrams are answered: small
 * payloads share recycled chunks of {@link #CHUNK_BYTES}, so that a send allocates no array of
 * its own. A copy has to outlive send(): the caller may reuse its array once send() returned, and
 * a datagram not yet answered when the daemon restarts by hand-over goes again to the new process.
 *
 * <p>A payload is copied at the end of the current chunk. A chunk goes back for reuse once none of
 * its payloads is held any more: at once when it is the current chunk (the next payload then
 * starts at its beginning again), else once it was left for a new one. At most {@code maxChunks}
 * exist; when they are all held (a slow datagram can hold a chunk however little of it is its
 * own), and for empty payloads and those over {@link #MAX_SHARED} bytes, {@link #reserve} returns null and the
 * caller makes an array of the payload's own, as if there were no chunks. So chunks never hold
 * more than {@code maxChunks * CHUNK_BYTES}, kept for reuse once made.
 *
 * <p>Not thread-safe: its owner ({@link SendPipeline}) calls it under one lock. The copying
 * itself may happen outside that lock: a reserved range belongs to its payload until released.
 */
final class PayloadChunks {
    /** The size of a chunk. */
    static final int CHUNK_BYTES = 64 * 1024;
    /** Payloads larger than this get an array of their own: a chunk holds at least 16. */
    static final int MAX_SHARED = CHUNK_BYTES / 16;

    /** One chunk: its array, how much of it is reserved, and by how many payloads still held. */
    static final class Chunk {
        final byte[] bytes = new byte[CHUNK_BYTES];
        private int used;
        private int held;
        /** Where the last {@link #reserve} put its payload. */
        private int last;
    }

    private final int maxChunks;
    private final ArrayDeque<Chunk> free = new ArrayDeque<>();
    private Chunk current;
    private int made;

    /** @param maxChunks at most this many chunks are made (at least 1) */
    PayloadChunks(int maxChunks) {
        this.maxChunks = Math.max(1, maxChunks);
    }

    /**
     * Reserves {@code length} bytes for one payload: the chunk, its offset given by {@link
     * #offset} until the next reserve. Null when the payload is to have an array of its own
     * (empty: a place of none would only keep its chunk from reuse; larger than {@link
     * #MAX_SHARED}; or every chunk held).
     */
    Chunk reserve(int length) {
        if (length == 0 || length > MAX_SHARED) {
            return null;
        }
        Chunk c = current;
        if (c == null || c.used + length > CHUNK_BYTES) {
            c = next();
            if (c == null) {
                return null;
            }
        }
        c.last = c.used;
        c.used += length;
        c.held++;
        return c;
    }

    /** The offset of the payload the last {@link #reserve} put into {@code c}. */
    static int offset(Chunk c) {
        return c.last;
    }

    /** A payload in {@code c} is no longer held: its bytes may be written over. */
    void release(Chunk c) {
        if (--c.held > 0) {
            return;
        }
        c.used = 0;
        if (c != current) {
            free.push(c);
        }
    }

    /** Chunks made so far (each kept for reuse). */
    int made() {
        return made;
    }

    /** Leaves the current chunk for a free or new one; null when none may be made. */
    private Chunk next() {
        Chunk c = free.poll();
        if (c == null) {
            if (made >= maxChunks) {
                return null;
            }
            c = new Chunk();
            made++;
        }
        Chunk left = current;
        current = c;
        if (left != null && left.held == 0) {
            left.used = 0;
            free.push(left);
        }
        return c;
    }
}
