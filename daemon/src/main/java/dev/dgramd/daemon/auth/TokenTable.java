package dev.dgramd.daemon.auth;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The parsed content of a tokens file: which principal each bearer token stands for. Holds only the
 * SHA-256 digests of the tokens and looks a presented token up by its digest, so neither the tokens
 * nor string comparisons of them stay in memory. Immutable.
 *
 * <p>The file: one {@code <token> <principal>} per line, separated by blanks; blank lines and lines
 * whose first non-blank character is {@code #} are ignored. A token is at least {@value #MIN_TOKEN_LENGTH}
 * printable ASCII characters (it travels in an HTTP header); a principal is printable, without
 * blanks. One principal may have several tokens (for rotation); a token appears once.
 */
final class TokenTable {
    static final int MIN_TOKEN_LENGTH = 16;

    private final Map<ByteBuffer, String> principals;
    private final Set<String> names;

    private TokenTable(Map<ByteBuffer, String> principals) {
        this.principals = principals;
        this.names = Set.copyOf(principals.values());
    }

    /**
     * Parses the lines of {@code file}.
     *
     * @throws IOException {@code "FILE:LINE: problem"} for the first malformed line, a token shorter
     *     than {@value #MIN_TOKEN_LENGTH} characters or with characters other than printable ASCII,
     *     or a token that an earlier line has; the message never contains a token
     */
    static TokenTable parse(Path file, List<String> lines) throws IOException {
        Map<ByteBuffer, String> principals = new HashMap<>();
        Map<ByteBuffer, Integer> lineOf = new HashMap<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            int number = i + 1;
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            String[] fields = line.split("\\s+");
            if (fields.length != 2) {
                throw new IOException(file + ":" + number + ": expected '<token> <principal>', found "
                        + fields.length + " field" + (fields.length == 1 ? "" : "s"));
            }
            String token = fields[0];
            String principal = fields[1];
            if (!principal.codePoints().allMatch(c -> !Character.isISOControl(c) && !Character.isWhitespace(c))) {
                throw new IOException(file + ":" + number + ": the principal has a control character");
            }
            if (token.length() < MIN_TOKEN_LENGTH) {
                throw new IOException(file + ":" + number + ": the token of " + principal + " has "
                        + token.length() + " characters; at least " + MIN_TOKEN_LENGTH + " are required");
            }
            if (!token.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
                throw new IOException(file + ":" + number + ": the token of " + principal
                        + " has a character that is not printable ASCII");
            }
            ByteBuffer digest = digest(token);
            Integer first = lineOf.putIfAbsent(digest, number);
            if (first != null) {
                throw new IOException(file + ":" + number + ": the same token as line " + first);
            }
            principals.put(digest, principal);
        }
        return new TokenTable(principals);
    }

    /** The principal whose token {@code token} is, or null when it is no token of the table. */
    String principal(String token) {
        return token == null ? null : principals.get(digest(token));
    }

    /** How many tokens. */
    int tokens() {
        return principals.size();
    }

    /** How many distinct principals. */
    int principals() {
        return names.size();
    }

    /** The principals that some token names. */
    Set<String> names() {
        return names;
    }

    static ByteBuffer digest(String token) {
        try {
            return ByteBuffer.wrap(MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }
}
