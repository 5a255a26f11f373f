package dev.dgramd.client;

/**
 * dgramd extension: the datagrams sent to a socket that never became its 'message' events, by where
 * they were lost ({@link Socket#dropped()}). Counts since the socket was created, as the daemon last
 * reported them on the socket's event stream.
 *
 * @param kernel dropped by the daemon host's kernel before the daemon could read them (the socket's
 *     receive buffer was full; see {@code setRecvBufferSize}); reported within about 100 ms
 * @param daemon dropped by the daemon because its daemon-wide event budget, or this principal's
 *     share of it, was full, or because the daemon was stopping
 * @param listeners dropped by the daemon because this socket's own bound was full: its listeners
 *     fell behind (more than {@link ClientOptions#eventBatchesInFlight} batches waiting)
 */
public record DroppedMessages(long kernel, long daemon, long listeners) {
    /** All of them. */
    public long total() {
        return kernel + daemon + listeners;
    }
}
