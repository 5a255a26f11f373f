package dev.dgramd.daemon.grpc;

import dev.dgramd.proto.v1.DgramGrpc;
import dev.dgramd.proto.v1.EventsRequest;
import dev.dgramd.proto.v1.SessionRequest;
import io.grpc.MethodDescriptor;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServiceDescriptor;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import java.util.function.Function;

/**
 * The data-path methods as the daemon serves them: the contract's methods (same names and schema,
 * the same bytes on the wire, so that clients and reflection see no difference), with messages
 * read or written by hand instead of through protobuf's objects:
 * <ul>
 *   <li>SendStream: requests read as {@link SendBatchView}s, responses written from
 *       {@link SendResultBatch}es;
 *   <li>Events: responses written from {@link EventBatch}es;
 *   <li>Session: responses written from {@link SlotResponse}s.
 * </ul>
 */
final class HandCodedMethods {
    private HandCodedMethods() {
    }

    /**
     * {@code service} (the generated binding of Dgram) with its SendStream, Events and Session
     * methods served by the given handlers.
     */
    static ServerServiceDefinition replace(ServerServiceDefinition service,
            Function<StreamObserver<SendResultBatch>, StreamObserver<SendBatchView>> sendStream,
            BiConsumer<EventsRequest, StreamObserver<EventBatch>> events,
            Function<StreamObserver<SlotResponse>, StreamObserver<SessionRequest>> session) {
        Map<String, ServerMethodDefinition<?, ?>> replaced = new HashMap<>();
        put(replaced, ServerMethodDefinition.create(DgramGrpc.getSendStreamMethod()
                .toBuilder(new SendBatchView.Marshaller(),
                        ReusedResponseBuffers.<SendResultBatch>writeOnly("SendStreamResponse")).build(),
                ServerCalls.asyncBidiStreamingCall(sendStream::apply)));
        MethodDescriptor<EventsRequest, ?> eventsMethod = DgramGrpc.getEventsMethod();
        put(replaced, ServerMethodDefinition.create(eventsMethod
                .toBuilder(eventsMethod.getRequestMarshaller(),
                        ReusedResponseBuffers.<EventBatch>writeOnly("EventsResponse"))
                .build(),
                ServerCalls.asyncServerStreamingCall(events::accept)));
        MethodDescriptor<SessionRequest, ?> sessionMethod = DgramGrpc.getSessionMethod();
        put(replaced, ServerMethodDefinition.create(sessionMethod
                .toBuilder(sessionMethod.getRequestMarshaller(),
                        ReusedResponseBuffers.<SlotResponse>writeOnly("SessionResponse"))
                .build(),
                ServerCalls.asyncBidiStreamingCall(session::apply)));

        ServiceDescriptor original = service.getServiceDescriptor();
        ServiceDescriptor.Builder descriptor = ServiceDescriptor.newBuilder(original.getName())
                .setSchemaDescriptor(original.getSchemaDescriptor());
        List<ServerMethodDefinition<?, ?>> methods = new ArrayList<>();
        for (ServerMethodDefinition<?, ?> method : service.getMethods()) {
            ServerMethodDefinition<?, ?> served =
                    replaced.getOrDefault(method.getMethodDescriptor().getFullMethodName(), method);
            methods.add(served);
            descriptor.addMethod(served.getMethodDescriptor());
        }
        ServerServiceDefinition.Builder b = ServerServiceDefinition.builder(descriptor.build());
        methods.forEach(b::addMethod);
        return b.build();
    }

    private static void put(Map<String, ServerMethodDefinition<?, ?>> into, ServerMethodDefinition<?, ?> method) {
        into.put(method.getMethodDescriptor().getFullMethodName(), method);
    }
}
