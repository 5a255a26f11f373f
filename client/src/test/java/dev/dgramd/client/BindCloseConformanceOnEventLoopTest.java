package dev.dgramd.client;

/**
 * {@link BindCloseConformanceTest} again, with the listeners on the transport's event loop
 * ({@link ClientOptions#listenersOnEventLoop}): Node's behaviour is the same either way.
 */
class BindCloseConformanceOnEventLoopTest extends BindCloseConformanceTest {
    @Override
    ClientOptions clientOptions(String target) {
        return super.clientOptions(target).listenersOnEventLoop(true);
    }

    @Override
    String listenerThreadPrefix() {
        return "dgramd-client-loop-";
    }
}
