package dev.dgramd.daemon.auth;

import io.grpc.Context;

/**
 * Who is calling: the principal name an authenticated call carries in its gRPC {@link Context}.
 * The authenticating interceptor (see {@link Authentication}) sets it before any service or other
 * interceptor of {@code dgramd.v1.Dgram} and {@code dgramd.v1.Admin} runs: with a tokens file, the
 * name the token maps to; else, with client certificates (mutual TLS), the subject CN of the client's
 * certificate (its whole subject DN when it has no CN). A call that passed no authentication (no
 * tokens file, no client certificates configured; health and reflection calls) is {@link #ANONYMOUS}.
 *
 * <p>The context is current while the call's handler and listener methods run (the service method
 * itself, onNext, onCompleted, ...), not in work that they hand to other threads or event loops:
 * read the principal there and keep it.
 */
public final class Principal {
    /** The principal of calls made when the daemon authenticates nobody. */
    public static final String ANONYMOUS = "anonymous";

    /** The gRPC context key the authenticating interceptor sets; unset means {@link #ANONYMOUS}. */
    public static final Context.Key<String> KEY = Context.key("dgramd-principal");

    private Principal() {
    }

    /** The principal of the call running on this thread, or {@link #ANONYMOUS}. */
    public static String current() {
        String name = KEY.get();
        return name == null ? ANONYMOUS : name;
    }
}
