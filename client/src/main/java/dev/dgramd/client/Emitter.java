package dev.dgramd.client;

import dev.dgramd.client.internal.Errors;
import java.util.HashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Node's EventEmitter, reduced to what dgram.Socket uses. A listener is a {@link Runnable} (any
 * event; its arguments are ignored, as a JavaScript function may ignore them), an
 * {@link ErrorListener} ('error' only) or a {@link MessageListener} ('message' only). Listeners
 * are compared by identity, as Node compares functions. Thread-safe; an emit calls a snapshot of
 * the listeners, once-listeners removed before they run.
 *
 * <p>Each event's listeners are an array replaced on every change and never modified, so that an
 * emit's snapshot is the array itself: an emit allocates nothing unless a once-listener goes.
 */
final class Emitter {
    private static final Logger log = LoggerFactory.getLogger(Emitter.class);

    private static final class Entry {
        final Object listener;
        final boolean once;

        Entry(Object listener, boolean once) {
            this.listener = listener;
            this.once = once;
        }
    }

    /** Per event, its listeners in call order; never empty, never modified (replaced instead). Guarded by this. */
    private final Map<String, Entry[]> listeners = new HashMap<>();

    void add(String event, Object listener, boolean once, boolean prepend) {
        check(event, listener);
        Entry e = new Entry(listener, once);
        synchronized (this) {
            Entry[] list = listeners.get(event);
            if (list == null) {
                listeners.put(event, new Entry[] {e});
                return;
            }
            Entry[] more = new Entry[list.length + 1];
            System.arraycopy(list, 0, more, prepend ? 1 : 0, list.length);
            more[prepend ? 0 : list.length] = e;
            listeners.put(event, more);
        }
    }

    /** Removes the most recently added registration of {@code listener}, as Node does. */
    synchronized void remove(String event, Object listener) {
        Entry[] list = listeners.get(event);
        if (list == null) {
            return;
        }
        for (int i = list.length - 1; i >= 0; i--) {
            if (list[i].listener == listener) {
                put(event, without(list, i));
                break;
            }
        }
    }

    synchronized void removeAll(String event) {
        if (event == null) {
            listeners.clear();
        } else {
            listeners.remove(event);
        }
    }

    synchronized int count(String event) {
        Entry[] list = listeners.get(event);
        return list == null ? 0 : list.length;
    }

    /**
     * Calls the listeners of {@code event} with {@code args}. A listener's exception propagates
     * when {@code rethrow} (a user's emit(), as in Node), else is logged and the next listener
     * runs (events from the daemon: there is no process to crash).
     *
     * @return whether there were listeners
     */
    boolean emit(String event, boolean rethrow, Object... args) {
        Entry[] snapshot = snapshot(event);
        if (snapshot == null) {
            return false;
        }
        for (Entry e : snapshot) {
            try {
                invoke(e.listener, args.length, args.length > 0 ? args[0] : null, args.length > 1 ? args[1] : null);
            } catch (RuntimeException | Error t) {
                if (rethrow) {
                    throw t;
                }
                log.error("uncaught exception in a dgram socket '{}' listener", event, t);
            }
        }
        return true;
    }

    /** {@code emit("message", false, data, rinfo)}, without an array of arguments. */
    boolean emitMessage(byte[] data, RemoteInfo rinfo) {
        Entry[] snapshot = snapshot("message");
        if (snapshot == null) {
            return false;
        }
        for (Entry e : snapshot) {
            try {
                invoke(e.listener, 2, data, rinfo);
            } catch (RuntimeException | Error t) {
                log.error("uncaught exception in a dgram socket '{}' listener", "message", t);
            }
        }
        return true;
    }

    /** The listeners of {@code event} as they are now, or null when none; the once-listeners among them removed. */
    private synchronized Entry[] snapshot(String event) {
        Entry[] list = listeners.get(event);
        if (list == null) {
            return null;
        }
        int kept = 0;
        for (Entry e : list) {
            if (!e.once) {
                kept++;
            }
        }
        if (kept < list.length) {
            Entry[] rest = new Entry[kept];
            int i = 0;
            for (Entry e : list) {
                if (!e.once) {
                    rest[i++] = e;
                }
            }
            put(event, rest);
        }
        return list;
    }

    /** Guarded by this. */
    private void put(String event, Entry[] list) {
        if (list.length == 0) {
            listeners.remove(event);
        } else {
            listeners.put(event, list);
        }
    }

    private static Entry[] without(Entry[] list, int i) {
        Entry[] rest = new Entry[list.length - 1];
        System.arraycopy(list, 0, rest, 0, i);
        System.arraycopy(list, i + 1, rest, i, list.length - i - 1);
        return rest;
    }

    /** Calls {@code listener} with the first {@code argc} (at most two) of {@code arg0} and {@code arg1}. */
    private static void invoke(Object listener, int argc, Object arg0, Object arg1) {
        if (listener instanceof Runnable r) {
            r.run();
        } else if (listener instanceof ErrorListener l) {
            l.onError(argc > 0 ? (DgramException) arg0 : null);
        } else if (listener instanceof MessageListener l) {
            l.onMessage(argc > 0 ? (byte[]) arg0 : null, argc > 1 ? (RemoteInfo) arg1 : null);
        }
    }
    private static void check(String event, Object listener) {
        if (event == null) {
            throw Errors.invalidArgType("event", "of type string", null);
        }
        if (listener == null) {
            throw Errors.invalidArgType("listener", "of type function", null);
        }
        if (listener instanceof ErrorListener && !"error".equals(event)) {
            throw new DgramException("ERR_INVALID_ARG_TYPE",
                    "An ErrorListener only listens to 'error', not '" + event + "'");
        }
        if (listener instanceof MessageListener && !"message".equals(event)) {
            throw new DgramException("ERR_INVALID_ARG_TYPE",
                    "A MessageListener only listens to 'message', not '" + event + "'");
        }
    }
}
