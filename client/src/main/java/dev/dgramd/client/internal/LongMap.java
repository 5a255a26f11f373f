package dev.dgramd.client.internal;

import java.util.List;

/**
 * Datagrams in flight by id, without boxing: the ids are sequential and the window bounds how
 * many are out, so a ring indexed by the id's low bits nearly always has the slot free; an id
 * whose slot an older one still holds (one waiting long for a name lookup) goes to a map. Not
 * thread-safe.
 */
final class LongMap<V> {
    private final long[] keys;
    private final Object[] values;
    private final int mask;
    private final java.util.HashMap<Long, V> overflow = new java.util.HashMap<>();
    private int inRing;

    /** @param expected how many entries are expected at most, usually */
    LongMap(int expected) {
        int slots = Integer.highestOneBit(Math.max(64, Math.min(1 << 16, expected)) - 1) << 2;
        keys = new long[slots];
        values = new Object[slots];
        mask = slots - 1;
    }

    void put(long key, V value) {
        int i = (int) key & mask;
        if (values[i] == null) {
            keys[i] = key;
            values[i] = value;
            inRing++;
        } else if (keys[i] == key) {
            values[i] = value;
        } else {
            overflow.put(key, value);
        }
    }

    @SuppressWarnings("unchecked")
    V remove(long key) {
        int i = (int) key & mask;
        if (values[i] != null && keys[i] == key) {
            V v = (V) values[i];
            values[i] = null;
            inRing--;
            return v;
        }
        return overflow.isEmpty() ? null : overflow.remove(key);
    }

    int size() {
        return inRing + overflow.size();
    }

    /** Adds every value to {@code out} (in no particular order); the map keeps them. */
    @SuppressWarnings("unchecked")
    void forEach(java.util.function.Consumer<V> out) {
        for (int i = 0; i < values.length; i++) {
            if (values[i] != null) {
                out.accept((V) values[i]);
            }
        }
        overflow.values().forEach(out);
    }

    /** Moves every value to {@code out} (in no particular order) and empties the map. */
    @SuppressWarnings("unchecked")
    void drainTo(List<V> out) {
        for (int i = 0; i < values.length && inRing > 0; i++) {
            if (values[i] != null) {
                out.add((V) values[i]);
                values[i] = null;
                inRing--;
            }
        }
        out.addAll(overflow.values());
        overflow.clear();
    }
}
