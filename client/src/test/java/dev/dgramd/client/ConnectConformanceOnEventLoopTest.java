package dev.dgramd.client;

/**
 * {@link ConnectConformanceTest} again, with the listeners on the transport's event loop
 * ({@link ClientOptions#listenersOnEventLoop}): Node's behaviour is the same either way.
 */
class ConnectConformanceOnEventLoopTest extends ConnectConformanceTest {
    @Override
    boolean listenersOnEventLoop() {
        return true;
    }
}
