package dev.dgramd.daemon.auth;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A tokens file ({@link TokenTable}) that is re-read when it changes: a thread polls its modification
 * time, size and file key (a new inode, as when a Kubernetes secret is updated, counts too). A good
 * new version replaces the table and logs the number of principals; one that cannot be read or parsed
 * keeps the previous table and logs one error line (once per version of the file). To change the file
 * safely, write a new file and rename it over the old one. When a new version names no longer a
 * principal that the previous one did, the {@link #onPrincipalsRemoved} listener hears of it.
 */
final class TokensFile implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(TokensFile.class);

    private final Path file;
    private final ScheduledExecutorService poller;
    private volatile TokenTable table;
    private volatile Consumer<Set<String>> removedListener = removed -> { };
    /** What the file looked like when it was last read, or the last error; only the poller touches it. */
    private Object stamp;

    private TokensFile(Path file, TokenTable table, Object stamp) {
        this.file = file;
        this.table = table;
        this.stamp = stamp;
        this.poller = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "dgramd-tokens");
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Reads {@code file} and polls it every {@code interval}; warns when other users may read it.
     *
     * @throws IOException naming the file (and line) when it cannot be read or parsed
     */
    static TokensFile open(Path file, Duration interval) throws IOException {
        Object stamp = stamp(file);
        TokenTable table = read(file);
        warnIfReadableByOthers(file);
        TokensFile tokens = new TokensFile(file, table, stamp);
        long millis = Math.max(1, interval.toMillis());
        tokens.poller.scheduleWithFixedDelay(tokens::poll, millis, millis, TimeUnit.MILLISECONDS);
        if (table.tokens() == 0) {
            log.warn("tokens file {} has no tokens: every dgramd call will be refused until it has", file);
        }
        return tokens;
    }

    /** The principal of {@code token}, or null when it is not a token of the file's current version. */
    String principal(String token) {
        return table.principal(token);
    }

    /** How many distinct principals the current version has. */
    int principals() {
        return table.principals();
    }

    Path file() {
        return file;
    }

    /**
     * Calls {@code listener}, on the poller thread, with the principals that a reloaded version of
     * the file no longer names (only when there are some). Replaces any previous listener.
     */
    void onPrincipalsRemoved(Consumer<Set<String>> listener) {
        this.removedListener = Objects.requireNonNull(listener, "listener");
    }

    /** Re-reads the file if it changed since the last look. Runs on the poller thread only. */
    void poll() {
        try {
            Object before;
            try {
                before = stamp(file);
            } catch (IOException e) {
                failed(e.getMessage(), e.getMessage());
                return;
            }
            if (before.equals(stamp)) {
                return;
            }
            TokenTable next;
            try {
                next = read(file);
            } catch (IOException e) {
                failed(before, e.getMessage());
                return;
            }
            if (!before.equals(stampOrNull(file))) {
                return; // changed while being read: read it again at the next poll
            }
            stamp = before;
            TokenTable previous = table;
            table = next;
            Set<String> removed = new TreeSet<>(previous.names());
            removed.removeAll(next.names());
            log.info("tokens file {} reloaded: {} principal(s), {} token(s){}", file, next.principals(), next.tokens(),
                    removed.isEmpty() ? "" : "; removed " + String.join(", ", removed) + ", whose open calls end");
            if (!removed.isEmpty()) {
                removedListener.accept(Set.copyOf(removed));
            }
        } catch (RuntimeException e) {
            log.error("tokens file {}: checking it for changes failed", file, e);
        }
    }

    private void failed(Object newStamp, String problem) {
        if (Objects.equals(newStamp, stamp)) {
            return; // already said
        }
        stamp = newStamp;
        log.error("tokens file {} not reloaded, keeping the previous {} token(s): {}", file, table.tokens(), problem);
    }

    /** Stops polling. */
    @Override
    public void close() {
        poller.shutdownNow();
    }

    private static TokenTable read(Path file) throws IOException {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new IOException("tokens file " + file + ": no such file");
        } catch (AccessDeniedException e) {
            throw new IOException("tokens file " + file + ": permission denied");
        } catch (IOException e) {
            throw new IOException("tokens file " + file + ": cannot read it (" + e.getMessage() + ")");
        }
        return TokenTable.parse(file, lines);
    }

    /** What changes when the file is edited or replaced. */
    private static Object stamp(Path file) throws IOException {
        try {
            BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class);
            return List.of(a.lastModifiedTime(), a.size(), String.valueOf(a.fileKey()));
        } catch (NoSuchFileException e) {
            throw new IOException("tokens file " + file + ": no such file");
        } catch (IOException e) {
            throw new IOException("tokens file " + file + ": cannot read it (" + e.getMessage() + ")");
        }
    }

    private static Object stampOrNull(Path file) {
        try {
            return stamp(file);
        } catch (IOException e) {
            return null;
        }
    }

    private static void warnIfReadableByOthers(Path file) {
        try {
            PosixFileAttributes a = Files.readAttributes(file, PosixFileAttributes.class);
            if (a.permissions().contains(PosixFilePermission.OTHERS_READ)) {
                log.warn("tokens file {} is readable by every user (mode {}): chmod o-r it", file,
                        PosixFilePermissions.toString(a.permissions()));
            }
        } catch (UnsupportedOperationException | IOException e) {
            // not a POSIX file system: nothing to say
        }
    }
}
