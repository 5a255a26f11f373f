package dev.dgramd.daemon.policy;

import static dev.dgramd.daemon.policy.CidrTest.ip;
import static dev.dgramd.daemon.policy.CidrTest.mapped;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * docker/hardened-policy.yaml, the policy README's Security section shows for a daemon shared by
 * many principals: the built-in defaults less privileged bind ports, broadcast and multicast.
 */
class HardenedPolicyTest {
    /** The file, from the daemon module's base directory (the working directory of the build). */
    static final Path FILE = Path.of("..", "docker", "hardened-policy.yaml").toAbsolutePath().normalize();

    private final Policy policy = load();
    private final Rules rules = policy.rules("anyone");

    private static Policy load() {
        try {
            return Policy.load(FILE);
        } catch (PolicyException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void bindsUnprivilegedOrKernelChosenPortsOnAnyAddress() throws Exception {
        assertThat(rules.bindAllowed(ip("0.0.0.0"), 1024)).isTrue();
        assertThat(rules.bindAllowed(ip("::"), 65535)).isTrue();
        assertThat(rules.bindAllowed(ip("127.0.0.1"), 0)).isTrue();
        assertThat(rules.bindAllowed(ip("0.0.0.0"), 80)).isFalse();
        assertThat(rules.bindAllowed(ip("0.0.0.0"), 1023)).isFalse();
        assertThat(rules.bindRefusal(ip("0.0.0.0"), 80)).isEqualTo("bind port 80 is not in bind.ports [1024-65535]");
    }

    @Test
    void sendsAnywhereButLinkLocal() throws Exception {
        assertThat(rules.destinationAllowed(ip("8.8.8.8"), 53)).isTrue();
        assertThat(rules.destinationAllowed(ip("127.0.0.1"), 41234)).isTrue();
        assertThat(rules.destinationRefusal(ip("169.254.169.254"), 80))
                .isEqualTo("destination 169.254.169.254 port 80 is in destinations.deny 169.254.0.0/16");
        assertThat(rules.destinationAllowed(ip("fe80::1%1"), 80)).isFalse();
        assertThat(rules.destinationAllowed(mapped(169, 254, 169, 254), 80)).isFalse();
    }

    @Test
    void refusesMulticastAndBroadcast() throws Exception {
        assertThat(rules.destinationRefusal(ip("239.1.2.3"), 5000))
                .isEqualTo("destination 239.1.2.3 port 5000 is a multicast group not in multicast.groups []");
        assertThat(rules.destinationAllowed(ip("ff02::1"), 5000)).isFalse();
        assertThat(rules.multicastGroupRefusal(ip("239.1.2.3")))
                .isEqualTo("multicast group 239.1.2.3 is not in multicast.groups []");
        assertThat(rules.broadcastAllowed()).isFalse();
        assertThat(rules.broadcastRefusal()).isEqualTo("broadcast is not allowed (broadcast: false)");
    }

    @Test
    void keepsTheDefaultQuotasAndHasNoAdmins() {
        assertThat(rules.maxSockets()).isEqualTo(1024);
        assertThat(rules.datagramsPerSecond()).isZero();
        assertThat(rules.maxPayload()).isEqualTo(65535);
        assertThat(policy.isAdmin("anonymous")).isFalse();
    }
}
