package dev.dgramd.daemon.auth;

import com.google.protobuf.Any;
import com.google.rpc.ErrorInfo;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import java.net.SocketAddress;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides who calls, before any service sees the call, and puts the answer in the call's
 * {@link Context} under {@link Principal#KEY}:
 * <ul>
 * <li>with client certificates configured (mutual TLS), a call must come over a TLS session whose
 *     client presented a certificate that the client CA signed (the TLS layer has checked the
 *     signature); the principal is the certificate's subject CN, or its whole subject DN when it has
 *     no CN;</li>
 * <li>with a tokens file, a call must also carry {@code authorization: Bearer <token>} with a token
 *     of the file; the principal is then the token's name.</li>
 * </ul>
 * A call that fails is closed with UNAUTHENTICATED and an ErrorInfo with reason {@value #UNAUTHENTICATED},
 * domain "dgramd" (the token is never echoed), and logged as an
 * {@code audit:} line, at most {@value Audit#LINES_PER_SECOND} lines a second. Installed only when
 * one of the two is configured; without, every call is {@link Principal#ANONYMOUS}.
 */
final class Authenticator implements ServerInterceptor {
    static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
    static final String NO_TOKEN = "missing or unknown bearer token";
    static final String NO_CERTIFICATE = "client certificate required";
    /** The ErrorInfo reason of a refused call; the Java client's DgramException code for it too. */
    static final String UNAUTHENTICATED = "ERR_DGRAMD_UNAUTHENTICATED";

    private final TokensFile tokens;
    private final boolean clientCertificates;
    private final Audit audit = new Audit();

    /**
     * @param tokens the tokens file, or null for none
     * @param clientCertificates whether calls must come with a verified client certificate
     */
    Authenticator(TokensFile tokens, boolean clientCertificates) {
        this.tokens = tokens;
        this.clientCertificates = clientCertificates;
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                                                      ServerCallHandler<Q, R> next) {
        String principal = Principal.ANONYMOUS;
        if (clientCertificates) {
            X509Certificate certificate = clientCertificate(call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION));
            if (certificate == null) {
                return reject(call, "no client certificate", NO_CERTIFICATE);
            }
            principal = principalOf(certificate);
        }
        if (tokens != null) {
            String authorization = headers.get(AUTHORIZATION);
            String named = tokens.principal(bearerToken(authorization));
            if (named == null) {
                return reject(call, authorization == null ? "no authorization header"
                        : bearerToken(authorization) == null ? "authorization is not 'Bearer <token>'"
                        : "unknown bearer token", NO_TOKEN);
            }
            principal = named;
        }
        return Contexts.interceptCall(Context.current().withValue(Principal.KEY, principal), call, headers, next);
    }

    private <Q, R> ServerCall.Listener<Q> reject(ServerCall<Q, R> call, String reason, String description) {
        audit.rejected(call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR),
                call.getMethodDescriptor().getFullMethodName(), reason);
        StatusRuntimeException refused = StatusProto.toStatusRuntimeException(com.google.rpc.Status.newBuilder()
                .setCode(com.google.rpc.Code.UNAUTHENTICATED_VALUE).setMessage(description)
                .addDetails(Any.pack(ErrorInfo.newBuilder().setReason(UNAUTHENTICATED).setDomain("dgramd").build()))
                .build());
        call.close(refused.getStatus(), refused.getTrailers());
        return new ServerCall.Listener<>() {
        };
    }

    /** The token of {@code Bearer <token>} (the scheme in any case), or null. */
    static String bearerToken(String authorization) {
        if (authorization == null) {
            return null;
        }
        String value = authorization.strip();
        int space = value.indexOf(' ');
        if (space < 0 || !value.substring(0, space).equalsIgnoreCase("Bearer")) {
            return null;
        }
        String token = value.substring(space + 1).strip();
        return token.isEmpty() ? null : token;
    }

    /** The client's certificate in {@code session}, or null when there is no session or no certificate. */
    private static X509Certificate clientCertificate(SSLSession session) {
        if (session == null) {
            return null;
        }
        try {
            Certificate[] chain = session.getPeerCertificates();
            return chain.length > 0 && chain[0] instanceof X509Certificate x ? x : null;
        } catch (SSLPeerUnverifiedException e) {
            return null;
        }
    }

    /** The subject CN of {@code certificate} (the most specific one), or its subject DN when it has none. */
    static String principalOf(X509Certificate certificate) {
        String dn = certificate.getSubjectX500Principal().getName(javax.security.auth.x500.X500Principal.RFC2253);
        return principalOf(dn);
    }

    /** The CN of an RFC 2253 DN (the most specific one), or the DN when it has none. */
    static String principalOf(String dn) {
        try {
            List<Rdn> rdns = new LdapName(dn).getRdns(); // the most specific last
            for (int i = rdns.size() - 1; i >= 0; i--) {
                if (rdns.get(i).getType().equalsIgnoreCase("CN")) {
                    return String.valueOf(rdns.get(i).getValue());
                }
            }
        } catch (InvalidNameException e) {
            // fall back to the DN
        }
        return dn;
    }

    /** {@code audit:} lines for rejected calls, at most {@value #LINES_PER_SECOND} a second. */
    static final class Audit {
        static final int LINES_PER_SECOND = 20;
        private static final Logger log = LoggerFactory.getLogger(Authenticator.class);

        private long second;
        private int lines;
        private long unlogged;

        void rejected(SocketAddress remote, String method, String reason) {
            long now = System.nanoTime() / 1_000_000_000L;
            long previouslyUnlogged = 0;
            synchronized (this) {
                if (now != second) {
                    second = now;
                    lines = 0;
                    previouslyUnlogged = unlogged;
                    unlogged = 0;
                }
                if (lines >= LINES_PER_SECOND) {
                    unlogged++;
                    return;
                }
                lines++;
            }
            if (previouslyUnlogged > 0) {
                log.warn("audit: {} more rejected call(s) not logged", previouslyUnlogged);
            }
            log.warn("audit: rejected {} from {}: {}", method, remote, reason);
        }
    }
}
