package dev.dgramd.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import io.grpc.reflection.v1.ServiceResponse;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The standard health service and server reflection, for probes and grpcurl-style tools. */
class HealthAndReflectionTest extends DaemonTestBase {

    @Test
    void healthIsServingForTheServerAndTheDgramService() {
        var health = HealthGrpc.newBlockingStub(channel).withDeadlineAfter(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        assertThat(health.check(HealthCheckRequest.getDefaultInstance()).getStatus()).isEqualTo(ServingStatus.SERVING);
        assertThat(health.check(HealthCheckRequest.newBuilder().setService("dgramd.v1.Dgram").build()).getStatus())
                .isEqualTo(ServingStatus.SERVING);
    }

    @Test
    void reflectionListsTheDgramService() throws Exception {
        CompletableFuture<List<String>> services = new CompletableFuture<>();
        var requests = ServerReflectionGrpc.newStub(channel).withDeadlineAfter(TIMEOUT_SECONDS, TimeUnit.SECONDS)
                .serverReflectionInfo(new StreamObserver<ServerReflectionResponse>() {
                    @Override
                    public void onNext(ServerReflectionResponse r) {
                        services.complete(r.getListServicesResponse().getServiceList().stream()
                                .map(ServiceResponse::getName).collect(Collectors.toList()));
                    }

                    @Override
                    public void onError(Throwable t) {
                        services.completeExceptionally(t);
                    }

                    @Override
                    public void onCompleted() {
                    }
                });
        requests.onNext(ServerReflectionRequest.newBuilder().setListServices("").build());
        assertThat(services.get(TIMEOUT_SECONDS, TimeUnit.SECONDS)).contains("dgramd.v1.Dgram", "grpc.health.v1.Health");
        requests.onCompleted();
    }
}
