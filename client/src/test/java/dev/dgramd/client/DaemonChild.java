package dev.dgramd.client;

import dev.dgramd.daemon.Dgramd;
import dev.dgramd.daemon.DgramdOptions;
import dev.dgramd.daemon.policy.Policy;

/** Child JVM: a daemon on a free port; prints "TARGET host:port" and runs until killed. */
public final class DaemonChild {
    private DaemonChild() {}

    public static void main(String[] args) throws Exception {
        Dgramd d = Dgramd.start(new DgramdOptions().listen("127.0.0.1:0").policy(Policy.allowAll()));
        System.out.println("TARGET " + d.target());
        System.out.flush();
        d.awaitTermination();
    }
}
