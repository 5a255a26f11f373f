package dev.dgramd.daemon.policy;

import static dev.dgramd.daemon.policy.CidrTest.ip;
import static dev.dgramd.daemon.policy.CidrTest.mapped;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The checks of {@link Rules}, on rules written as the {@code default} section of a policy. */
class RulesTest {

    @Test
    void denyWinsOverAllow() throws Exception {
        Rules rules = rules("destinations: {allow: ['10.0.0.0/8'], deny: ['10.9.0.0/16']}");

        assertThat(rules.destinationAllowed(ip("10.1.0.1"), 53)).isTrue();
        assertThat(rules.destinationRefusal(ip("10.9.0.1"), 53))
                .isEqualTo("destination 10.9.0.1 port 53 is in destinations.deny 10.9.0.0/16");
    }

    @Test
    void portsNarrowAllowAndDenyEntries() throws Exception {
        Rules rules = rules("destinations: {allow: ['10.0.0.0/8 5000-5999', '192.0.2.1 53'], deny: ['10.0.0.0/8 5353']}");

        assertThat(rules.destinationAllowed(ip("10.0.0.1"), 5000)).isTrue();
        assertThat(rules.destinationAllowed(ip("10.0.0.1"), 5999)).isTrue();
        assertThat(rules.destinationAllowed(ip("192.0.2.1"), 53)).isTrue();
        assertThat(rules.destinationRefusal(ip("10.0.0.1"), 5353))
                .isEqualTo("destination 10.0.0.1 port 5353 is in destinations.deny 10.0.0.0/8 5353");
        assertThat(rules.destinationRefusal(ip("10.0.0.1"), 6000)).isEqualTo(
                "destination 10.0.0.1 port 6000 is not in destinations.allow [10.0.0.0/8 5000-5999, 192.0.2.1/32 53]");
        assertThat(rules.destinationAllowed(ip("192.0.2.1"), 54)).isFalse();
        assertThat(rules.destinationAllowed(ip("::1"), 5000)).isFalse();
    }

    @Test
    void aMulticastDestinationMustBeAllowedAndAGroup() throws Exception {
        Rules rules = rules("""
                destinations: {allow: ['0.0.0.0/0', 'ff15::/16'], deny: ['239.9.0.0/16']}
                multicast: {groups: ['239.1.0.0/16', '239.9.0.0/16', 'ff15::/16', 'ff02::/16']}
                """);

        assertThat(rules.destinationAllowed(ip("239.1.2.3"), 5000)).isTrue();
        assertThat(rules.destinationAllowed(ip("ff15::1"), 5000)).isTrue();
        assertThat(rules.destinationRefusal(ip("239.2.0.1"), 5000)).isEqualTo(
                "destination 239.2.0.1 port 5000 is a multicast group not in multicast.groups"
                        + " [239.1.0.0/16, 239.9.0.0/16, ff15::/16, ff02::/16]");
        assertThat(rules.destinationRefusal(ip("239.9.0.1"), 5000))
                .isEqualTo("destination 239.9.0.1 port 5000 is in destinations.deny 239.9.0.0/16");
        assertThat(rules.destinationRefusal(ip("ff02::1"), 5000))
                .startsWith("destination ff02::1 port 5000 is not in destinations.allow");

        // joining only asks multicast.groups
        assertThat(rules.multicastGroupAllowed(ip("239.9.0.1"))).isTrue();
        assertThat(rules.multicastGroupAllowed(ip("ff02::1"))).isTrue();
        assertThat(rules.multicastGroupAllowed(mapped(239, 1, 2, 3))).isTrue();
        assertThat(rules.multicastGroupRefusal(ip("ff05::1"))).isEqualTo(
                "multicast group ff05::1 is not in multicast.groups [239.1.0.0/16, 239.9.0.0/16, ff15::/16, ff02::/16]");
    }

    @Test
    void anIpv6FormThatCarriesAnIpv4AddressIsJudgedAsItAgainstTheDenyList() throws Exception {
        Rules rules = rules("destinations: {deny: ['169.254.0.0/16', '127.0.0.0/8', 'fe80::/10', '2002:a00::/24']}");

        assertThat(rules.destinationRefusal(ip("64:ff9b::a9fe:a9fe"), 80)).isEqualTo(
                "destination 64:ff9b::a9fe:a9fe (NAT64, carries 169.254.169.254) port 80"
                        + " is in destinations.deny 169.254.0.0/16");
        assertThat(rules.destinationRefusal(ip("2002:a9fe:a9fe::1"), 80)).isEqualTo(
                "destination 2002:a9fe:a9fe::1 (6to4, carries 169.254.169.254) port 80"
                        + " is in destinations.deny 169.254.0.0/16");
        assertThat(rules.destinationRefusal(ip("::169.254.169.254"), 80)).isEqualTo(
                "destination ::a9fe:a9fe (IPv4-compatible, carries 169.254.169.254) port 80"
                        + " is in destinations.deny 169.254.0.0/16");
        assertThat(rules.destinationRefusal(ip("64:ff9b::"), 80)).isEqualTo(
                "destination 64:ff9b:: (NAT64, carries 127.0.0.1) port 80 is in destinations.deny 127.0.0.0/8");
        // an IPv6 deny entry still matches the IPv6 address itself first
        assertThat(rules.destinationRefusal(ip("2002:a01:203::1"), 80))
                .isEqualTo("destination 2002:a01:203::1 port 80 is in destinations.deny 2002:a00::/24");

        // what they carry is allowed: allowed, as is every other IPv6 address
        assertThat(rules.destinationAllowed(ip("64:ff9b::808:808"), 53)).isTrue();
        assertThat(rules.destinationAllowed(ip("2002:808:808::1"), 53)).isTrue();
        assertThat(rules.destinationAllowed(ip("::8.8.8.8"), 53)).isTrue();
        // :: and ::1 are not IPv4-compatible; 64:ff9b:1::/48 (local-use NAT64) is not the well-known prefix
        assertThat(rules.destinationAllowed(ip("::1"), 53)).isTrue();
        assertThat(rules.destinationAllowed(ip("64:ff9b:1::a9fe:a9fe"), 53)).isTrue();
        assertThat(rules.destinationAllowed(ip("64:ff9b:0:0:1::a9fe:a9fe"), 53)).isTrue();
    }

    @Test
    void anIpv4AllowListDoesNotAdmitAnIpv6FormThatCarriesAnAllowedAddress() throws Exception {
        Rules rules = rules("destinations: {allow: ['10.0.0.0/8']}");

        assertThat(rules.destinationAllowed(ip("10.0.0.1"), 53)).isTrue();
        assertThat(rules.destinationRefusal(ip("64:ff9b::a00:1"), 53))
                .isEqualTo("destination 64:ff9b::a00:1 port 53 is not in destinations.allow [10.0.0.0/8]");
    }

    @Test
    void theUnspecifiedDestinationIsJudgedAsLoopback() throws Exception {
        Rules rules = rules("destinations: {deny: ['127.0.0.0/8', '::1']}");

        assertThat(rules.destinationRefusal(ip("0.0.0.0"), 53))
                .isEqualTo("destination 0.0.0.0 (judged as 127.0.0.1) port 53 is in destinations.deny 127.0.0.0/8");
        assertThat(rules.destinationRefusal(ip("::"), 53))
                .isEqualTo("destination :: (judged as ::1) port 53 is in destinations.deny ::1/128");
        assertThat(rules.destinationRefusal(mapped(0, 0, 0, 0), 53)).isEqualTo(
                "destination ::ffff:0.0.0.0 (judged as 127.0.0.1) port 53 is in destinations.deny 127.0.0.0/8");
        assertThat(rules.destinationAllowed(ip("8.8.8.8"), 53)).isTrue();

        Rules loopbackOnly = rules("destinations: {allow: ['127.0.0.1']}");
        assertThat(loopbackOnly.destinationAllowed(ip("0.0.0.0"), 53)).isTrue();
    }

    @Test
    void bindAddressesAreCidrsAndTheWildcardIsJudgedAsItself() throws Exception {
        Rules rules = rules("bind: {addresses: ['127.0.0.0/8', '::1']}");

        assertThat(rules.bindAllowed(ip("127.0.0.1"), 5000)).isTrue();
        assertThat(rules.bindAllowed(ip("::1"), 5000)).isTrue();
        assertThat(rules.bindAllowed(mapped(127, 0, 0, 1), 5000)).isTrue();
        assertThat(rules.bindRefusal(ip("0.0.0.0"), 0))
                .isEqualTo("bind address 0.0.0.0 is not in bind.addresses [127.0.0.0/8, ::1/128]");
        assertThat(rules.bindAllowed(ip("::"), 0)).isFalse();
        assertThat(rules.bindRefusal(mapped(10, 0, 0, 1), 5000)).isEqualTo(
                "bind address ::ffff:10.0.0.1 (judged as 10.0.0.1) is not in bind.addresses [127.0.0.0/8, ::1/128]");
    }

    @Test
    void anyStandsForEveryAddress() throws Exception {
        for (String addresses : new String[] {"any", "[any]", "['0.0.0.0/0', '::/0']"}) {
            Rules rules = rules("bind: {addresses: " + addresses + "}");
            assertThat(rules.bindAllowed(ip("0.0.0.0"), 5000)).as(addresses).isTrue();
            assertThat(rules.bindAllowed(ip("::"), 5000)).as(addresses).isTrue();
            assertThat(rules.bindAllowed(ip("192.0.2.1"), 5000)).as(addresses).isTrue();
        }
    }

    @Test
    void bindPortsTakeSeveralRangesAndPortZeroIsAlwaysAllowed() throws Exception {
        Rules rules = rules("bind: {ports: [53, '5000-5999']}");
        assertThat(rules.bindAllowed(ip("0.0.0.0"), 53)).isTrue();
        assertThat(rules.bindAllowed(ip("0.0.0.0"), 5500)).isTrue();
        assertThat(rules.bindRefusal(ip("0.0.0.0"), 6000)).isEqualTo("bind port 6000 is not in bind.ports [53, 5000-5999]");

        Rules none = rules("bind: {ports: []}");
        assertThat(none.bindAllowed(ip("0.0.0.0"), 0)).isTrue();
        assertThat(none.bindAllowed(ip("0.0.0.0"), 5000)).isFalse();
    }

    @Test
    void emptyListsAllowNothing() throws Exception {
        Rules rules = rules("{bind: {addresses: []}, destinations: {allow: []}}");

        assertThat(rules.bindAllowed(ip("0.0.0.0"), 0)).isFalse();
        assertThat(rules.destinationRefusal(ip("8.8.8.8"), 53))
                .isEqualTo("destination 8.8.8.8 port 53 is not in destinations.allow []");
    }

    @Test
    void broadcastCanBeAllowed() throws Exception {
        Rules rules = rules("broadcast: true");

        assertThat(rules.broadcastAllowed()).isTrue();
        assertThat(rules.broadcastRefusal()).isNull();
    }

    /** The rules of a policy whose {@code default} section is {@code section} (YAML, one line or a block). */
    static Rules rules(String section) throws PolicyException {
        String indented = section.strip().replace("\n", "\n  ");
        return Policy.parse("default:\n  " + indented + "\n", "test.yaml").rules("anyone");
    }
}
