package dev.dgramd.daemon.policy;

import static dev.dgramd.daemon.policy.CidrTest.ip;
import static dev.dgramd.daemon.policy.CidrTest.mapped;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** {@link Policy#defaults()}, which an empty file also gives, and {@link Policy#allowAll()}. */
class DefaultPoliciesTest {
    private final Rules rules = Policy.defaults().rules("anyone");

    @Test
    void bindsAnyPortOnAnyAddressAsNodeDoes() throws Exception {
        // Node leaves ports to the kernel (EACCES below 1024 for a process that is not root): so do the defaults.
        assertThat(rules.bindAllowed(ip("0.0.0.0"), 80)).isTrue();
        assertThat(rules.bindAllowed(ip("0.0.0.0"), 1)).isTrue();
        assertThat(rules.bindAllowed(ip("0.0.0.0"), 1023)).isTrue();
        assertThat(rules.bindAllowed(ip("::"), 65535)).isTrue();
        assertThat(rules.bindAllowed(ip("127.0.0.1"), 0)).isTrue();
        assertThat(rules.bindRefusal(ip("::1"), 443)).isNull();
    }

    @Test
    void sendsAnywhereButLinkLocal() throws Exception {
        assertThat(rules.destinationAllowed(ip("8.8.8.8"), 53)).isTrue();
        assertThat(rules.destinationAllowed(ip("2001:4860:4860::8888"), 53)).isTrue();
        assertThat(rules.destinationAllowed(ip("127.0.0.1"), 41234)).isTrue();

        assertThat(rules.destinationRefusal(ip("169.254.169.254"), 80))
                .isEqualTo("destination 169.254.169.254 port 80 is in destinations.deny 169.254.0.0/16");
        assertThat(rules.destinationRefusal(ip("fe80::1"), 80))
                .isEqualTo("destination fe80::1 port 80 is in destinations.deny fe80::/10");
        assertThat(rules.destinationAllowed(ip("fe80::1%1"), 80)).isFalse();
    }

    @Test
    void anIpv4MappedAddressDoesNotSlipPastTheDenyList() throws Exception {
        assertThat(rules.destinationRefusal(mapped(169, 254, 169, 254), 80)).isEqualTo(
                "destination ::ffff:169.254.169.254 (judged as 169.254.169.254) port 80"
                        + " is in destinations.deny 169.254.0.0/16");
        // the same text through InetAddress.getByName arrives as an Inet4Address
        assertThat(rules.destinationAllowed(ip("::ffff:169.254.169.254"), 80)).isFalse();
        assertThat(rules.destinationAllowed(mapped(8, 8, 8, 8), 53)).isTrue();
    }

    @Test
    void allowsMulticastAndBroadcastAsNodeDoes() throws Exception {
        assertThat(rules.destinationRefusal(ip("239.1.2.3"), 5000)).isNull();
        assertThat(rules.destinationAllowed(ip("224.0.0.251"), 5353)).isTrue();
        assertThat(rules.destinationAllowed(ip("ff02::1"), 5000)).isTrue();
        assertThat(rules.destinationAllowed(ip("255.255.255.255"), 5000)).isTrue();
        assertThat(rules.multicastGroupRefusal(ip("239.1.2.3"))).isNull();
        assertThat(rules.multicastGroupAllowed(ip("232.1.1.1"))).isTrue();
        assertThat(rules.multicastGroupAllowed(ip("ff15::1"))).isTrue();
        assertThat(rules.broadcastAllowed()).isTrue();
        assertThat(rules.broadcastRefusal()).isNull();
    }

    @Test
    void quotas() {
        assertThat(rules.maxSockets()).isEqualTo(1024);
        assertThat(rules.datagramsPerSecond()).isZero();
        assertThat(rules.bytesPerSecond()).isZero();
        assertThat(rules.maxPayload()).isEqualTo(65535);
    }

    @Test
    void nobodyIsAnAdmin() {
        assertThat(Policy.defaults().isAdmin("anonymous")).isFalse();
        assertThat(Policy.defaults().isAdmin("ops")).isFalse();
        assertThat(Policy.defaults().source()).isEqualTo("defaults");
    }

    @Test
    void anEmptyFileGivesTheDefaults() throws Exception {
        for (String text : new String[] {"", "# nothing\n", "{}", "default:\nprincipals:\n"}) {
            Rules empty = Policy.parse(text, "empty.yaml").rules("anyone");
            assertThat(empty).as(text).hasToString(rules.toString());
        }
        assertThat(rules).hasToString("bind.addresses [0.0.0.0/0, ::/0], bind.ports [1-65535],"
                + " destinations.allow [0.0.0.0/0, ::/0], destinations.deny [169.254.0.0/16, fe80::/10],"
                + " broadcast true, multicast.groups [224.0.0.0/4, ff00::/8], quotas.maxSockets 1024,"
                + " quotas.datagramsPerSecond 0, quotas.bytesPerSecond 0, quotas.maxPayload 65535,"
                + " quotas.maxKeepAliveSeconds 600");
    }

    @Test
    void allowAllAllowsEverythingAndMakesEveryoneAnAdmin() throws Exception {
        Policy policy = Policy.allowAll();
        Rules all = policy.rules("anyone");

        assertThat(all.bindAllowed(ip("0.0.0.0"), 80)).isTrue();
        assertThat(all.bindAllowed(ip("::1"), 1)).isTrue();
        assertThat(all.destinationAllowed(ip("169.254.169.254"), 80)).isTrue();
        assertThat(all.destinationAllowed(ip("fe80::1"), 80)).isTrue();
        assertThat(all.destinationAllowed(ip("239.1.2.3"), 5000)).isTrue();
        assertThat(all.destinationAllowed(ip("ff02::1"), 5000)).isTrue();
        assertThat(all.multicastGroupAllowed(ip("224.0.0.251"))).isTrue();
        assertThat(all.broadcastAllowed()).isTrue();
        assertThat(all.broadcastRefusal()).isNull();
        assertThat(all.maxSockets()).isEqualTo(Integer.MAX_VALUE);
        assertThat(all.datagramsPerSecond()).isZero();
        assertThat(all.bytesPerSecond()).isZero();
        assertThat(all.maxPayload()).isEqualTo(65535);
        assertThat(policy.isAdmin("anyone")).isTrue();
        assertThat(policy.source()).isEqualTo("allow-all");
    }
}
