package dev.dgramd.client;

import java.util.Objects;

/** The {@code rinfo} argument of a 'message' event: the sender and the payload size. */
public final class RemoteInfo {
    private final String address;
    private final String family;
    private final int port;
    private final int size;

    /**
     * @param address sender address
     * @param family {@code "IPv4"} or {@code "IPv6"}
     * @param port sender port
     * @param size payload size in bytes
     */
    public RemoteInfo(String address, String family, int port, int size) {
        this.address = Objects.requireNonNull(address, "address");
        this.family = Objects.requireNonNull(family, "family");
        this.port = port;
        this.size = size;
    }

    /** The sender's address. */
    public String address() {
        return address;
    }

    /** {@code "IPv4"} or {@code "IPv6"}. */
    public String family() {
        return family;
    }

    /** The sender's port. */
    public int port() {
        return port;
    }

    /** The payload size in bytes. */
    public int size() {
        return size;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RemoteInfo r && r.port == port && r.size == size
                && r.address.equals(address) && r.family.equals(family);
    }

    @Override
    public int hashCode() {
        return Objects.hash(address, family, port, size);
    }

    @Override
    public String toString() {
        return "{ address: '" + address + "', family: '" + family + "', port: " + port
                + ", size: " + size + " }";
    }
}
