package dev.dgramd.daemon.grpc;

import dev.dgramd.daemon.auth.Principal;
import dev.dgramd.daemon.udp.DgramError;
import io.grpc.Attributes;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.SecurityLevel;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServiceDescriptor;
import io.grpc.Status;
import java.io.InputStream;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers a request message that does not parse (bytes that are no protobuf of the method's request
 * type) with INVALID_ARGUMENT and an ErrorInfo of reason {@value #REASON} (domain {@code dgramd}; the
 * message names the request type and the parser's complaint), instead of gRPC's UNKNOWN "Application error processing RPC" and a SEVERE
 * stack trace per message. Each such message is logged as a warning without a stack trace, at most
 * one line a second: the messages in between are counted, and the count goes on the next line.
 *
 * <p>How: {@link #guard} gives each method of a service a request marshaller that passes the bytes
 * through untouched, and parses them with the method's own marshaller inside the call, where a
 * failure can be answered. A streaming call that already runs (SendStream) is first cancelled
 * towards the service, as if the client had cancelled it, so the service stops writing, and only
 * then closed with the status.
 */
public final class MalformedMessages {
    /** The ErrorInfo reason of a malformed request. */
    public static final String REASON = "ERR_DGRAMD_MALFORMED_MESSAGE";
    private static final Logger log = LoggerFactory.getLogger(MalformedMessages.class);
    private static final long INTERVAL_NANOS = 1_000_000_000L;
    private static final MethodDescriptor.Marshaller<InputStream> RAW = new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(InputStream value) {
            return value;
        }

        @Override
        public InputStream parse(InputStream stream) {
            return stream;
        }
    };

    private long lastLine = Long.MIN_VALUE;
    private long unlogged;

    /**
     * {@code service} with every request parsed inside its calls (same names, schema and response
     * marshallers, so reflection and clients see no difference).
     */
    public ServerServiceDefinition guard(ServerServiceDefinition service) {
        ServiceDescriptor original = service.getServiceDescriptor();
        ServiceDescriptor.Builder descriptor = ServiceDescriptor.newBuilder(original.getName())
                .setSchemaDescriptor(original.getSchemaDescriptor());
        List<ServerMethodDefinition<?, ?>> methods = new ArrayList<>();
        for (ServerMethodDefinition<?, ?> method : service.getMethods()) {
            ServerMethodDefinition<?, ?> guarded = guard(method);
            methods.add(guarded);
            descriptor.addMethod(guarded.getMethodDescriptor());
        }
        ServerServiceDefinition.Builder b = ServerServiceDefinition.builder(descriptor.build());
        methods.forEach(b::addMethod);
        return b.build();
    }

    private <Q, R> ServerMethodDefinition<InputStream, R> guard(ServerMethodDefinition<Q, R> method) {
        MethodDescriptor<Q, R> original = method.getMethodDescriptor();
        MethodDescriptor<InputStream, R> raw = original.toBuilder(RAW, original.getResponseMarshaller()).build();
        ServerCallHandler<Q, R> handler = method.getServerCallHandler();
        return ServerMethodDefinition.create(raw, (call, headers) -> {
            Typed<Q, R> typed = new Typed<>(call, original);
            return new Parsing<>(call, original, handler.startCall(typed, headers));
        });
    }

    /** Logs a malformed message: a line now, or a count for the next line when one went out less than a second ago. */
    void logged(String method, SocketAddress remote, String principal, String problem) {
        long now = System.nanoTime();
        long left;
        synchronized (this) {
            if (lastLine != Long.MIN_VALUE && now - lastLine < INTERVAL_NANOS) {
                unlogged++;
                return;
            }
            lastLine = now;
            left = unlogged;
            unlogged = 0;
        }
        log.warn("malformed request message: method={} remote={} principal={} problem=\"{}\" "
                + "more_since_last_line={}", method, remote, principal, problem, left);
    }

    /** The listener gRPC sees: parses each message with the method's marshaller before the service gets it. */
    private final class Parsing<Q, R> extends ServerCall.Listener<InputStream> {
        private final ServerCall<InputStream, R> call;
        private final MethodDescriptor<Q, R> method;
        private final ServerCall.Listener<Q> delegate;
        /** Set on the call's own thread (gRPC serialises listener calls). */
        private boolean failed;

        Parsing(ServerCall<InputStream, R> call, MethodDescriptor<Q, R> method, ServerCall.Listener<Q> delegate) {
            this.call = call;
            this.method = method;
            this.delegate = delegate;
        }

        @Override
        public void onMessage(InputStream message) {
            if (failed) {
                return;
            }
            Q parsed;
            try {
                parsed = method.parseRequest(message);
            } catch (RuntimeException e) {
                failed = true;
                String problem = problem(e);
                logged(method.getFullMethodName(), call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR),
                        Principal.current(), problem);
                delegate.onCancel(); // the service lets go of the call before it is closed
                String type = requestType(method);
                io.grpc.StatusRuntimeException status = ErrorMapping.toStatus(DgramError.of(REASON,
                        "malformed " + type + " message: " + problem), com.google.rpc.Code.INVALID_ARGUMENT);
                call.close(status.getStatus(), status.getTrailers());
                return;
            }
            delegate.onMessage(parsed);
        }

        @Override
        public void onHalfClose() {
            if (!failed) {
                delegate.onHalfClose();
            }
        }

        @Override
        public void onCancel() {
            if (!failed) {
                delegate.onCancel();
            }
        }

        @Override
        public void onComplete() {
            if (!failed) {
                delegate.onComplete();
            }
        }

        @Override
        public void onReady() {
            if (!failed) {
                delegate.onReady();
            }
        }
    }

    /**
     * The name of {@code method}'s request message: from its schema (a method may read its
     * requests into a type of its own, as SendStream does), else its marshaller's class.
     */
    private static String requestType(MethodDescriptor<?, ?> method) {
        if (method.getSchemaDescriptor() instanceof io.grpc.protobuf.ProtoMethodDescriptorSupplier s) {
            return s.getMethodDescriptor().getInputType().getName();
        }
        return method.getRequestMarshaller() instanceof MethodDescriptor.ReflectableMarshaller<?> r
                ? r.getMessageClass().getSimpleName() : method.getFullMethodName();
    }

    /** The parse failure in one line: the protobuf parser's message, not gRPC's wrapper's. */
    private static String problem(RuntimeException e) {
        Throwable cause = e.getCause() != null ? e.getCause() : e;
        String text = cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage();
        String line = text.lines().findFirst().orElse("");
        return line.length() > 200 ? line.substring(0, 200) + "..." : line;
    }

    /** The call as the service sees it: of the method's own request type. */
    private static final class Typed<Q, R> extends ServerCall<Q, R> {
        private final ServerCall<InputStream, R> call;
        private final MethodDescriptor<Q, R> method;

        Typed(ServerCall<InputStream, R> call, MethodDescriptor<Q, R> method) {
            this.call = call;
            this.method = method;
        }

        @Override
        public void request(int numMessages) {
            call.request(numMessages);
        }

        @Override
        public void sendHeaders(Metadata headers) {
            call.sendHeaders(headers);
        }

        @Override
        public void sendMessage(R message) {
            call.sendMessage(message);
        }

        @Override
        public boolean isReady() {
            return call.isReady();
        }

        @Override
        public void close(Status status, Metadata trailers) {
            call.close(status, trailers);
        }

        @Override
        public boolean isCancelled() {
            return call.isCancelled();
        }

        @Override
        public void setMessageCompression(boolean enabled) {
            call.setMessageCompression(enabled);
        }

        @Override
        public void setCompression(String compressor) {
            call.setCompression(compressor);
        }

        @Override
        public void setOnReadyThreshold(int numBytes) {
            call.setOnReadyThreshold(numBytes);
        }

        @Override
        public SecurityLevel getSecurityLevel() {
            return call.getSecurityLevel();
        }

        @Override
        public Attributes getAttributes() {
            return call.getAttributes();
        }

        @Override
        public String getAuthority() {
            return call.getAuthority();
        }

        @Override
        public MethodDescriptor<Q, R> getMethodDescriptor() {
            return method;
        }
    }
}
