package dev.dgramd.client;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Child JVM for the ref/unref tests: makes a socket in the state named by args[1], prints
 * "READY", and returns from main without closing anything (the DgramClient stays open too).
 */
public final class RefChild {
    private RefChild() {}

    public static void main(String[] args) throws Exception {
        DgramClient dgram = DgramClient.connect(args[0]);
        Socket s = dgram.createSocket("udp4");
        CompletableFuture<Void> listening = new CompletableFuture<>();
        switch (args[1]) {
            case "unbound" -> listening.complete(null);
            case "bound", "bound-unref", "bound-unref-ref", "bound-close" ->
                    s.bind(0, "127.0.0.1", () -> listening.complete(null));
            case "unref-then-bind" -> {
                s.unref();
                s.bind(0, "127.0.0.1", () -> listening.complete(null));
            }
            default -> throw new IllegalArgumentException(args[1]);
        }
        listening.get(10, TimeUnit.SECONDS);
        switch (args[1]) {
            case "bound-unref" -> s.unref();
            case "bound-unref-ref" -> s.unref().ref();
            case "bound-close" -> s.close();
            default -> { }
        }
        System.out.println("READY " + args[1]);
        System.out.flush();
    }
}
