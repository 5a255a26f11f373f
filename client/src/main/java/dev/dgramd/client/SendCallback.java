package dev.dgramd.client;

/**
 * The callback of {@link Socket#send}: Node's {@code (error, bytes) => {}}. Runs on the socket's
 * listener thread, in order with the socket's events.
 */
@FunctionalInterface
public interface SendCallback {
    /**
     * @param error {@code null} when the datagram was handed to the kernel; else why it was not
     *     (EMSGSIZE, ENOTFOUND, ERR_SOCKET_DGRAM_NOT_RUNNING, ERR_DGRAMD_UNAVAILABLE, ...)
     * @param bytes the number of bytes sent, 0 on error
     */
    void done(DgramException error, int bytes);
}
