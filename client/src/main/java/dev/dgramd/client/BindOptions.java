package dev.dgramd.client;

/**
 * The options form of {@link Socket#bind(BindOptions)}: Node's {@code {port, address,
 * exclusive}}. Fluent: {@code new BindOptions().port(41234).address("127.0.0.1")}.
 */
public final class BindOptions {
    private int port;
    private String address;
    private boolean exclusive;

    /** Port 0 (any free port), all interfaces, not exclusive. */
    public BindOptions() {}

    /** The port, 0..65535; 0 (the default) lets the system choose. */
    public BindOptions port(int port) {
        this.port = port;
        return this;
    }

    /** The local address or host name; {@code null} (the default) binds all interfaces. */
    public BindOptions address(String address) {
        this.address = address;
        return this;
    }

    /** Node's cluster flag; accepted and without effect (the daemon has no cluster workers). */
    public BindOptions exclusive(boolean exclusive) {
        this.exclusive = exclusive;
        return this;
    }

    /** The port. */
    public int port() {
        return port;
    }

    /** The address, or {@code null}. */
    public String address() {
        return address;
    }

    /** The exclusive flag. */
    public boolean exclusive() {
        return exclusive;
    }
}
