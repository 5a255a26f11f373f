package dev.dgramd.daemon.grpc;

import dev.dgramd.daemon.auth.Principal;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.StatusRuntimeException;
import java.util.Objects;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one gate every {@code dgramd.v1.Admin} call passes before {@link AdminService} sees it: a call
 * whose principal ({@link Principal#current()}, set by the authenticating interceptor, which runs
 * before this one) is not an admin is closed with PERMISSION_DENIED and logged as an {@code audit:}
 * line; the status carries an ErrorInfo with reason {@value #NOT_ADMIN}. Which principals are admins is the predicate's to say; without one, every principal is
 * (whoever may call Dgram may call Admin).
 */
public final class AdminAccess implements ServerInterceptor {
    /** The ErrorInfo reason of a refused Admin call. */
    public static final String NOT_ADMIN = "ERR_DGRAMD_NOT_ADMIN";
    private static final Logger log = LoggerFactory.getLogger(AdminAccess.class);

    private final Predicate<String> isAdmin;

    /** Lets every principal use Admin. */
    public AdminAccess() {
        this(principal -> true);
    }

    /** Lets the principals that {@code isAdmin} accepts use Admin. */
    public AdminAccess(Predicate<String> isAdmin) {
        this.isAdmin = Objects.requireNonNull(isAdmin, "isAdmin");
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                                                      ServerCallHandler<Q, R> next) {
        String principal = Principal.current();
        if (isAdmin.test(principal)) {
            return next.startCall(call, headers);
        }
        log.warn("audit: refused {} to principal {} from {}: not an admin", call.getMethodDescriptor().getFullMethodName(),
                principal, call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR));
        StatusRuntimeException refused = ErrorMapping.daemonStatus(com.google.rpc.Code.PERMISSION_DENIED, NOT_ADMIN,
                "principal " + principal + " may not use the Admin service");
        call.close(refused.getStatus(), refused.getTrailers());
        return new ServerCall.Listener<>() {
        };
    }
}
