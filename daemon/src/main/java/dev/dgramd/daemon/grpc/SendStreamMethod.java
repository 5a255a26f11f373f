package dev.dgramd.daemon.grpc;

import dev.dgramd.proto.v1.DgramGrpc;
import io.grpc.MethodDescriptor;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServiceDescriptor;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * The SendStream method as the daemon serves it: the contract's method (same name and schema, the
 * same bytes on the wire, so that clients and reflection see no difference), its requests read by
 * hand as {@link SendBatchView}s instead of parsed into protobuf's objects, its responses written
 * by hand from {@link SendResultBatch}es.
 */
final class SendStreamMethod {
    private SendStreamMethod() {
    }

    /** {@code service} (the generated binding of Dgram) with its SendStream method served by {@code handler}. */
    static ServerServiceDefinition replace(ServerServiceDefinition service,
            Function<StreamObserver<SendResultBatch>, StreamObserver<SendBatchView>> handler) {
        String name = DgramGrpc.getSendStreamMethod().getFullMethodName();
        ServiceDescriptor original = service.getServiceDescriptor();
        ServiceDescriptor.Builder descriptor = ServiceDescriptor.newBuilder(original.getName())
                .setSchemaDescriptor(original.getSchemaDescriptor());
        List<ServerMethodDefinition<?, ?>> methods = new ArrayList<>();
        for (ServerMethodDefinition<?, ?> method : service.getMethods()) {
            ServerMethodDefinition<?, ?> served = method;
            if (method.getMethodDescriptor().getFullMethodName().equals(name)) {
                MethodDescriptor<SendBatchView, SendResultBatch> read = DgramGrpc.getSendStreamMethod()
                        .toBuilder(new SendBatchView.Marshaller(), new SendResultBatch.Marshaller())
                        .build();
                served = ServerMethodDefinition.create(read, ServerCalls.asyncBidiStreamingCall(handler::apply));
            }
            methods.add(served);
            descriptor.addMethod(served.getMethodDescriptor());
        }
        ServerServiceDefinition.Builder b = ServerServiceDefinition.builder(descriptor.build());
        methods.forEach(b::addMethod);
        return b.build();
    }
}
