package dev.dgramd.client;

import dev.dgramd.client.internal.Errors;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Node's EventEmitter, reduced to what dgram.Socket uses. A listener is a {@link Runnable} (any
 * event; its arguments are ignored, as a JavaScript function may ignore them), an
 * {@link ErrorListener} ('error' only) or a {@link MessageListener} ('message' only). Listeners
 * are compared by identity, as Node compares functions. Thread-safe; an emit calls a snapshot of
 * the listeners, once-listeners removed before they run.
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

    private final Map<String, List<Entry>> listeners = new HashMap<>(); // guarded by this

    void add(String event, Object listener, boolean once, boolean prepend) {
        check(event, listener);
        synchronized (this) {
            List<Entry> list = listeners.computeIfAbsent(event, k -> new ArrayList<>());
            Entry e = new Entry(listener, once);
            if (prepend) {
                list.add(0, e);
            } else {
                list.add(e);
            }
        }
    }

    /** Removes the most recently added registration of {@code listener}, as Node does. */
    synchronized void remove(String event, Object listener) {
        List<Entry> list = listeners.get(event);
        if (list == null) {
            return;
        }
        for (int i = list.size() - 1; i >= 0; i--) {
            if (list.get(i).listener == listener) {
                list.remove(i);
                break;
            }
        }
        if (list.isEmpty()) {
            listeners.remove(event);
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
        List<Entry> list = listeners.get(event);
        return list == null ? 0 : list.size();
    }

    /**
     * Calls the listeners of {@code event} with {@code args}. A listener's exception propagates
     * when {@code rethrow} (a user's emit(), as in Node), else is logged and the next listener
     * runs (events from the daemon: there is no process to crash).
     *
     * @return whether there were listeners
     */
    boolean emit(String event, boolean rethrow, Object... args) {
        List<Entry> snapshot;
        synchronized (this) {
            List<Entry> list = listeners.get(event);
            if (list == null || list.isEmpty()) {
                return false;
            }
            snapshot = new ArrayList<>(list);
            list.removeIf(e -> e.once);
            if (list.isEmpty()) {
                listeners.remove(event);
            }
        }
        for (Entry e : snapshot) {
            try {
                invoke(e.listener, args);
            } catch (RuntimeException | Error t) {
                if (rethrow) {
                    throw t;
                }
                log.error("uncaught exception in a dgram socket '{}' listener", event, t);
            }
        }
        return true;
    }

    private static void invoke(Object listener, Object[] args) {
        if (listener instanceof Runnable r) {
            r.run();
        } else if (listener instanceof ErrorListener l) {
            l.onError(args.length > 0 ? (DgramException) args[0] : null);
        } else if (listener instanceof MessageListener l) {
            l.onMessage(args.length > 0 ? (byte[]) args[0] : null,
                    args.length > 1 ? (RemoteInfo) args[1] : null);
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
