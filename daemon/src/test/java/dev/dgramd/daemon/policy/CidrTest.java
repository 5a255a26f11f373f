package dev.dgramd.daemon.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** CIDR, address literal, port range and destination entry parsing and matching. */
class CidrTest {

    @Test
    void slashZeroMatchesEveryAddressOfItsFamilyOnly() throws Exception {
        Cidr ipv4 = Cidr.parse("0.0.0.0/0");
        Cidr ipv6 = Cidr.parse("::/0");

        assertThat(ipv4.contains(ip("0.0.0.0"))).isTrue();
        assertThat(ipv4.contains(ip("255.255.255.255"))).isTrue();
        assertThat(ipv4.contains(ip("::"))).isFalse();
        assertThat(ipv6.contains(ip("::"))).isTrue();
        assertThat(ipv6.contains(ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"))).isTrue();
        assertThat(ipv6.contains(ip("10.0.0.1"))).isFalse();
    }

    @Test
    void slash32AndSlash128AndBareAddressesMatchOneAddress() throws Exception {
        assertThat(Cidr.parse("192.0.2.7")).isEqualTo(Cidr.parse("192.0.2.7/32"));
        assertThat(Cidr.parse("2001:db8::7")).isEqualTo(Cidr.parse("2001:db8::7/128"));

        Cidr one = Cidr.parse("192.0.2.7/32");
        assertThat(one.contains(ip("192.0.2.7"))).isTrue();
        assertThat(one.contains(ip("192.0.2.6"))).isFalse();
        assertThat(one.contains(ip("192.0.2.8"))).isFalse();
        Cidr six = Cidr.parse("2001:db8::7/128");
        assertThat(six.contains(ip("2001:db8::7"))).isTrue();
        assertThat(six.contains(ip("2001:db8::6"))).isFalse();
        assertThat(six.contains(ip("2001:db9::7"))).isFalse();
    }

    @Test
    void prefixesCutAtTheRightBitOnBothSidesOfTheIpv6Halves() throws Exception {
        Cidr v4 = Cidr.parse("10.128.0.0/9");
        assertThat(v4.contains(ip("10.128.0.0"))).isTrue();
        assertThat(v4.contains(ip("10.255.255.255"))).isTrue();
        assertThat(v4.contains(ip("10.127.255.255"))).isFalse();
        assertThat(v4.contains(ip("11.128.0.0"))).isFalse();

        Cidr high = Cidr.parse("fe80::/10");
        assertThat(high.contains(ip("fe80::1"))).isTrue();
        assertThat(high.contains(ip("febf:ffff::"))).isTrue();
        assertThat(high.contains(ip("fec0::"))).isFalse();

        Cidr low = Cidr.parse("2001:db8:0:0:8000::/65");
        assertThat(low.contains(ip("2001:db8::8000:0:0:1"))).isTrue();
        assertThat(low.contains(ip("2001:db8::7fff:0:0:1"))).isFalse();

        Cidr at64 = Cidr.parse("2001:db8:1:2::/64");
        assertThat(at64.contains(ip("2001:db8:1:2:ffff:ffff:ffff:ffff"))).isTrue();
        assertThat(at64.contains(ip("2001:db8:1:3::"))).isFalse();
    }

    @Test
    void ipv4MappedAddressesAreTheIpv4AddressTheyCarry() throws Exception {
        InetAddress mapped = mapped(169, 254, 169, 254);
        assertThat(mapped).isInstanceOf(Inet6Address.class);

        assertThat(Cidr.parse("169.254.0.0/16").contains(mapped)).isTrue();
        assertThat(Cidr.parse("::/0").contains(mapped)).isFalse();
        assertThat(Cidr.parse("::ffff:169.254.0.0/112")).isEqualTo(Cidr.parse("169.254.0.0/16"));
        assertThat(Cidr.parse("::ffff:169.254.0.0/112").contains(ip("169.254.1.1"))).isTrue();
        assertThat(Cidr.parse("::ffff:0:0/96")).hasToString("0.0.0.0/0");
        // a wider IPv6 range that happens to cover the mapped block stays IPv6
        assertThat(Cidr.parse("::/80").contains(mapped)).isFalse();
    }

    @ParameterizedTest
    @CsvSource({
            "10.0.0.0/8, 10.0.0.0/8",
            "192.0.2.1, 192.0.2.1/32",
            "0.0.0.0/0, 0.0.0.0/0",
            "FE80::/10, fe80::/10",
            "2001:0db8:0000:0000:0000:0000:0000:0001, 2001:db8::1/128",
            "2001:db8:0:1:0:0:0:1, 2001:db8:0:1::1/128",
            "2001:db8:0:0:1:0:0:1, 2001:db8::1:0:0:1/128",
            "2001:db8:1:1:1:1:1:0, 2001:db8:1:1:1:1:1:0/128",
            "1::, 1::/128",
            "::, ::/128",
            "::1, ::1/128",
            "::1.2.3.4, ::102:304/128",
            "1:2:3:4:5:6:7:8, 1:2:3:4:5:6:7:8/128",
            "0:0:1::/48, 0:0:1::/48",
    })
    void textIsCanonical(String written, String canonical) {
        assertThat(Cidr.parse(written)).hasToString(canonical);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "10.0.0.0/33       | bad CIDR \"10.0.0.0/33\": prefix length must be from 0 to 32",
            "::/129            | bad CIDR \"::/129\": prefix length must be from 0 to 128",
            "10.0.0.0/         | bad CIDR \"10.0.0.0/\": prefix length must be from 0 to 32",
            "10.0.0.0/+8       | bad CIDR \"10.0.0.0/+8\": prefix length must be from 0 to 32",
            "10.0.0.0/8/8      | bad CIDR \"10.0.0.0/8/8\": prefix length must be from 0 to 32",
            "10.1.0.0/8        | bad CIDR \"10.1.0.0/8\": bits below the /8 prefix are set (did you mean 10.0.0.0/8?)",
            "fe80::1/10        | bad CIDR \"fe80::1/10\": bits below the /10 prefix are set (did you mean fe80::/10?)",
            "::ffff:10.1.0.0/104 | bad CIDR \"::ffff:10.1.0.0/104\": bits below the /104 prefix are set (did you mean 10.0.0.0/8?)",
            "example.com       | bad CIDR \"example.com\": not an IP address (host names are not allowed)",
            "localhost/8       | bad CIDR \"localhost/8\": not an IP address (host names are not allowed)",
            "fe80::1%eth0      | bad CIDR \"fe80::1%eth0\": not an IP address (zone ids are not allowed)",
            "10.0.0            | bad CIDR \"10.0.0\": not an IP address",
            "10.0.0.256        | bad CIDR \"10.0.0.256\": not an IP address",
            "010.0.0.1         | bad CIDR \"010.0.0.1\": not an IP address",
            "10.0.0.-1         | bad CIDR \"10.0.0.-1\": not an IP address",
            "1::2::3           | bad CIDR \"1::2::3\": not an IP address",
            ":::               | bad CIDR \":::\": not an IP address",
            ":1::              | bad CIDR \":1::\": not an IP address",
            "1:2:3:4:5:6:7     | bad CIDR \"1:2:3:4:5:6:7\": not an IP address",
            "1:2:3:4:5:6:7:8:9 | bad CIDR \"1:2:3:4:5:6:7:8:9\": not an IP address",
            "1:2:3:4:5:6:7::8  | bad CIDR \"1:2:3:4:5:6:7::8\": not an IP address",
            "12345::           | bad CIDR \"12345::\": not an IP address",
            "1.2.3.4::         | bad CIDR \"1.2.3.4::\": not an IP address",
            "::1.2.3           | bad CIDR \"::1.2.3\": not an IP address",
            "g::               | bad CIDR \"g::\": not an IP address",
            "\u0661::          | bad CIDR \"\u0661::\": not an IP address",
    })
    void badCidrsAreRefusedWithTheirText(String text, String message) {
        assertThatThrownBy(() -> Cidr.parse(text)).isInstanceOf(IllegalArgumentException.class).hasMessage(message);
    }

    @Test
    void ipv6LiteralsWithAnEmbeddedIpv4TailParse() throws Exception {
        assertThat(Cidr.parse("64:ff9b::192.0.2.1").contains(ip("64:ff9b::c000:201"))).isTrue();
        assertThat(Cidr.parse("1:2:3:4:5:6:192.0.2.1").contains(ip("1:2:3:4:5:6:c000:201"))).isTrue();
    }

    @Test
    void isWithinComparesFamilyAndPrefix() {
        Cidr multicast = Cidr.parse("224.0.0.0/4");
        assertThat(Cidr.parse("239.1.0.0/16").isWithin(multicast)).isTrue();
        assertThat(Cidr.parse("224.0.0.0/4").isWithin(multicast)).isTrue();
        assertThat(Cidr.parse("224.0.0.0/3").isWithin(multicast)).isFalse();
        assertThat(Cidr.parse("10.0.0.0/8").isWithin(multicast)).isFalse();
        assertThat(Cidr.parse("ff02::/16").isWithin(multicast)).isFalse();
    }

    @ParameterizedTest
    @CsvSource({"5000, 5000, 5000", "5000-5999, 5000, 5999", "1-65535, 1, 65535", "7-7, 7, 7"})
    void portRangesParse(String text, int low, int high) {
        PortRange range = PortRange.parse(text);
        assertThat(range).isEqualTo(new PortRange(low, high));
        assertThat(range.contains(low)).isTrue();
        assertThat(range.contains(high)).isTrue();
        assertThat(range.contains(low - 1)).isFalse();
        assertThat(range.contains(high + 1)).isFalse();
    }

    @ParameterizedTest
    @ValueSource(strings = {"0", "65536", "", "-5", "5000-", "-5000", "abc", "5000-6000-7000", "+80", "99999999999", "5000 - 5999"})
    void badPortRangesAreRefused(String text) {
        assertThatThrownBy(() -> PortRange.parse(text)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("bad port range \"" + text + "\": expected a port from 1 to 65535 or two joined by '-'");
    }

    @Test
    void aPortRangeMustNotRunBackwards() {
        assertThatThrownBy(() -> PortRange.parse("6000-5000")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("bad port range \"6000-5000\": 6000 is above 5000");
    }

    @Test
    void destinationRulesTakeAnOptionalPortRange() throws Exception {
        DestinationRule anyPort = DestinationRule.parse("10.0.0.0/8");
        DestinationRule somePorts = DestinationRule.parse("10.0.0.0/8   5000-5999");
        assertThat(anyPort).hasToString("10.0.0.0/8");
        assertThat(somePorts).hasToString("10.0.0.0/8 5000-5999");

        byte[] address = ip("10.1.2.3").getAddress();
        long low = IpAddressBits.low(address);
        assertThat(anyPort.matches(true, 0, low, 1)).isTrue();
        assertThat(somePorts.matches(true, 0, low, 5000)).isTrue();
        assertThat(somePorts.matches(true, 0, low, 6000)).isFalse();
        assertThat(somePorts.matches(true, 0, IpAddressBits.low(ip("11.0.0.1").getAddress()), 5000)).isFalse();

        assertThatThrownBy(() -> DestinationRule.parse("10.0.0.0/8 22 23"))
                .hasMessage("bad destination \"10.0.0.0/8 22 23\": expected \"CIDR\" or \"CIDR ports\", such as \"10.0.0.0/8 5000-5999\"");
        assertThatThrownBy(() -> DestinationRule.parse(" "))
                .hasMessageStartingWith("bad destination \" \"");
        assertThatThrownBy(() -> DestinationRule.parse("10.0.0.0/8 http"))
                .hasMessageStartingWith("bad port range \"http\"");
    }

    @Test
    void addressesAreFormattedAsGiven() throws Exception {
        assertThat(IpAddressBits.format(mapped(169, 254, 169, 254).getAddress())).isEqualTo("::ffff:169.254.169.254");
        assertThat(IpAddressBits.format(ip("fe80::1").getAddress())).isEqualTo("fe80::1");
        assertThat(IpAddressBits.format(ip("8.8.8.8").getAddress())).isEqualTo("8.8.8.8");
    }

    @Test
    void embeddedIpv4AddressesAreFoundInNat64SixToFourAndIpv4CompatibleForms() throws Exception {
        assertThat(IpAddressBits.embeddedIpv4(ip("64:ff9b::c000:201").getAddress())).isEqualTo(0xC000_0201L);
        assertThat(IpAddressBits.embeddedIpv4(ip("2002:c000:201:1::2").getAddress())).isEqualTo(0xC000_0201L);
        assertThat(IpAddressBits.embeddedIpv4(ip("::192.0.2.1").getAddress())).isEqualTo(0xC000_0201L);
        assertThat(IpAddressBits.embeddingForm(ip("64:ff9b::c000:201").getAddress())).isEqualTo("NAT64");
        assertThat(IpAddressBits.embeddingForm(ip("2002:c000:201::").getAddress())).isEqualTo("6to4");
        assertThat(IpAddressBits.embeddingForm(ip("::192.0.2.1").getAddress())).isEqualTo("IPv4-compatible");
        for (String none : new String[] {"::", "::1", "2001:db8::c000:201", "64:ff9b:1::c000:201", "192.0.2.1"}) {
            assertThat(IpAddressBits.embeddedIpv4(ip(none).getAddress())).as(none).isEqualTo(-1);
            assertThat(IpAddressBits.embeddingForm(ip(none).getAddress())).as(none).isNull();
        }
        // an IPv4-mapped address is judged as IPv4 already, not as an embedding
        assertThat(IpAddressBits.embeddedIpv4(mapped(192, 0, 2, 1).getAddress())).isEqualTo(-1);
    }

    static InetAddress ip(String literal) throws UnknownHostException {
        // getByName does not look up a literal it can parse; every literal here is valid
        return InetAddress.getByName(literal);
    }

    /** ::ffff:a.b.c.d as an Inet6Address (InetAddress.getByName would turn it into an Inet4Address). */
    static InetAddress mapped(int a, int b, int c, int d) throws UnknownHostException {
        byte[] bytes = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte) 0xFF, (byte) 0xFF, (byte) a, (byte) b, (byte) c, (byte) d};
        return Inet6Address.getByAddress(null, bytes, -1);
    }
}
