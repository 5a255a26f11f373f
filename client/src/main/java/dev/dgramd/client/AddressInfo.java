package dev.dgramd.client;

import java.util.Objects;

/**
 * What {@link Socket#address()} and {@link Socket#remoteAddress()} return: Node's
 * {@code {address, family, port}} object.
 */
public final class AddressInfo {
    private final String address;
    private final String family;
    private final int port;

    /**
     * @param address textual address, e.g. {@code "127.0.0.1"} or {@code "::1"}
     * @param family {@code "IPv4"} or {@code "IPv6"}
     * @param port port number
     */
    public AddressInfo(String address, String family, int port) {
        this.address = Objects.requireNonNull(address, "address");
        this.family = Objects.requireNonNull(family, "family");
        this.port = port;
    }

    /** The textual address, e.g. {@code "0.0.0.0"}, {@code "::1"}, {@code "fe80::1%eth0"}. */
    public String address() {
        return address;
    }

    /** {@code "IPv4"} or {@code "IPv6"}. */
    public String family() {
        return family;
    }

    /** The port. */
    public int port() {
        return port;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof AddressInfo a
                && a.port == port && a.address.equals(address) && a.family.equals(family);
    }

    @Override
    public int hashCode() {
        return Objects.hash(address, family, port);
    }

    @Override
    public String toString() {
        return "{ address: '" + address + "', family: '" + family + "', port: " + port + " }";
    }
}
