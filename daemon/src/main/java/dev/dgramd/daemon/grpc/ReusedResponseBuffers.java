package dev.dgramd.daemon.grpc;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.MessageLite;
import io.grpc.Drainable;
import io.grpc.KnownLength;
import io.grpc.MethodDescriptor;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServiceDescriptor;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Serializes the response messages of a service's streaming methods into an array each thread
 * reuses, instead of one protobuf allocates per message (its output buffer, up to 4 KiB: on the
 * Events and SendStream streams, tens of bytes per datagram). gRPC copies a response into its
 * transport's buffers as it sends it, on the thread that sends it, and then closes the stream
 * this marshaller gave it, which hands the array back to the thread it is closed on.
 *
 * <p>Bounded: each thread keeps at most one array of at most {@link #MAX_REUSED} bytes; a larger
 * message, or one serialized while the thread's array is out, gets an array of its own. The bytes
 * on the wire are the same as protobuf's own marshaller writes; parsing is that marshaller's.
 */
final class ReusedResponseBuffers {
    /** The largest array a thread keeps. */
    static final int MAX_REUSED = 64 * 1024;
    private static final ThreadLocal<byte[][]> REUSED = ThreadLocal.withInitial(() -> new byte[1][]);

    private ReusedResponseBuffers() {
    }

    /** {@code service} with the response marshaller of each method whose server streams replaced by this one. */
    static ServerServiceDefinition apply(ServerServiceDefinition service) {
        ServiceDescriptor original = service.getServiceDescriptor();
        ServiceDescriptor.Builder descriptor = ServiceDescriptor.newBuilder(original.getName())
                .setSchemaDescriptor(original.getSchemaDescriptor());
        List<ServerMethodDefinition<?, ?>> methods = new ArrayList<>();
        for (ServerMethodDefinition<?, ?> method : service.getMethods()) {
            ServerMethodDefinition<?, ?> replaced = apply(method);
            methods.add(replaced);
            descriptor.addMethod(replaced.getMethodDescriptor());
        }
        ServerServiceDefinition.Builder b = ServerServiceDefinition.builder(descriptor.build());
        methods.forEach(b::addMethod);
        return b.build();
    }

    private static <Q, R> ServerMethodDefinition<Q, R> apply(ServerMethodDefinition<Q, R> method) {
        MethodDescriptor<Q, R> original = method.getMethodDescriptor();
        if (original.getType().serverSendsOneMessage()
                || !(original.getResponseMarshaller() instanceof MethodDescriptor.PrototypeMarshaller<R> proto)
                || !(proto.getMessagePrototype() instanceof MessageLite)) {
            return method;
        }
        MethodDescriptor<Q, R> replaced = original.toBuilder(original.getRequestMarshaller(), new Marshaller<>(proto))
                .build();
        return ServerMethodDefinition.create(replaced, method.getServerCallHandler());
    }

    /** Writes a message's encoding. */
    @FunctionalInterface
    interface Encoder {
        void writeTo(CodedOutputStream out) throws IOException;
    }

    /** A response the daemon encodes by hand, with the bytes protobuf would write for it. */
    interface Encoded extends Encoder {
        /** The size of its encoding, which {@link #writeTo} fills exactly. */
        int serializedSize();
    }

    /**
     * The marshaller of a response type that the daemon writes by hand (serialized as
     * {@link #serialize} does) and never reads; {@code message} names the contract's message in
     * the error of a parse.
     */
    static <T extends Encoded> MethodDescriptor.Marshaller<T> writeOnly(String message) {
        return new MethodDescriptor.Marshaller<>() {
            @Override
            public InputStream stream(T value) {
                return serialize(value.serializedSize(), value);
            }

            @Override
            public T parse(InputStream stream) {
                throw new UnsupportedOperationException("the daemon reads no " + message);
            }
        };
    }

    /**
     * A message of {@code size} bytes that {@code encoder} writes, serialized into the calling
     * thread's reused array (or one of its own), as a stream for gRPC to send.
     */
    static InputStream serialize(int size, Encoder encoder) {
        byte[][] slot = REUSED.get();
        byte[] array = slot[0];
        boolean reused = size <= MAX_REUSED && array != null && array.length >= size;
        if (reused) {
            slot[0] = null; // out until the stream is closed
        } else {
            array = new byte[size > MAX_REUSED ? size
                    : Math.min(MAX_REUSED, Math.max(size, array == null ? 4096 : 2 * array.length))];
        }
        try {
            CodedOutputStream out = CodedOutputStream.newInstance(array, 0, size);
            encoder.writeTo(out);
            out.checkNoSpaceLeft();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new Serialized(array, size, array.length <= MAX_REUSED);
    }

    /** Protobuf's marshaller, serializing into a reused array. */
    private static final class Marshaller<T> implements MethodDescriptor.PrototypeMarshaller<T> {
        private final MethodDescriptor.PrototypeMarshaller<T> proto;

        Marshaller(MethodDescriptor.PrototypeMarshaller<T> proto) {
            this.proto = proto;
        }

        @Override
        public InputStream stream(T value) {
            MessageLite message = (MessageLite) value;
            return serialize(message.getSerializedSize(), message::writeTo);
        }

        @Override
        public T parse(InputStream stream) {
            return proto.parse(stream);
        }

        @Override
        public T getMessagePrototype() {
            return proto.getMessagePrototype();
        }

        @Override
        public Class<T> getMessageClass() {
            return proto.getMessageClass();
        }
    }

    /** One serialized message; closing it offers its array to the closing thread for reuse. */
    private static final class Serialized extends InputStream implements KnownLength, Drainable {
        private byte[] array;
        private final int size;
        private final boolean reusable;
        private int position;

        Serialized(byte[] array, int size, boolean reusable) {
            this.array = array;
            this.size = size;
            this.reusable = reusable;
        }

        @Override
        public int drainTo(OutputStream target) throws IOException {
            int n = size - position;
            if (n > 0) {
                target.write(array, position, n);
                position = size;
            }
            return n;
        }

        @Override
        public int read() {
            return position < size ? array[position++] & 0xff : -1;
        }

        @Override
        public int read(byte[] b, int off, int len) {
            if (len == 0) {
                return 0;
            }
            int n = Math.min(len, size - position);
            if (n <= 0) {
                return -1;
            }
            System.arraycopy(array, position, b, off, n);
            position += n;
            return n;
        }

        @Override
        public int available() {
            return size - position;
        }

        @Override
        public void close() {
            byte[] a = array;
            if (a == null) {
                return;
            }
            array = null;
            position = size;
            if (reusable) {
                byte[][] slot = REUSED.get();
                if (slot[0] == null || slot[0].length < a.length) {
                    slot[0] = a;
                }
            }
        }
    }
}
