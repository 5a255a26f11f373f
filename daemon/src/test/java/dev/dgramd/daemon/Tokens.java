package dev.dgramd.daemon;

import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import io.grpc.Metadata;
import io.grpc.stub.MetadataUtils;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;

/** Bearer tokens for tests: a tokens file as the daemon wants it, and channels that present a token. */
public final class Tokens {
    private static final Metadata.Key<String> AUTHORIZATION =
            Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

    private Tokens() {}

    /** Writes {@code lines} ("token principal", comments) to {@code file}, readable by its owner only. */
    public static Path write(Path file, String... lines) throws IOException {
        Files.write(file, List.of(lines));
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        return file;
    }

    /** {@code channel}, sending {@code authorization: value} on every call. */
    public static Channel withAuthorization(Channel channel, String value) {
        Metadata headers = new Metadata();
        headers.put(AUTHORIZATION, value);
        return ClientInterceptors.intercept(channel, MetadataUtils.newAttachHeadersInterceptor(headers));
    }

    /** {@code channel}, presenting {@code token} as a bearer token on every call. */
    public static Channel as(Channel channel, String token) {
        return withAuthorization(channel, "Bearer " + token);
    }
}
