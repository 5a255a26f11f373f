package dev.dgramd.client;

/** A 'message' listener: Node's {@code (msg, rinfo) => {}}. */
@FunctionalInterface
public interface MessageListener {
    /**
     * @param msg the datagram's payload (a fresh array, owned by the listener)
     * @param rinfo the sender and the payload size
     */
    void onMessage(byte[] msg, RemoteInfo rinfo);
}
