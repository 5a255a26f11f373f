package dev.dgramd.daemon.grpc;

import io.grpc.stub.ServerCallStreamObserver;

/**
 * Where an {@link EventStream} writes its socket's batches: an Events call, or one slot of a
 * Session call ({@link SessionCall}). The contract is that of the part of
 * {@link ServerCallStreamObserver} an event stream uses: {@link #onNext} only while
 * {@link #isReady}, then at most one of {@link #onError} or {@link #onCompleted}, which ends it.
 * Calls come from one thread at a time (the socket's event loop, or the call's).
 */
interface EventSink {
    /** True while a batch may be written without piling up behind a slow reader. */
    boolean isReady();

    /** True once the reader went away (the call cancelled, the slot detached). */
    boolean isCancelled();

    /**
     * Sets what runs when the sink becomes ready again after {@link #isReady} said no, and when the
     * reader goes away; each from any thread. Set once, before the first write.
     */
    void setHandlers(Runnable onReady, Runnable onCancel);

    void onNext(EventBatch batch);

    /** Ends with {@code status} (a {@link io.grpc.StatusRuntimeException}, as {@link ErrorMapping} makes them). */
    void onError(Throwable status);

    /** Ends after 'close'. */
    void onCompleted();

    /** The sink of an Events call. */
    static EventSink of(ServerCallStreamObserver<EventBatch> call) {
        return new EventSink() {
            @Override
            public boolean isReady() {
                return call.isReady();
            }

            @Override
            public boolean isCancelled() {
                return call.isCancelled();
            }

            @Override
            public void setHandlers(Runnable onReady, Runnable onCancel) {
                call.setOnReadyHandler(onReady);
                call.setOnCancelHandler(onCancel);
            }

            @Override
            public void onNext(EventBatch batch) {
                call.onNext(batch);
            }

            @Override
            public void onError(Throwable status) {
                call.onError(status);
            }

            @Override
            public void onCompleted() {
                call.onCompleted();
            }
        };
    }
}
