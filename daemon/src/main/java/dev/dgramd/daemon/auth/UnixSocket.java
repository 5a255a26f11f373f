package dev.dgramd.daemon.auth;

import java.io.IOException;
import java.net.ConnectException;
import java.net.StandardProtocolFamily;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * A gRPC listen address on a Unix domain socket: {@code unix:/run/dgramd/dgramd.sock} (also
 * {@code unix:///run/...}, or a relative {@code unix:dgramd.sock}). The socket file's mode is its
 * access control: the daemon makes it {@code 0660} (owner and group may connect) once it listens.
 * A socket file that nobody listens on any more (a daemon died) is replaced; one that a process
 * listens on, or a path that is not a socket, is refused.
 */
public final class UnixSocket {
    /** The longest socket path Linux takes (sun_path is 108 bytes, with a terminating NUL). */
    static final int MAX_PATH_BYTES = 107;
    private static final String SCHEME = "unix:";
    private static final int S_IFMT = 0170000;
    private static final int S_IFSOCK = 0140000;

    private UnixSocket() {
    }

    /**
     * The socket path of a {@code unix:} listen address, made absolute; null when {@code listen} is not
     * a {@code unix:} address.
     *
     * @throws IllegalArgumentException when it is a {@code unix:} address without a path, or with a host
     */
    public static Path path(String listen) {
        if (listen == null || !listen.regionMatches(true, 0, SCHEME, 0, SCHEME.length())) {
            return null;
        }
        String rest = listen.substring(SCHEME.length());
        if (rest.startsWith("//")) {
            if (!rest.startsWith("///")) {
                throw new IllegalArgumentException("listen address " + listen + ": write a unix socket as "
                        + "unix:/PATH or unix:///PATH (no host)");
            }
            rest = rest.substring(2);
        }
        if (rest.isBlank()) {
            throw new IllegalArgumentException("listen address " + listen + " has no socket path");
        }
        return Path.of(rest).toAbsolutePath().normalize();
    }

    /** {@code unix:///PATH}, the target a gRPC client dials for the socket at {@code path}. */
    public static String target(Path path) {
        try {
            return new URI("unix", "", path.toAbsolutePath().toString(), null, null).toString();
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("socket path " + path + ": " + e.getMessage(), e);
        }
    }

    /**
     * Makes {@code path} ready to bind: removes a stale socket file left by a daemon that died.
     *
     * @throws IOException when the path is too long, its directory is missing, something that is not a
     *     socket is there, or a process listens on the socket
     */
    public static void prepare(Path path) throws IOException {
        if (path.toString().getBytes(StandardCharsets.UTF_8).length > MAX_PATH_BYTES) {
            throw new IOException("unix socket " + path + ": the path is longer than " + MAX_PATH_BYTES + " bytes");
        }
        Path dir = path.getParent();
        if (dir != null && !Files.isDirectory(dir)) {
            throw new IOException("unix socket " + path + ": no directory " + dir);
        }
        int mode;
        try {
            mode = (Integer) Files.getAttribute(path, "unix:mode", LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return;
        } catch (UnsupportedOperationException | IllegalArgumentException e) {
            throw new IOException("unix socket " + path + ": this file system cannot tell whether it is a socket", e);
        }
        if ((mode & S_IFMT) != S_IFSOCK) {
            throw new IOException("unix socket " + path + ": exists and is not a socket; not replacing it");
        }
        boolean listened;
        try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            listened = probe.connect(UnixDomainSocketAddress.of(path));
        } catch (ConnectException e) {
            listened = false;
        } catch (IOException e) {
            throw new IOException("unix socket " + path + ": cannot tell whether a process listens on it ("
                    + e.getMessage() + ")");
        }
        if (listened) {
            throw new IOException("unix socket " + path + ": another process listens on it");
        }
        Files.deleteIfExists(path); // nobody listens: a dead daemon's socket
    }

    /** Lets the owner and the group connect, nobody else (mode 0660). */
    public static void restrict(Path path) throws IOException {
        Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-rw----"));
    }

    /** Removes the socket file, if it is still a socket. */
    public static void remove(Path path) {
        try {
            Object mode = Files.getAttribute(path, "unix:mode", LinkOption.NOFOLLOW_LINKS);
            if (mode instanceof Integer m && (m & S_IFMT) == S_IFSOCK) {
                Files.deleteIfExists(path);
            }
        } catch (IOException | RuntimeException e) {
            // gone already, or not ours to remove
        }
    }
}
