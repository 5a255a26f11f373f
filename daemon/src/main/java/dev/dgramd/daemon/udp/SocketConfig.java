package dev.dgramd.daemon.udp;

/**
 * The options of {@code dgram.createSocket}.
 *
 * @param family IPv4 ({@code udp4}) or IPv6 ({@code udp6})
 * @param reuseAddr SO_REUSEADDR
 * @param reusePort SO_REUSEPORT
 * @param ipv6Only IPV6_V6ONLY, udp6 only
 * @param recvBufferSize SO_RCVBUF applied at bind, 0 for the system default
 * @param sendBufferSize SO_SNDBUF applied at bind, 0 for the system default
 */
public record SocketConfig(Family family, boolean reuseAddr, boolean reusePort, boolean ipv6Only,
                           int recvBufferSize, int sendBufferSize) {

    /** The two socket types of {@code dgram.createSocket}. */
    public enum Family {
        /** {@code udp4}. */
        IPV4("IPv4", "0.0.0.0", "127.0.0.1", 65_507),
        /** {@code udp6}. */
        IPV6("IPv6", "::", "::1", 65_527);

        private final String nodeName;
        private final String anyAddress;
        private final String loopback;
        private final int maxPayload;

        Family(String nodeName, String anyAddress, String loopback, int maxPayload) {
            this.nodeName = nodeName;
            this.anyAddress = anyAddress;
            this.loopback = loopback;
            this.maxPayload = maxPayload;
        }

        /** "udp4" or "udp6", as the type of {@code dgram.createSocket}. */
        public String socketType() {
            return this == IPV4 ? "udp4" : "udp6";
        }

        /** "IPv4" or "IPv6", as Node's {@code family} field. */
        public String nodeName() {
            return nodeName;
        }

        /** The address bind() uses when none is given. */
        public String anyAddress() {
            return anyAddress;
        }

        /** The address send()/connect() use when none is given. */
        public String loopback() {
            return loopback;
        }

        /** The largest UDP payload one datagram of this family can carry. */
        public int maxPayload() {
            return maxPayload;
        }
    }

    /** A socket of {@code family} with every other option at its default. */
    public static SocketConfig of(Family family) {
        return new SocketConfig(family, false, false, false, 0, 0);
    }
}
