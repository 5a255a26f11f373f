package dev.dgramd.daemon.policy;

/** Ports {@code low} to {@code high}, both included, within 1..65535: "5000" or "5000-5999". */
record PortRange(int low, int high) {
    /** Every port a datagram can be addressed to. */
    static final PortRange ALL = new PortRange(1, 65535);

    /**
     * Parses "5000" or "5000-5999".
     *
     * @throws IllegalArgumentException naming {@code text} if it is not one or two decimal ports
     *     from 1 to 65535, or the first is above the second
     */
    static PortRange parse(String text) {
        int dash = text.indexOf('-');
        int low = port(dash >= 0 ? text.substring(0, dash) : text, text);
        int high = dash >= 0 ? port(text.substring(dash + 1), text) : low;
        if (low > high) {
            throw new IllegalArgumentException("bad port range \"" + text + "\": " + low + " is above " + high);
        }
        return new PortRange(low, high);
    }

    boolean contains(int port) {
        return port >= low && port <= high;
    }

    /** "5000" or "5000-5999", as {@link #parse} reads it. */
    @Override
    public String toString() {
        return low == high ? Integer.toString(low) : low + "-" + high;
    }

    private static int port(String digits, String text) {
        if (digits.isEmpty() || digits.length() > 5 || !digits.chars().allMatch(c -> c >= '0' && c <= '9')
                || Integer.parseInt(digits) < 1 || Integer.parseInt(digits) > 65535) {
            throw new IllegalArgumentException("bad port range \"" + text
                    + "\": expected a port from 1 to 65535 or two joined by '-'");
        }
        return Integer.parseInt(digits);
    }
}
