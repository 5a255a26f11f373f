package dev.dgramd.daemon.policy;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;

/**
 * Reads the policy file format {@link Policy} describes, refusing anything else with a
 * {@link PolicyException} that names the source and the path of the bad key.
 */
final class PolicyParser {
    private static final List<String> TOP_KEYS = List.of("default", "admins", "principals");
    private static final List<String> SECTION_KEYS = List.of("bind", "destinations", "broadcast", "multicast", "quotas");
    private static final List<String> BIND_KEYS = List.of("addresses", "ports");
    private static final List<String> DESTINATION_KEYS = List.of("allow", "deny");
    private static final List<String> MULTICAST_KEYS = List.of("groups");
    private static final List<String> QUOTA_KEYS =
            List.of("maxSockets", "datagramsPerSecond", "bytesPerSecond", "maxPayload", "maxKeepAliveSeconds");
    private static final String ANY = "any";
    private static final int LONGEST_QUOTED_VALUE = 60;

    private final String source;

    private PolicyParser(String source) {
        this.source = source;
    }

    /** The policy {@code text} (YAML or JSON) describes, with {@code source} naming it in errors. */
    static Policy parse(String text, String source) throws PolicyException {
        return new PolicyParser(source).policy(load(text, source));
    }

    /** The document as plain maps, lists and scalars: no other types can be constructed. */
    private static Object load(String text, String source) throws PolicyException {
        LoaderOptions options = new LoaderOptions();
        options.setAllowDuplicateKeys(false);
        try {
            return new Yaml(new SafeConstructor(options)).load(isJson(text) ? jsonAsYaml(text) : text);
        } catch (MarkedYAMLException e) {
            Mark mark = e.getProblemMark() != null ? e.getProblemMark() : e.getContextMark();
            String problem = e.getContext() == null ? e.getProblem()
                    : e.getProblem() == null ? e.getContext() : e.getContext() + ", " + e.getProblem();
            String where = mark == null ? "" : "line " + (mark.getLine() + 1) + ", column " + (mark.getColumn() + 1) + ": ";
            throw new PolicyException(source + ": " + where + problem, e);
        } catch (YAMLException e) {
            throw new PolicyException(source + ": " + e.getMessage(), e);
        }
    }

    /** Whether {@code text} starts like a JSON document: with '{' or '['. */
    private static boolean isJson(String text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '{' || c == '[') {
                return true;
            }
            if (!Character.isWhitespace(c) && c != '\uFEFF') {
                return false;
            }
        }
        return false;
    }

    /**
     * JSON text as the YAML 1.1 loader reads it: tabs between tokens (YAML refuses them as
     * indentation) become spaces, and the escape "\/" in strings (YAML 1.1 lacks it) becomes "/".
     */
    private static String jsonAsYaml(String json) {
        StringBuilder yaml = new StringBuilder(json.length());
        boolean inString = false;
        for (int i = 0; i < json.length(); i++) {
            char c = json.charAt(i);
            if (inString && c == '\\' && i + 1 < json.length()) {
                char escaped = json.charAt(++i);
                if (escaped != '/') {
                    yaml.append('\\');
                }
                yaml.append(escaped);
            } else if (c == '"') {
                inString = !inString;
                yaml.append(c);
            } else {
                yaml.append(!inString && c == '\t' ? ' ' : c);
            }
        }
        return yaml.toString();
    }

    private Policy policy(Object document) throws PolicyException {
        Map<String, Object> top = mapping(document, "", TOP_KEYS);
        PartialRules defaults = section(top.get("default"), "default");
        Set<String> admins = new LinkedHashSet<>();
        if (top.containsKey("admins")) {
            List<?> names = list(top.get("admins"), "admins");
            for (int i = 0; i < names.size(); i++) {
                if (!(names.get(i) instanceof String name)) {
                    throw fail("admins[" + i + "]", "must be a principal name (a string), got " + describe(names.get(i)));
                }
                admins.add(name);
            }
        }
        Map<String, PartialRules> principals = new LinkedHashMap<>();
        for (Map.Entry<String, Object> principal : mapping(top.get("principals"), "principals", null).entrySet()) {
            principals.put(principal.getKey(), section(principal.getValue(), "principals." + principal.getKey()));
        }
        return new Policy(source, defaults, principals, admins);
    }

    /** {@code default} or one principal's section. */
    private PartialRules section(Object node, String path) throws PolicyException {
        Map<String, Object> section = mapping(node, path, SECTION_KEYS);
        Map<String, Object> bind = mapping(section.get("bind"), path + ".bind", BIND_KEYS);
        Map<String, Object> destinations = mapping(section.get("destinations"), path + ".destinations", DESTINATION_KEYS);
        Map<String, Object> multicast = mapping(section.get("multicast"), path + ".multicast", MULTICAST_KEYS);
        Map<String, Object> quotas = mapping(section.get("quotas"), path + ".quotas", QUOTA_KEYS);
        return new PartialRules(
                bind.containsKey("addresses") ? bindAddresses(bind.get("addresses"), path + ".bind.addresses") : null,
                bind.containsKey("ports") ? entries(bind.get("ports"), path + ".bind.ports", PortRange::parse) : null,
                destinations.containsKey("allow")
                        ? entries(destinations.get("allow"), path + ".destinations.allow", DestinationRule::parse) : null,
                destinations.containsKey("deny")
                        ? entries(destinations.get("deny"), path + ".destinations.deny", DestinationRule::parse) : null,
                section.containsKey("broadcast") ? bool(section.get("broadcast"), path + ".broadcast") : null,
                multicast.containsKey("groups") ? multicastGroups(multicast.get("groups"), path + ".multicast.groups") : null,
                quotas.containsKey("maxSockets")
                        ? (int) integer(quotas.get("maxSockets"), path + ".quotas.maxSockets", Integer.MAX_VALUE) : null,
                quotas.containsKey("datagramsPerSecond")
                        ? integer(quotas.get("datagramsPerSecond"), path + ".quotas.datagramsPerSecond", Long.MAX_VALUE) : null,
                quotas.containsKey("bytesPerSecond")
                        ? integer(quotas.get("bytesPerSecond"), path + ".quotas.bytesPerSecond", Long.MAX_VALUE) : null,
                quotas.containsKey("maxPayload")
                        ? (int) integer(quotas.get("maxPayload"), path + ".quotas.maxPayload", 65535) : null,
                quotas.containsKey("maxKeepAliveSeconds")
                        ? (int) integer(quotas.get("maxKeepAliveSeconds"), path + ".quotas.maxKeepAliveSeconds",
                                Integer.MAX_VALUE) : null);
    }

    /** "any" (alone or as the only entry of a list), or a list of CIDRs. */
    private List<Cidr> bindAddresses(Object node, String path) throws PolicyException {
        if (ANY.equals(node) || List.of(ANY).equals(node)) {
            return Cidr.ALL;
        }
        return entries(node, path, text -> {
            if (ANY.equals(text)) {
                throw new IllegalArgumentException("\"any\" stands alone (addresses: [any]), not among CIDRs");
            }
            return Cidr.parse(text);
        });
    }

    private List<Cidr> multicastGroups(Object node, String path) throws PolicyException {
        List<Cidr> groups = entries(node, path, Cidr::parse);
        for (int i = 0; i < groups.size(); i++) {
            Cidr group = groups.get(i);
            if (Cidr.MULTICAST.stream().noneMatch(group::isWithin)) {
                throw fail(path + "[" + i + "]", group + " is not a multicast range (it must lie in 224.0.0.0/4 or ff00::/8)");
            }
        }
        return groups;
    }

    /**
     * A mapping with string keys, each in {@code known} unless that is null; nothing (a key with no
     * value, or none at all) is an empty mapping.
     */
    private Map<String, Object> mapping(Object node, String path, List<String> known) throws PolicyException {
        if (node == null) {
            return Map.of();
        }
        if (!(node instanceof Map<?, ?> map)) {
            throw fail(path, "must be a mapping, got " + describe(node));
        }
        Map<String, Object> keyed = new LinkedHashMap<>();
        for (Map.Entry<?, ?> entry : map.entrySet()) {
            if (!(entry.getKey() instanceof String key)) {
                throw fail(path, "key " + entry.getKey() + " is not a string; quote it"
                        + " (YAML reads unquoted yes, no, on, off, null and numbers as other types)");
            }
            if (known != null && !known.contains(key)) {
                throw fail(path.isEmpty() ? key : path + "." + key, "unknown key (known: " + String.join(", ", known) + ")");
            }
            keyed.put(key, entry.getValue());
        }
        return keyed;
    }

    private List<?> list(Object node, String path) throws PolicyException {
        if (!(node instanceof List<?> list)) {
            throw fail(path, "must be a list, got " + describe(node));
        }
        return list;
    }

    /** A list of strings, each read by {@code parse}; an integer entry is read as its digits (ports). */
    private <T> List<T> entries(Object node, String path, Function<String, T> parse) throws PolicyException {
        List<?> list = list(node, path);
        List<T> entries = new ArrayList<>(list.size());
        for (int i = 0; i < list.size(); i++) {
            Object entry = list.get(i);
            if (!(entry instanceof String || entry instanceof Integer)) {
                throw fail(path + "[" + i + "]", "must be a string, got " + describe(entry));
            }
            try {
                entries.add(parse.apply(entry.toString()));
            } catch (IllegalArgumentException e) {
                throw fail(path + "[" + i + "]", e.getMessage());
            }
        }
        return List.copyOf(entries);
    }

    private boolean bool(Object node, String path) throws PolicyException {
        if (!(node instanceof Boolean value)) {
            throw fail(path, "must be true or false, got " + describe(node));
        }
        return value;
    }

    /** An integer from 0 to {@code max}. */
    private long integer(Object node, String path, long max) throws PolicyException {
        BigInteger value = node instanceof Integer || node instanceof Long ? BigInteger.valueOf(((Number) node).longValue())
                : node instanceof BigInteger big ? big : null;
        if (value == null || value.signum() < 0 || value.compareTo(BigInteger.valueOf(max)) > 0) {
            boolean tooLarge = value != null && value.signum() > 0;
            String expected = max < Integer.MAX_VALUE || tooLarge ? "from 0 to " + max : ">= 0";
            throw fail(path, "must be an integer " + expected + ", got " + describe(node));
        }
        return value.longValue();
    }

    private PolicyException fail(String path, String problem) {
        return new PolicyException(source + ": " + (path.isEmpty() ? "top level" : path) + ": " + problem);
    }

    /** A value as an error message shows it: strings quoted (and cut if long), others by kind. */
    private static String describe(Object value) {
        if (value == null) {
            return "nothing";
        }
        if (value instanceof String text) {
            return "\"" + (text.length() > LONGEST_QUOTED_VALUE ? text.substring(0, LONGEST_QUOTED_VALUE) + "..." : text) + "\"";
        }
        if (value instanceof Number || value instanceof Boolean) {
            return value.toString();
        }
        if (value instanceof Map) {
            return "a mapping";
        }
        if (value instanceof List || value instanceof Set) {
            return "a list";
        }
        if (value instanceof Date) {
            return "a timestamp";
        }
        return value instanceof byte[] ? "binary data" : "a " + value.getClass().getSimpleName();
    }
}
