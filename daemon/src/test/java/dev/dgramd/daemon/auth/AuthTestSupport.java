package dev.dgramd.daemon.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import dev.dgramd.daemon.DgramdOptions;
import dev.dgramd.daemon.grpc.AdminAccess;
import dev.dgramd.proto.v1.CloseRequest;
import dev.dgramd.proto.v1.CreateSocketRequest;
import dev.dgramd.proto.v1.DgramGrpc;
import dev.dgramd.proto.v1.SocketType;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import io.netty.handler.ssl.SslContextBuilder;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;
import org.slf4j.LoggerFactory;

/** Certificates, clients and a test-only "who am I" service for the authentication tests. */
final class AuthTestSupport {
    static final long SECONDS = 10;

    /** {@code test.Whoami/Get}: answers the caller's principal; stands for any guarded service. */
    static final MethodDescriptor<String, String> WHOAMI = method("test.Whoami/Get");
    /** {@code test.AdminWhoami/Get}: the same, behind {@link AdminAccess}. */
    static final MethodDescriptor<String, String> ADMIN_WHOAMI = method("test.AdminWhoami/Get");

    private AuthTestSupport() {
    }

    /** A file of src/test/resources/auth (see its README). */
    static Path resource(String name) {
        try {
            return Path.of(AuthTestSupport.class.getResource("/auth/" + name).toURI());
        } catch (URISyntaxException | NullPointerException e) {
            throw new IllegalStateException("no test resource auth/" + name, e);
        }
    }

    /** DgramdOptions for TLS with the test server certificate, on loopback and a free port. */
    static DgramdOptions tlsOptions() {
        return new DgramdOptions().listen("127.0.0.1:0").tlsCert(resource("server.pem")).tlsKey(resource("server.key"));
    }

    /**
     * A plain gRPC server on loopback wired as Dgramd wires its services: {@link Authentication} of
     * {@code options} around {@link #WHOAMI}, and around {@code adminAccess} around {@link #ADMIN_WHOAMI}.
     */
    static final class WhoamiServer implements AutoCloseable {
        final Authentication auth;
        final Server server;

        WhoamiServer(DgramdOptions options, AdminAccess adminAccess) throws IOException {
            auth = Authentication.start(options.authConfig());
            NettyServerBuilder builder = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                    .addService(auth.intercept(whoami("test.Whoami", WHOAMI)))
                    .addService(auth.intercept(ServerInterceptors.intercept(whoami("test.AdminWhoami", ADMIN_WHOAMI),
                            adminAccess)));
            if (auth.sslContext() != null) {
                builder.sslContext(auth.sslContext());
            }
            server = builder.build().start();
        }

        String target() {
            return "127.0.0.1:" + server.getPort();
        }

        @Override
        public void close() throws InterruptedException {
            server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            auth.close();
        }
    }

    /** Calls {@code method} and answers the principal the server saw. */
    static String whoami(Channel channel, MethodDescriptor<String, String> method) {
        return ClientCalls.blockingUnaryCall(channel, method, CallOptions.DEFAULT.withDeadlineAfter(SECONDS,
                TimeUnit.SECONDS), "");
    }

    /** A plaintext channel to {@code target} (HOST:PORT). */
    static ManagedChannel plaintext(String target) {
        return NettyChannelBuilder.forTarget(target).usePlaintext().build();
    }

    /**
     * A TLS channel to {@code target} trusting {@code trust} (null: the JVM's default roots), presenting
     * {@code cert} and {@code key} when not null.
     */
    static ManagedChannel tls(String target, String trust, String cert, String key) {
        try {
            SslContextBuilder ssl = GrpcSslContexts.forClient();
            if (trust != null) {
                ssl.trustManager(resource(trust).toFile());
            }
            if (cert != null) {
                ssl.keyManager(resource(cert).toFile(), resource(key).toFile());
            }
            return NettyChannelBuilder.forTarget(target).sslContext(ssl.build()).build();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * A TLS channel to {@code target} trusting {@code trust} that presents {@code cert} whatever CAs the
     * server asks for (the JDK's own key manager sends no certificate that another CA signed).
     */
    static ManagedChannel tlsPresenting(String target, String trust, String cert, String key) {
        try {
            X509Certificate[] chain = TlsFiles.certificates(resource(cert), "test").toArray(X509Certificate[]::new);
            PrivateKey privateKey = TlsFiles.privateKey(resource(key));
            X509ExtendedKeyManager always = new X509ExtendedKeyManager() {
                @Override
                public String chooseClientAlias(String[] keyType, java.security.Principal[] issuers, Socket socket) {
                    return "client";
                }

                @Override
                public String chooseEngineClientAlias(String[] keyType, java.security.Principal[] issuers, SSLEngine engine) {
                    return "client";
                }

                @Override
                public X509Certificate[] getCertificateChain(String alias) {
                    return chain;
                }

                @Override
                public PrivateKey getPrivateKey(String alias) {
                    return privateKey;
                }

                @Override
                public String[] getClientAliases(String keyType, java.security.Principal[] issuers) {
                    return new String[] {"client"};
                }

                @Override
                public String[] getServerAliases(String keyType, java.security.Principal[] issuers) {
                    return null;
                }

                @Override
                public String chooseServerAlias(String keyType, java.security.Principal[] issuers, Socket socket) {
                    return null;
                }
            };
            return NettyChannelBuilder.forTarget(target).sslContext(GrpcSslContexts.forClient()
                    .trustManager(resource(trust).toFile()).keyManager(always).build()).build();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** {@code channel}, each call carrying {@code authorization: <value>}. */
    static Channel withAuthorization(Channel channel, String value) {
        return dev.dgramd.daemon.Tokens.withAuthorization(channel, value);
    }

    /** {@code channel}, each call carrying {@code authorization: Bearer <token>}. */
    static Channel withToken(Channel channel, String token) {
        return withAuthorization(channel, "Bearer " + token);
    }

    /** Creates and closes a socket through Dgram: a real call of the daemon's guarded service. */
    static void createAndCloseSocket(Channel channel) {
        DgramGrpc.DgramBlockingStub stub = DgramGrpc.newBlockingStub(channel).withDeadlineAfter(SECONDS, TimeUnit.SECONDS);
        String id = stub.createSocket(CreateSocketRequest.newBuilder().setType(SocketType.SOCKET_TYPE_UDP4).build()).getSocketId();
        assertThat(id).isNotEmpty();
        stub.close(CloseRequest.newBuilder().setSocketId(id).build());
    }

    /** Runs {@code call}, which must fail with {@code code}; answers the status. */
    /**
     * Asserts that {@code call} fails with {@code code} and a google.rpc.ErrorInfo of domain "dgramd"
     * in its status details; returns the ErrorInfo's reason.
     */
    static String reasonOf(Status.Code code, Runnable call) {
        StatusRuntimeException[] failure = new StatusRuntimeException[1];
        assertThatThrownBy(call::run).isInstanceOfSatisfying(StatusRuntimeException.class, e -> failure[0] = e);
        assertThat(failure[0].getStatus().getCode()).as("status %s", failure[0].getStatus()).isEqualTo(code);
        com.google.rpc.Status details = io.grpc.protobuf.StatusProto.fromThrowable(failure[0]);
        assertThat(details).as("grpc-status-details-bin of %s", failure[0].getStatus()).isNotNull();
        com.google.rpc.ErrorInfo info = details.getDetailsList().stream()
                .filter(a -> a.is(com.google.rpc.ErrorInfo.class)).findFirst().map(a -> {
                    try {
                        return a.unpack(com.google.rpc.ErrorInfo.class);
                    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
                        throw new AssertionError(e);
                    }
                }).orElseThrow(() -> new AssertionError("no ErrorInfo in " + details));
        assertThat(info.getDomain()).isEqualTo("dgramd");
        return info.getReason();
    }

    static Status failsWith(Status.Code code, Runnable call) {
        Status[] status = new Status[1];
        assertThatThrownBy(call::run).isInstanceOfSatisfying(StatusRuntimeException.class,
                e -> status[0] = e.getStatus());
        assertThat(status[0].getCode()).as("status %s", status[0]).isEqualTo(code);
        return status[0];
    }

    private static ServerServiceDefinition whoami(String service, MethodDescriptor<String, String> method) {
        return ServerServiceDefinition.builder(service)
                .addMethod(method, ServerCalls.asyncUnaryCall((request, response) -> {
                    response.onNext(Principal.current());
                    response.onCompleted();
                }))
                .build();
    }

    private static MethodDescriptor<String, String> method(String name) {
        return MethodDescriptor.<String, String>newBuilder().setType(MethodDescriptor.MethodType.UNARY)
                .setFullMethodName(name).setRequestMarshaller(Utf8.INSTANCE).setResponseMarshaller(Utf8.INSTANCE)
                .build();
    }

    private enum Utf8 implements MethodDescriptor.Marshaller<String> {
        INSTANCE;

        @Override
        public InputStream stream(String value) {
            return new ByteArrayInputStream(value.getBytes(StandardCharsets.UTF_8));
        }

        @Override
        public String parse(InputStream stream) {
            try {
                return new String(stream.readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    /** The log events of some loggers, as they come: a test waits for a line instead of sleeping. */
    static final class LogCapture implements AutoCloseable {
        private final LinkedBlockingQueue<ILoggingEvent> events = new LinkedBlockingQueue<>();
        private final List<ILoggingEvent> seen = new ArrayList<>();
        private final List<Logger> loggers = new ArrayList<>();
        private final AppenderBase<ILoggingEvent> appender = new AppenderBase<>() {
            @Override
            protected void append(ILoggingEvent event) {
                events.add(event);
            }
        };

        LogCapture(Class<?>... sources) {
            appender.start();
            for (Class<?> source : sources) {
                Logger logger = (Logger) LoggerFactory.getLogger(source);
                logger.addAppender(appender);
                loggers.add(logger);
            }
        }

        /** The first event from here on whose message matches; fails after {@link #SECONDS}. */
        ILoggingEvent await(Predicate<String> message) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(SECONDS);
            while (true) {
                ILoggingEvent e = events.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                if (e == null) {
                    fail("no such log line within %d s; saw %s", SECONDS, seen);
                }
                seen.add(e);
                if (message.test(e.getFormattedMessage())) {
                    return e;
                }
            }
        }

        /** The messages logged so far that no {@link #await} took. */
        List<String> messages() {
            List<ILoggingEvent> all = new ArrayList<>();
            events.drainTo(all);
            seen.addAll(all);
            return all.stream().map(ILoggingEvent::getFormattedMessage).toList();
        }

        @Override
        public void close() {
            for (Logger logger : loggers) {
                logger.detachAppender(appender);
            }
            appender.stop();
        }
    }
}
