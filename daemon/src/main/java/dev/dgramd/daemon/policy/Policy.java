package dev.dgramd.daemon.policy;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * What each principal may do with its sockets: where it may bind and send, broadcast, multicast,
 * and how much. Immutable and thread-safe; read once at start.
 *
 * <p>The policy file is YAML, or JSON (read by the same loader). Every key is optional; an omitted
 * key takes the default shown:
 *
 * <pre>{@code
 * default:                   # the rules of every principal not listed under principals
 *   bind:
 *     addresses: [any]       # "any" (alone), or CIDRs the local address must be in
 *     ports: ["1-65535"]     # port ranges ("5000", "5000-5999"); port 0 (kernel-chosen) is always allowed
 *   destinations:            # for send and connect, judged on the resolved address
 *     allow: ["0.0.0.0/0", "::/0"]            # "CIDR" or "CIDR ports", e.g. "10.0.0.0/8 5000-5999"
 *     deny: ["169.254.0.0/16", "fe80::/10"]   # same form; deny wins over allow
 *   broadcast: true          # may a socket turn SO_BROADCAST on
 *   multicast:
 *     groups: ["224.0.0.0/4", "ff00::/8"]   # CIDRs of the groups a socket may join or send to, within those
 *   quotas:
 *     maxSockets: 1024       # open sockets per principal (0: none)
 *     datagramsPerSecond: 0  # per socket, 0 = unlimited
 *     bytesPerSecond: 0      # per socket, 0 = unlimited
 *     maxPayload: 65535      # bytes per datagram, 0 to 65535 (65535: only the kernel's limit, 65507 for IPv4)
 *     maxKeepAliveSeconds: 600  # the longest keep-alive a socket may ask for (SocketOptions.keepAlive)
 * admins: []                 # principals that may use the Admin service
 * principals:                # rules per principal name ("anonymous" when calls are not authenticated)
 *   alice:                   # any of the keys under default
 *     broadcast: false       # alice may not broadcast
 *     quotas: {maxSockets: 10}
 * }</pre>
 *
 * <p><b>Merge rule.</b> Each principal's section is laid over {@code default}, and {@code default}
 * over the built-in defaults above, key by key at the second level: a key given there
 * ({@code quotas.maxSockets}, {@code destinations.deny}, ... or {@code broadcast}) replaces that key
 * alone, and a list replaces the list, never extends it. So {@code quotas: {maxSockets: 10}} keeps the
 * other quotas of {@code default}, and {@code destinations: {deny: []}} drops the deny list.
 *
 * <p><b>Addresses.</b> CIDRs are "10.0.0.0/8", "fe80::/10", or a bare address (/32, /128); no host
 * names. IPv4 ranges match IPv4 addresses and IPv6 ranges IPv6 ones; an IPv4-mapped IPv6 address
 * ({@code ::ffff:169.254.169.254}, as a udp6 socket may send to) is judged as the IPv4 address it
 * carries, so an IPv4 deny entry covers it and "::/0" does not. A destination of 0.0.0.0 or :: is
 * judged as loopback (127.0.0.1, ::1), where Linux delivers it. Other IPv6 forms that reach IPv4
 * through a translator (NAT64 64:ff9b::/96, 6to4 2002::/16) are plain IPv6 here: deny them too where
 * such a translator is reachable. See {@link Rules}.
 *
 * <p><b>Errors.</b> Unknown keys, wrong types, bad CIDRs and port ranges, values out of range and
 * YAML syntax errors are all refused at load with a {@link PolicyException} naming the file and the
 * key path ({@code policy.yaml: principals.alice.quotas.maxSockets: must be an integer >= 0, got
 * "ten"}) or the line and column. Principal names that YAML would read as other types (yes, on, 123)
 * must be quoted.
 */
public final class Policy {
    /**
     * The defaults documented above: what a local Node process may do, less link-local destinations
     * (cloud metadata services). Bind ports, broadcast and multicast are left to the kernel, as for
     * Node: a daemon that is not root still gets EACCES from the kernel for ports below 1024.
     */
    private static final PartialRules BUILT_IN = new PartialRules(
            Cidr.ALL,
            List.of(PortRange.ALL),
            List.of(DestinationRule.parse("0.0.0.0/0"), DestinationRule.parse("::/0")),
            List.of(DestinationRule.parse("169.254.0.0/16"), DestinationRule.parse("fe80::/10")),
            true,
            Cidr.MULTICAST,
            1024,
            0L,
            0L,
            65535,
            600);
    private static final PartialRules EVERYTHING = new PartialRules(
            Cidr.ALL,
            List.of(PortRange.ALL),
            List.of(DestinationRule.parse("0.0.0.0/0"), DestinationRule.parse("::/0")),
            List.of(),
            true,
            Cidr.MULTICAST,
            Integer.MAX_VALUE,
            0L,
            0L,
            65535,
            Integer.MAX_VALUE);
    private static final Policy DEFAULTS = new Policy("defaults", PartialRules.EMPTY, Map.of(), Set.of());
    private static final Policy ALLOW_ALL = new Policy("allow-all", EVERYTHING, Map.of(), null);

    private final String source;
    private final Rules defaultRules;
    private final Map<String, Rules> principalRules;
    /** null: everyone is an admin. */
    private final Set<String> admins;

    /**
     * @param defaults the {@code default} section
     * @param principals each principal's section
     * @param admins the admins, or null to make everyone an admin
     */
    Policy(String source, PartialRules defaults, Map<String, PartialRules> principals, Set<String> admins) {
        this.source = source;
        PartialRules base = defaults.over(BUILT_IN);
        this.defaultRules = new Rules(base);
        Map<String, Rules> rules = new LinkedHashMap<>();
        principals.forEach((name, section) -> rules.put(name, new Rules(section.over(base))));
        this.principalRules = Map.copyOf(rules);
        this.admins = admins == null ? null : Set.copyOf(admins);
    }

    /**
     * Reads a policy file, YAML or JSON, in UTF-8.
     *
     * @throws PolicyException if the file cannot be read or is not a valid policy; the message starts
     *     with {@code file} as given
     */
    public static Policy load(Path file) throws PolicyException {
        String text;
        try {
            text = Files.readString(file);
        } catch (CharacterCodingException e) {
            throw new PolicyException(file + ": not UTF-8 text", e);
        } catch (IOException e) {
            throw new PolicyException(file + ": cannot read: " + e, e);
        }
        return parse(text, file.toString());
    }

    /**
     * Reads a policy from its text, YAML or JSON.
     *
     * @param sourceName names the text in error messages and {@link #source()}, usually a file name
     * @throws PolicyException if {@code text} is not a valid policy
     */
    public static Policy parse(String text, String sourceName) throws PolicyException {
        return PolicyParser.parse(text, sourceName);
    }

    /**
     * The built-in defaults, as an empty policy file gives: what a local Node process may do (any
     * bind address and port, broadcast, every multicast group, any destination) except send or
     * connect to link-local addresses (169.254.0.0/16, fe80::/10 and their IPv4-mapped forms, where
     * cloud metadata services live); 1,024 sockets per principal, no rate limits, and no admins. Its
     * {@link #source()} is "defaults". A daemon shared by many principals should load a hardened
     * file instead (docker/hardened-policy.yaml).
     */
    public static Policy defaults() {
        return DEFAULTS;
    }

    /**
     * Everything allowed, for tests and development only: any bind address and port (1 to 65535),
     * any destination, broadcast, every multicast group, {@link Integer#MAX_VALUE} sockets, no rate
     * limits, payloads up to 65,535 bytes, and every principal an admin. Its {@link #source()} is
     * "allow-all".
     */
    public static Policy allowAll() {
        return ALLOW_ALL;
    }

    /**
     * The rules of {@code principal}: its own if listed under {@code principals}, else those of
     * {@code default}. Resolved once at load, so each call returns the same instance for the same
     * principal, and all unlisted principals share one.
     */
    public Rules rules(String principal) {
        Objects.requireNonNull(principal, "principal");
        return principalRules.getOrDefault(principal, defaultRules);
    }

    /** Whether {@code principal} may use the Admin service: it is listed under {@code admins}. */
    public boolean isAdmin(String principal) {
        Objects.requireNonNull(principal, "principal");
        return admins == null || admins.contains(principal);
    }

    /** Where the policy came from: the file name as given, the source name passed to {@link #parse}, "defaults" or "allow-all". */
    public String source() {
        return source;
    }

    @Override
    public String toString() {
        return "policy from " + source;
    }
}
