package dev.dgramd.client;

/**
 * {@link OptionsConformanceTest} again, with the listeners on the transport's event loop
 * ({@link ClientOptions#listenersOnEventLoop}): Node's behaviour is the same either way.
 */
class OptionsConformanceOnEventLoopTest extends OptionsConformanceTest {
    @Override
    boolean listenersOnEventLoop() {
        return true;
    }
}
