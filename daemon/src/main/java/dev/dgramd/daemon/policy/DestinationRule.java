package dev.dgramd.daemon.policy;

/**
 * One entry of {@code destinations.allow} or {@code destinations.deny}: addresses and, optionally,
 * ports. "10.0.0.0/8" matches every port; "10.0.0.0/8 5000-5999" only those ports.
 *
 * @param ports the ports matched, or null for every port
 */
record DestinationRule(Cidr addresses, PortRange ports) {
    /**
     * Parses "CIDR" or "CIDR ports", separated by spaces.
     *
     * @throws IllegalArgumentException naming {@code text} and what is wrong with it
     */
    static DestinationRule parse(String text) {
        String[] words = text.strip().split("\\s+");
        if (words.length > 2 || words[0].isEmpty()) {
            throw new IllegalArgumentException("bad destination \"" + text
                    + "\": expected \"CIDR\" or \"CIDR ports\", such as \"10.0.0.0/8 5000-5999\"");
        }
        return new DestinationRule(Cidr.parse(words[0]), words.length == 2 ? PortRange.parse(words[1]) : null);
    }

    /** Whether the address with these {@link IpAddressBits}, and {@code port}, are in this rule. */
    boolean matches(boolean ipv4, long high, long low, int port) {
        return addresses.matches(ipv4, high, low) && (ports == null || ports.contains(port));
    }

    /** "10.0.0.0/8" or "10.0.0.0/8 5000-5999", as {@link #parse} reads it. */
    @Override
    public String toString() {
        return ports == null ? addresses.toString() : addresses + " " + ports;
    }
}
