package dev.dgramd.daemon.auth;

import io.grpc.Context;

/**
 * Who is calling: the principal name an authenticated call carries in its gRPC {@link Context}.
 * A call that passed no authentication (no tokens file, no client certificates configured) is
 * {@link #ANONYMOUS}.
 */
public final class Principal {
    /** The principal of calls made when the daemon authenticates nobody. */
    public static final String ANONYMOUS = "anonymous";

    /** The gRPC context key the authenticating interceptor sets. */
    public static final Context.Key<String> KEY = Context.key("dgramd-principal");

    private Principal() {
    }

    /** The principal of the call running on this thread, or {@link #ANONYMOUS}. */
    public static String current() {
        String name = KEY.get();
        return name == null ? ANONYMOUS : name;
    }
}
