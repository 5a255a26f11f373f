package dev.dgramd.client;

/**
 * {@link BindCloseConformanceTest} again, with the listeners on the transport's event loop
 * ({@link ClientOptions#listenersOnEventLoop}): Node's behaviour is the same either way.
 */
class BindCloseConformanceOnEventLoopTest extends BindCloseConformanceTest {
    @Override
    boolean listenersOnEventLoop() {
        return true;
    }
}
