package dev.dgramd.daemon.cli;

import dev.dgramd.daemon.Dgramd;
import dev.dgramd.daemon.DgramdOptions;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import sun.misc.Signal;

/** The {@code dgramd} command: starts a daemon and runs until SIGTERM or SIGINT. */
@Command(name = "dgramd", mixinStandardHelpOptions = true, versionProvider = DgramdCommand.Version.class,
        sortOptions = false,
        description = {
            "Hosts real UDP sockets and exposes every node:dgram Socket operation over gRPC (dgramd.v1).",
            "Stops gracefully on SIGTERM or SIGINT: every socket is closed, every event stream ends with",
            "a 'close' event, and the process exits with status 0."
        })
public final class DgramdCommand implements Callable<Integer> {
    private static final Logger log = LoggerFactory.getLogger(DgramdCommand.class);

    @Option(names = "--listen", paramLabel = "HOST:PORT", defaultValue = DgramdOptions.DEFAULT_LISTEN,
            description = "gRPC listen address (plaintext). Port 0 picks a free port; IPv6 as [::1]:50051. "
                    + "Default: ${DEFAULT-VALUE}.")
    String listen;

    @Option(names = "--event-loop-threads", paramLabel = "N", defaultValue = "0",
            description = "Netty event loop threads shared by gRPC and UDP; 0 means twice the cores. "
                    + "Default: ${DEFAULT-VALUE}.")
    int eventLoopThreads;

    @Option(names = "--transport", paramLabel = "epoll|nio", defaultValue = "auto",
            description = "Netty transport: auto (epoll where available, else nio), epoll, or nio. "
                    + "Default: ${DEFAULT-VALUE}.")
    String transport;

    @Option(names = "--max-queued-event-bytes", paramLabel = "BYTES", defaultValue = "4194304",
            description = "Per socket, the bytes of events kept for a client that reads its event stream "
                    + "slowly; 'message' events beyond it are dropped and counted. Default: ${DEFAULT-VALUE}.")
    long maxQueuedEventBytes;

    @Option(names = "--max-message-bytes", paramLabel = "BYTES", defaultValue = "8388608",
            description = "Largest gRPC message accepted (one SendBatch). Default: ${DEFAULT-VALUE}.")
    int maxMessageBytes;

    @Override
    public Integer call() throws Exception {
        DgramdOptions options;
        try {
            options = new DgramdOptions()
                    .listen(listen)
                    .eventLoopThreads(eventLoopThreads)
                    .nativeTransport(!"nio".equals(transport))
                    .maxQueuedEventBytes(maxQueuedEventBytes)
                    .maxMessageBytes(maxMessageBytes);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(new CommandLine(this), e.getMessage());
        }
        if (!transport.equals("auto") && !transport.equals("epoll") && !transport.equals("nio")) {
            throw new CommandLine.ParameterException(new CommandLine(this),
                    "--transport must be auto, epoll or nio, got '" + transport + "'");
        }
        Dgramd daemon = Dgramd.start(options);
        if (transport.equals("epoll") && !daemon.transport().equals("epoll")) {
            daemon.close();
            log.error("--transport epoll: the native epoll transport is not available here");
            return 1;
        }
        CountDownLatch stop = new CountDownLatch(1);
        Signal.handle(new Signal("TERM"), s -> stop.countDown());
        Signal.handle(new Signal("INT"), s -> stop.countDown());
        stop.await();
        log.info("signal received");
        daemon.close();
        return 0;
    }

    public static void main(String[] args) {
        int code = new CommandLine(new DgramdCommand()).execute(args);
        System.exit(code);
    }

    /** The version from the jar manifest. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = DgramdCommand.class.getPackage().getImplementationVersion();
            return new String[] {"dgramd " + (v == null ? "development build" : v)};
        }
    }
}
