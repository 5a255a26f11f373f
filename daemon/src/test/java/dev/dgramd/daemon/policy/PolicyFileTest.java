package dev.dgramd.daemon.policy;

import static dev.dgramd.daemon.policy.CidrTest.ip;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading policy files: the example, JSON, the merge rule, admins and per-principal rules. */
class PolicyFileTest {

    @Test
    void theExampleFile() throws Exception {
        Path file = Paths.get(getClass().getResource("/policy/example.yaml").toURI());
        Policy policy = Policy.load(file);

        assertThat(policy.source()).isEqualTo(file.toString());
        assertThat(policy.isAdmin("ops")).isTrue();
        assertThat(policy.isAdmin("alice")).isFalse();

        Rules anyone = policy.rules("bob");
        assertThat(anyone.maxSockets()).isEqualTo(64);
        assertThat(anyone.datagramsPerSecond()).isEqualTo(10_000);
        assertThat(anyone.bytesPerSecond()).isZero();
        assertThat(anyone.maxPayload()).isEqualTo(1472);
        assertThat(anyone.broadcastAllowed()).isFalse();
        assertThat(anyone.bindAllowed(ip("0.0.0.0"), 80)).isFalse();
        assertThat(anyone.destinationAllowed(ip("10.1.2.3"), 53)).isTrue();
        assertThat(anyone.destinationRefusal(ip("10.1.2.3"), 22))
                .isEqualTo("destination 10.1.2.3 port 22 is in destinations.deny 10.0.0.0/8 22");
        assertThat(anyone.destinationAllowed(ip("169.254.169.254"), 80)).isFalse();

        Rules alice = policy.rules("alice");
        assertThat(alice.broadcastAllowed()).isTrue();
        assertThat(alice.maxSockets()).isEqualTo(10);
        assertThat(alice.datagramsPerSecond()).isEqualTo(10_000);
        assertThat(alice.maxPayload()).isEqualTo(1472);
        assertThat(alice.destinationAllowed(ip("10.1.2.3"), 22)).isFalse();

        Rules media = policy.rules("media");
        assertThat(media.bindAllowed(ip("10.1.0.5"), 5004)).isTrue();
        assertThat(media.bindAllowed(ip("::1"), 5004)).isTrue();
        assertThat(media.bindAllowed(ip("0.0.0.0"), 5004)).isFalse();
        assertThat(media.bindAllowed(ip("10.1.0.5"), 80)).isFalse();
        assertThat(media.destinationAllowed(ip("10.1.0.9"), 5004)).isTrue();
        assertThat(media.destinationAllowed(ip("10.1.0.9"), 6000)).isFalse();
        assertThat(media.destinationAllowed(ip("8.8.8.8"), 53)).isFalse();
        assertThat(media.destinationAllowed(ip("239.1.2.3"), 5004)).isTrue();
        assertThat(media.destinationAllowed(ip("ff15::1"), 5004)).isTrue();
        assertThat(media.destinationAllowed(ip("239.2.2.3"), 5004)).isFalse();
        assertThat(media.multicastGroupAllowed(ip("239.1.2.3"))).isTrue();
        assertThat(media.maxSockets()).isEqualTo(64);

        assertThat(policy.rules("ops")).hasToString(anyone.toString());
    }

    @Test
    void jsonIsReadLikeYaml() throws Exception {
        String json = """
                {
                  "default": {
                    "bind": {"ports": ["2000-2999", 53]},
                    "destinations": {"deny": ["169.254.0.0/16", "10.0.0.0/8 22"]},
                    "quotas": {"maxSockets": 5, "bytesPerSecond": 1000000}
                  },
                  "admins": ["ops"],
                  "principals": {"alice": {"broadcast": true, "quotas": {"maxPayload": 512}}}
                }
                """;
        Policy policy = Policy.parse(json, "policy.json");

        Rules anyone = policy.rules("bob");
        assertThat(anyone.bindAllowed(ip("0.0.0.0"), 2500)).isTrue();
        assertThat(anyone.bindAllowed(ip("0.0.0.0"), 53)).isTrue();
        assertThat(anyone.bindAllowed(ip("0.0.0.0"), 3000)).isFalse();
        assertThat(anyone.destinationAllowed(ip("10.0.0.1"), 22)).isFalse();
        assertThat(anyone.destinationAllowed(ip("fe80::1"), 22)).isTrue(); // the deny list was replaced
        assertThat(anyone.maxSockets()).isEqualTo(5);
        assertThat(anyone.bytesPerSecond()).isEqualTo(1_000_000);
        Rules alice = policy.rules("alice");
        assertThat(alice.broadcastAllowed()).isTrue();
        assertThat(alice.maxPayload()).isEqualTo(512);
        assertThat(alice.maxSockets()).isEqualTo(5);
        assertThat(policy.isAdmin("ops")).isTrue();
    }

    @Test
    void jsonFilesLoadAndTabsAreFine(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("policy.json");
        Files.writeString(file, "{\n\t\"admins\": [\"ops\"],\n\t\"principals\": {\n\t\t\"alice\": {\"broadcast\": true}\n\t}\n}\n");

        Policy policy = Policy.load(file);

        assertThat(policy.isAdmin("ops")).isTrue();
        assertThat(policy.rules("alice").broadcastAllowed()).isTrue();
        assertThat(policy.source()).isEqualTo(file.toString());
    }

    @Test
    void compactJsonWithEscapes() throws Exception {
        // as PHP's json_encode writes it: "\/" for "/"
        Policy policy = Policy.parse("{\"admins\":[\"o\\/ps\",\"\\u00e9\",\"a\\\\/b\",\"t\\tx\\\"\"],"
                + "\"default\":{\"destinations\":{\"deny\":[\"10.0.0.0\\/8\"]},\"quotas\":{\"maxSockets\":3}}}", "c.json");

        assertThat(policy.isAdmin("o/ps")).isTrue();
        assertThat(policy.isAdmin("\u00e9")).isTrue();
        assertThat(policy.isAdmin("a\\/b")).isTrue();
        assertThat(policy.isAdmin("t\tx\"")).isTrue();
        assertThat(policy.rules("x").destinationAllowed(ip("10.0.0.1"), 53)).isFalse();
        assertThat(policy.rules("x").maxSockets()).isEqualTo(3);
    }

    @Test
    void aPrincipalOverridesDefaultKeyByKeyAtTheSecondLevel() throws Exception {
        Policy policy = Policy.parse("""
                default:
                  bind: {ports: ["5000-5999"]}
                  destinations: {deny: ["10.0.0.0/8"]}
                  multicast: {groups: ["239.0.0.0/8"]}
                  quotas: {maxSockets: 100, datagramsPerSecond: 50, bytesPerSecond: 5000, maxPayload: 1000}
                principals:
                  alice:
                    bind: {addresses: ["127.0.0.1"]}
                    destinations: {allow: ["10.0.0.0/8", "192.0.2.0/24"]}
                    quotas: {maxSockets: 10}
                  bob:
                    destinations: {deny: []}
                    multicast: {groups: ["ff15::/16"]}
                    quotas: {bytesPerSecond: 0}
                """, "merge.yaml");

        Rules alice = policy.rules("alice");
        assertThat(alice.bindAllowed(ip("127.0.0.1"), 5000)).isTrue(); // ports from default
        assertThat(alice.bindAllowed(ip("127.0.0.1"), 6000)).isFalse();
        assertThat(alice.bindAllowed(ip("0.0.0.0"), 5000)).isFalse(); // addresses replaced
        assertThat(alice.destinationAllowed(ip("192.0.2.1"), 53)).isTrue();
        assertThat(alice.destinationAllowed(ip("8.8.8.8"), 53)).isFalse(); // allow replaced
        assertThat(alice.destinationAllowed(ip("10.0.0.1"), 53)).isFalse(); // deny from default still wins
        assertThat(alice.maxSockets()).isEqualTo(10);
        assertThat(alice.datagramsPerSecond()).isEqualTo(50);
        assertThat(alice.bytesPerSecond()).isEqualTo(5000);
        assertThat(alice.maxPayload()).isEqualTo(1000);

        Rules bob = policy.rules("bob");
        assertThat(bob.destinationAllowed(ip("10.0.0.1"), 53)).isTrue();
        assertThat(bob.destinationAllowed(ip("169.254.169.254"), 53)).isTrue(); // a list replaces, never extends
        assertThat(bob.multicastGroupAllowed(ip("ff15::1"))).isTrue();
        assertThat(bob.multicastGroupAllowed(ip("239.1.1.1"))).isFalse();
        assertThat(bob.maxSockets()).isEqualTo(100);
        assertThat(bob.bytesPerSecond()).isZero();

        Rules carol = policy.rules("carol");
        assertThat(carol.destinationAllowed(ip("10.0.0.1"), 53)).isFalse();
        assertThat(carol.destinationAllowed(ip("8.8.8.8"), 53)).isTrue(); // allow kept from the built-in defaults
        // default's deny list replaced the built-in one, link-local included
        assertThat(carol.destinationAllowed(ip("169.254.169.254"), 53)).isTrue();
    }

    @Test
    void defaultOverridesTheBuiltInDefaultsTheSameWay() throws Exception {
        Rules rules = Policy.parse("default: {quotas: {maxPayload: 512}, broadcast: false}", "d.yaml").rules("x");

        assertThat(rules.maxPayload()).isEqualTo(512);
        assertThat(rules.maxSockets()).isEqualTo(1024);
        assertThat(rules.broadcastAllowed()).isFalse();
        assertThat(rules.multicastGroupAllowed(ip("239.1.2.3"))).isTrue();
        assertThat(rules.destinationAllowed(ip("169.254.169.254"), 80)).isFalse();
    }

    @Test
    void rulesAreResolvedOncePerPrincipal() throws Exception {
        Policy policy = Policy.parse("principals: {alice: {broadcast: true}, bob: {}}", "p.yaml");

        assertThat(policy.rules("alice")).isSameAs(policy.rules("alice"));
        assertThat(policy.rules("bob")).isSameAs(policy.rules("bob"));
        assertThat(policy.rules("alice")).isNotSameAs(policy.rules("bob"));
        assertThat(policy.rules("carol")).isSameAs(policy.rules("dave"));
        assertThat(policy.rules("carol")).isNotSameAs(policy.rules("bob"));
        assertThat(Policy.defaults().rules("a")).isSameAs(Policy.defaults().rules("b"));
    }

    @Test
    void principalNamesMatchExactly() throws Exception {
        Policy policy = Policy.parse("admins: [Ops]\nprincipals: {Alice: {broadcast: false}, '123': {broadcast: false}}", "p.yaml");

        assertThat(policy.rules("Alice").broadcastAllowed()).isFalse();
        assertThat(policy.rules("alice").broadcastAllowed()).isTrue();
        assertThat(policy.rules("123").broadcastAllowed()).isFalse();
        assertThat(policy.isAdmin("Ops")).isTrue();
        assertThat(policy.isAdmin("ops")).isFalse();
    }

    @Test
    void aMissingFileNamesTheFile(@TempDir Path dir) {
        Path missing = dir.resolve("missing.yaml");

        assertThatThrownBy(() -> Policy.load(missing)).isInstanceOf(PolicyException.class)
                .hasMessage(missing + ": cannot read: java.nio.file.NoSuchFileException: " + missing);
    }

    @Test
    void aFileThatIsNotUtf8IsRefused(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("latin1.yaml");
        Files.write(file, new byte[] {'a', 'd', 'm', 'i', 'n', 's', ':', ' ', '[', (byte) 0xE9, ']'});

        assertThatThrownBy(() -> Policy.load(file)).isInstanceOf(PolicyException.class)
                .hasMessage(file + ": not UTF-8 text");
    }
}
