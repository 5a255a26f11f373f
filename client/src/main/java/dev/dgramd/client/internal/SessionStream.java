package dev.dgramd.client.internal;

import dev.dgramd.proto.v1.DgramGrpc;
import dev.dgramd.proto.v1.EventsRequest;
import dev.dgramd.proto.v1.SessionClose;
import dev.dgramd.proto.v1.SessionDetach;
import dev.dgramd.proto.v1.SessionEnd;
import dev.dgramd.proto.v1.SessionOpen;
import dev.dgramd.proto.v1.SessionRequest;
import io.grpc.ClientCall;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ClientResponseObserver;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The client's Session call: the event streams of its sockets, one slot each, on one call, with
 * their creation and close, instead of an Events call and a Close call per socket. Started with
 * the first slot; when it ends, every open slot ends with it, and the next slot starts a new call.
 * A daemon without Session (UNIMPLEMENTED) is remembered: {@link #open} then answers false and the
 * socket uses an Events call of its own. Slots are opened with close_ends_slot: the batch with
 * 'close' ends its slot ({@link Listener#onCompleted} right after that batch), and an end a daemon
 * older than that field sends anyway is ignored (slot numbers are not reused until they wrap).
 *
 * <p>Each slot's batches go to its {@link Listener} on the transport thread, in order, as an Events
 * call's would; the slot's credit is its flow control ({@link Feed#request}). Thread-safe: every
 * write to the call is made under one lock.
 */
final class SessionStream {
    /** What a slot tells its socket: an Events call's callbacks. */
    interface Listener {
        /** The slot is {@code feed}; called before its open is sent, so before any other call. */
        void started(EventStream.Feed feed);

        /** The slot's next batch; on the transport thread. */
        void onNext(EventBatch batch);

        /** The slot ended with {@code status} (a {@link StatusRuntimeException}). */
        void onError(Throwable status);

        /** The slot ended after 'close'. */
        void onCompleted();
    }

    /** One decoded SessionResponse: its slot, and its batch or its end. */
    record Response(int slot, EventBatch batch, SessionEnd end) {}

    private final ClientCore core;
    private final Object lock = new Object();
    // Guarded by lock.
    private Link current;
    private boolean unsupported;
    private boolean shutdown;

    SessionStream(ClientCore core) {
        this.core = core;
    }

    /**
     * Opens a slot with {@code request}, the daemon allowed {@code credit} batches; its outcome goes
     * to {@code listener} ({@link Listener#started} first, at once). False when the daemon has no
     * Session call (or the client is shutting down): use an Events call.
     */
    boolean open(EventsRequest request, int credit, Listener listener) {
        synchronized (lock) {
            if (unsupported || shutdown) {
                return false;
            }
            Link link = current;
            boolean fresh = link == null;
            if (fresh) {
                link = new Link();
                current = link;
            }
            Slot slot = new Slot(link.nextSlot(), listener, link);
            link.slots.put(slot.number, slot);
            listener.started(slot);
            if (fresh) {
                link.start(); // may fail at once: the slot then hears of it already
            }
            slot.send(SessionRequest.newBuilder().setSlot(slot.number)
                    .setOpen(SessionOpen.newBuilder().setEvents(request).setCredit(credit).setCloseEndsSlot(true)).build());
            return true;
        }
    }

    /**
     * No new slot from now on: the call is half-closed, so the daemon completes it once every open
     * slot has ended (the channel's shutdown waits for that, as for any call).
     */
    void shutdown() {
        synchronized (lock) {
            shutdown = true;
            if (current != null && current.requests != null && !current.ended) {
                current.halfClosed = true;
                current.requests.onCompleted();
            }
        }
    }

    private static MethodDescriptor<SessionRequest, Response> method() {
        return DgramGrpc.getSessionMethod().toBuilder(DgramGrpc.getSessionMethod().getRequestMarshaller(),
                new Decoder()).build();
    }

    /** One Session call and its slots; its responses come on the transport thread. */
    private final class Link implements ClientResponseObserver<SessionRequest, Response> {
        // Guarded by lock.
        final Map<Integer, Slot> slots = new HashMap<>();
        ClientCallStreamObserver<SessionRequest> requests;
        boolean ended;
        /** Nothing more can be written (the client is shutting down); the call ends once its slots did. */
        boolean halfClosed;
        private int lastSlot;

        /** Guarded by lock. */
        void start() {
            DgramGrpc.DgramStub stub = core.stub();
            ClientCall<SessionRequest, Response> c = stub.getChannel().newCall(method(), stub.getCallOptions());
            ClientCalls.asyncBidiStreamingCall(c, this);
        }

        /** Guarded by lock. */
        int nextSlot() {
            do {
                lastSlot++;
            } while (lastSlot == 0 || slots.containsKey(lastSlot));
            return lastSlot;
        }

        @Override
        public void beforeStart(ClientCallStreamObserver<SessionRequest> r) {
            requests = r; // under the lock: start() runs in open()
        }

        @Override
        public void onNext(Response r) {
            Slot slot;
            // Opened with close_ends_slot: the batch with 'close' is the slot's end.
            boolean closed = r.end() == null && r.batch().endsWithClose();
            synchronized (lock) {
                slot = slots.get(r.slot());
                if (slot != null && (r.end() != null || closed)) {
                    slots.remove(r.slot());
                }
            }
            if (slot == null) {
                return; // a slot freed by its 'close' (a daemon that ignores close_ends_slot ends it again), or a daemon bug
            }
            if (r.end() == null) {
                slot.batch(r.batch());
                if (closed) {
                    slot.ended(SessionEnd.getDefaultInstance());
                }
            } else {
                slot.ended(r.end());
            }
        }

        @Override
        public void onError(Throwable t) {
            ended(t);
        }

        @Override
        public void onCompleted() {
            ended(Status.UNAVAILABLE.withDescription("dgramd completed the Session call").asRuntimeException());
        }

        /** The call is over: every slot it had ends with {@code t}. */
        private void ended(Throwable t) {
            List<Slot> open;
            synchronized (lock) {
                ended = true;
                if (current == this) {
                    current = null;
                }
                open = new ArrayList<>(slots.values());
                slots.clear();
                if (Status.fromThrowable(t).getCode() == Status.Code.UNIMPLEMENTED) {
                    unsupported = true;
                }
            }
            for (Slot s : open) {
                s.failed(t);
            }
        }
    }

    /** One socket's stream on a call. */
    private final class Slot implements EventStream.Feed {
        final int number;
        final Listener listener;
        final Link link;
        /** Let go of by the client: its end is not passed on (it was told already). */
        private volatile boolean detached;

        Slot(int number, Listener listener, Link link) {
            this.number = number;
            this.listener = listener;
            this.link = link;
        }

        @Override
        public void request(int n) {
            send(SessionRequest.newBuilder().setSlot(number).setCredit(n).build());
        }

        @Override
        public void cancel(String why) {
            detached = true;
            send(SessionRequest.newBuilder().setSlot(number).setDetach(SessionDetach.getDefaultInstance()).build());
            // Told now, as a cancelled call tells at once; the daemon's end (CANCELLED) frees the number.
            listener.onError(Status.CANCELLED.withDescription(why).asRuntimeException());
        }

        @Override
        public boolean close() {
            synchronized (lock) {
                if (link.ended || link.halfClosed || link.slots.get(number) != this) {
                    return false;
                }
                send(SessionRequest.newBuilder().setSlot(number).setClose(SessionClose.getDefaultInstance()).build());
                return true;
            }
        }

        /** Writes {@code r} on the call, unless the call is over. */
        void send(SessionRequest r) {
            synchronized (lock) {
                if (!link.ended && !link.halfClosed && link.requests != null) {
                    link.requests.onNext(r);
                }
            }
        }

        void batch(EventBatch b) {
            if (!detached) {
                listener.onNext(b);
            }
        }

        void ended(SessionEnd end) {
            if (detached) {
                return;
            }
            if (end.getCode() == 0) {
                listener.onCompleted();
            } else {
                listener.onError(status(end));
            }
        }

        void failed(Throwable t) {
            if (!detached) {
                listener.onError(t);
            }
        }
    }

    /** The status a slot's end stands for, with its ErrorInfo, as the Events call's trailers would carry it. */
    static StatusRuntimeException status(SessionEnd end) {
        if (!end.getDetails().isEmpty()) {
            try {
                com.google.rpc.Status details = com.google.rpc.Status.parseFrom(end.getDetails());
                return StatusProto.toStatusRuntimeException(details.toBuilder().setCode(end.getCode())
                        .setMessage(end.getMessage()).build());
            } catch (com.google.protobuf.InvalidProtocolBufferException e) {
                // fall through: the code and message are still good
            }
        }
        return Status.fromCodeValue(end.getCode()).withDescription(end.getMessage()).asRuntimeException();
    }

    /** Reads SessionResponse messages; the batches with an {@link EventsDecoder} of the call's own. */
    static final class Decoder implements MethodDescriptor.Marshaller<Response> {
        private final EventsDecoder events = new EventsDecoder();

        @Override
        public InputStream stream(Response value) {
            throw new UnsupportedOperationException("the client does not write SessionResponse messages");
        }

        @Override
        public Response parse(InputStream stream) {
            try {
                ProtoWire.Input input = ProtoWire.Input.readFully(stream);
                ProtoWire.Reader in = new ProtoWire.Reader(input.buf, 0, input.length);
                int slot = 0;
                EventBatch batch = null;
                SessionEnd end = null;
                while (in.more()) {
                    int tag = in.tag();
                    if (tag == ProtoWire.tag(1, ProtoWire.VARINT)) {
                        slot = (int) in.varint64();
                    } else if (tag == ProtoWire.tag(2, ProtoWire.LENGTH_DELIMITED)) {
                        int len = in.length();
                        batch = events.decode(input.buf, in.pos, in.pos + len);
                        in.pos += len;
                    } else if (tag == ProtoWire.tag(3, ProtoWire.LENGTH_DELIMITED)) {
                        int len = in.length();
                        end = SessionEnd.parseFrom(java.nio.ByteBuffer.wrap(input.buf, in.pos, len));
                        in.pos += len;
                    } else {
                        in.skip(tag);
                    }
                }
                if (end == null && batch == null) {
                    batch = events.decode(input.buf, 0, 0); // an empty batch, as protobuf reads an unset message
                }
                return new Response(slot, batch, end);
            } catch (IOException e) {
                throw Status.INTERNAL.withDescription("invalid SessionResponse").withCause(e).asRuntimeException();
            }
        }
    }
}
