package dev.dgramd.daemon.policy;

import java.util.List;

/**
 * The rule keys one section of a policy file gives ({@code default} or a principal's), each null
 * where the section leaves it out. Every key is a leaf two levels deep ({@code quotas.maxSockets},
 * {@code destinations.deny}, ...) except {@code broadcast}, so laying one section over another key by
 * key is the whole merge rule.
 */
record PartialRules(
        List<Cidr> bindAddresses,
        List<PortRange> bindPorts,
        List<DestinationRule> allow,
        List<DestinationRule> deny,
        Boolean broadcast,
        List<Cidr> multicastGroups,
        Integer maxSockets,
        Long datagramsPerSecond,
        Long bytesPerSecond,
        Integer maxPayload,
        Integer maxKeepAliveSeconds) {

    /** A section that gives no keys. */
    static final PartialRules EMPTY = new PartialRules(null, null, null, null, null, null, null, null, null, null, null);

    /** These keys where given, {@code base}'s elsewhere. */
    PartialRules over(PartialRules base) {
        return new PartialRules(
                bindAddresses != null ? bindAddresses : base.bindAddresses,
                bindPorts != null ? bindPorts : base.bindPorts,
                allow != null ? allow : base.allow,
                deny != null ? deny : base.deny,
                broadcast != null ? broadcast : base.broadcast,
                multicastGroups != null ? multicastGroups : base.multicastGroups,
                maxSockets != null ? maxSockets : base.maxSockets,
                datagramsPerSecond != null ? datagramsPerSecond : base.datagramsPerSecond,
                bytesPerSecond != null ? bytesPerSecond : base.bytesPerSecond,
                maxPayload != null ? maxPayload : base.maxPayload,
                maxKeepAliveSeconds != null ? maxKeepAliveSeconds : base.maxKeepAliveSeconds);
    }
}
