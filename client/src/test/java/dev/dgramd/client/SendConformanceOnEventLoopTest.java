package dev.dgramd.client;

/**
 * {@link SendConformanceTest} again, with the listeners on the transport's event loop
 * ({@link ClientOptions#listenersOnEventLoop}): Node's behaviour is the same either way.
 */
class SendConformanceOnEventLoopTest extends SendConformanceTest {
    @Override
    boolean listenersOnEventLoop() {
        return true;
    }
}
