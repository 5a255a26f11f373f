package dev.dgramd.daemon.policy;

import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Every way a policy file is refused at load, with the message an operator sees. */
class PolicyErrorsTest {
    private static final String NOT_A_STRING_KEY =
            " is not a string; quote it (YAML reads unquoted yes, no, on, off, null and numbers as other types)";
    private static final String SECTION_KEYS = "(known: bind, destinations, broadcast, multicast, quotas)";

    static Stream<Arguments> badPolicies() {
        return Stream.of(
                // unknown keys, at every level
                arguments("defaults: {}", "defaults: unknown key (known: default, admins, principals)"),
                arguments("default: {bnd: {}}", "default.bnd: unknown key " + SECTION_KEYS),
                arguments("principals: {alice: {quota: {}}}", "principals.alice.quota: unknown key " + SECTION_KEYS),
                arguments("default: {bind: {address: any}}", "default.bind.address: unknown key (known: addresses, ports)"),
                arguments("default: {destinations: {allowed: []}}",
                        "default.destinations.allowed: unknown key (known: allow, deny)"),
                arguments("default: {multicast: {group: []}}", "default.multicast.group: unknown key (known: groups)"),
                arguments("default: {quotas: {maxKeepAliveSeconds: -1}}",
                        "default.quotas.maxKeepAliveSeconds: must be an integer >= 0, got -1"),
                arguments("principals: {alice: {quotas: {maxSocket: 1}}}", "principals.alice.quotas.maxSocket: unknown key"
                        + " (known: maxSockets, datagramsPerSecond, bytesPerSecond, maxPayload, maxKeepAliveSeconds)"),

                // keys that YAML does not read as strings
                arguments("principals: {yes: {}}", "principals: key true" + NOT_A_STRING_KEY),
                arguments("principals: {123: {}}", "principals: key 123" + NOT_A_STRING_KEY),
                arguments("default: {quotas: {1: 2}}", "default.quotas: key 1" + NOT_A_STRING_KEY),

                // mappings
                arguments("- default", "top level: must be a mapping, got a list"),
                arguments("hello", "top level: must be a mapping, got \"hello\""),
                arguments("default: []", "default: must be a mapping, got a list"),
                arguments("default: {quotas: 5}", "default.quotas: must be a mapping, got 5"),
                arguments("principals: [alice]", "principals: must be a mapping, got a list"),
                arguments("principals: {alice: admin}", "principals.alice: must be a mapping, got \"admin\""),

                // integers
                arguments("principals: {alice: {quotas: {maxSockets: ten}}}",
                        "principals.alice.quotas.maxSockets: must be an integer >= 0, got \"ten\""),
                arguments("default: {quotas: {maxSockets: -1}}", "default.quotas.maxSockets: must be an integer >= 0, got -1"),
                arguments("default: {quotas: {maxSockets: 1.5}}", "default.quotas.maxSockets: must be an integer >= 0, got 1.5"),
                arguments("default: {quotas: {maxSockets: }}", "default.quotas.maxSockets: must be an integer >= 0, got nothing"),
                arguments("default: {quotas: {maxSockets: 2024-01-01}}",
                        "default.quotas.maxSockets: must be an integer >= 0, got a timestamp"),
                arguments("default: {quotas: {maxSockets: 3000000000}}",
                        "default.quotas.maxSockets: must be an integer from 0 to 2147483647, got 3000000000"),
                arguments("default: {quotas: {datagramsPerSecond: 99999999999999999999}}",
                        "default.quotas.datagramsPerSecond: must be an integer from 0 to 9223372036854775807,"
                                + " got 99999999999999999999"),
                arguments("default: {quotas: {bytesPerSecond: true}}",
                        "default.quotas.bytesPerSecond: must be an integer >= 0, got true"),
                arguments("default: {quotas: {maxPayload: 70000}}",
                        "default.quotas.maxPayload: must be an integer from 0 to 65535, got 70000"),
                arguments("default: {quotas: {maxPayload: big}}",
                        "default.quotas.maxPayload: must be an integer from 0 to 65535, got \"big\""),

                // booleans
                arguments("default: {broadcast: yes please}", "default.broadcast: must be true or false, got \"yes please\""),
                arguments("default: {broadcast: 1}", "default.broadcast: must be true or false, got 1"),
                arguments("default: {broadcast: }", "default.broadcast: must be true or false, got nothing"),
                arguments("default: {broadcast: '" + "x".repeat(100) + "'}",
                        "default.broadcast: must be true or false, got \"" + "x".repeat(60) + "...\""),

                // lists and their entries
                arguments("default: {destinations: {allow: 10.0.0.0/8}}",
                        "default.destinations.allow: must be a list, got \"10.0.0.0/8\""),
                arguments("default: {destinations: {deny: }}", "default.destinations.deny: must be a list, got nothing"),
                arguments("default: {destinations: {allow: ['10.0.0.0/33']}}",
                        "default.destinations.allow[0]: bad CIDR \"10.0.0.0/33\": prefix length must be from 0 to 32"),
                arguments("default: {destinations: {allow: [{cidr: 10.0.0.0/8}]}}",
                        "default.destinations.allow[0]: must be a string, got a mapping"),
                arguments("default: {destinations: {deny: ['169.254.0.0/16', '10.0.0.0/8 70000']}}",
                        "default.destinations.deny[1]: bad port range \"70000\": expected a port from 1 to 65535"
                                + " or two joined by '-'"),
                arguments("default: {destinations: {deny: ['10.0.0.0/8 22 23']}}",
                        "default.destinations.deny[0]: bad destination \"10.0.0.0/8 22 23\": expected \"CIDR\""
                                + " or \"CIDR ports\", such as \"10.0.0.0/8 5000-5999\""),
                arguments("default: {destinations: {deny: ['metadata.google.internal']}}",
                        "default.destinations.deny[0]: bad CIDR \"metadata.google.internal\": not an IP address"
                                + " (host names are not allowed)"),
                arguments("default: {bind: {addresses: anywhere}}", "default.bind.addresses: must be a list, got \"anywhere\""),
                arguments("default: {bind: {addresses: ['127.0.0.1', example.com]}}",
                        "default.bind.addresses[1]: bad CIDR \"example.com\": not an IP address (host names are not allowed)"),
                arguments("default: {bind: {addresses: ['127.0.0.1', any]}}",
                        "default.bind.addresses[1]: \"any\" stands alone (addresses: [any]), not among CIDRs"),
                arguments("default: {bind: {addresses: ['10.1.0.0/8']}}",
                        "default.bind.addresses[0]: bad CIDR \"10.1.0.0/8\": bits below the /8 prefix are set"
                                + " (did you mean 10.0.0.0/8?)"),
                arguments("default: {bind: {ports: [0]}}",
                        "default.bind.ports[0]: bad port range \"0\": expected a port from 1 to 65535 or two joined by '-'"),
                arguments("default: {bind: {ports: ['2000-1000']}}",
                        "default.bind.ports[0]: bad port range \"2000-1000\": 2000 is above 1000"),
                arguments("default: {bind: {ports: [true]}}", "default.bind.ports[0]: must be a string, got true"),
                arguments("default: {multicast: {groups: ['239.0.0.0/8', '10.0.0.0/8']}}",
                        "default.multicast.groups[1]: 10.0.0.0/8 is not a multicast range"
                                + " (it must lie in 224.0.0.0/4 or ff00::/8)"),
                arguments("default: {multicast: {groups: ['::/0']}}",
                        "default.multicast.groups[0]: ::/0 is not a multicast range (it must lie in 224.0.0.0/4 or ff00::/8)"),
                arguments("admins: ops", "admins: must be a list, got \"ops\""),
                arguments("admins: [ops, 5]", "admins[1]: must be a principal name (a string), got 5"),

                // YAML itself
                arguments("default:\n  bind: x: y\n", "line 2, column 10: mapping values are not allowed here"),
                arguments("default:\n  bind: {ports: [1024\n",
                        "line 3, column 1: while parsing a flow sequence, expected ',' or ']', but got <stream end>"),
                arguments("principals:\n  alice: {}\n  alice: {}\n",
                        "line 3, column 3: while constructing a mapping, found duplicate key alice"),
                arguments("default: !!javax.script.ScriptEngineManager"
                                + " [!!java.net.URLClassLoader [[!!java.net.URL [\"http://x/\"]]]]",
                        "line 1, column 10: Global tag is not allowed: tag:yaml.org,2002:javax.script.ScriptEngineManager"),
                arguments("a: 1\n---\nb: 2\n",
                        "line 2, column 1: expected a single document in the stream, but found another document"));
    }

    @ParameterizedTest
    @MethodSource("badPolicies")
    void isRefusedNamingTheFileAndTheKey(String text, String message) {
        assertThatThrownBy(() -> Policy.parse(text, "policy.yaml"))
                .isInstanceOf(PolicyException.class)
                .hasMessage("policy.yaml: " + message);
    }
}
