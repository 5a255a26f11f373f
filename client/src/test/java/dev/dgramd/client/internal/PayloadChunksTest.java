package dev.dgramd.client.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@link PayloadChunks}: where payloads go, when a chunk is reused, and its bound. */
class PayloadChunksTest {

    @Test
    void payloadsFollowEachOtherInAChunkAndTheChunkStartsOverOnceNoneIsHeld() {
        PayloadChunks chunks = new PayloadChunks(4);
        PayloadChunks.Chunk a = chunks.reserve(64);
        assertThat(PayloadChunks.offset(a)).isZero();
        PayloadChunks.Chunk b = chunks.reserve(100);
        assertThat(b).isSameAs(a);
        assertThat(PayloadChunks.offset(b)).isEqualTo(64);
        chunks.release(a);
        assertThat(PayloadChunks.offset(chunks.reserve(10))).as("one still held: no overlap").isEqualTo(164);
        chunks.release(a);
        chunks.release(a);
        PayloadChunks.Chunk again = chunks.reserve(10);
        assertThat(again).isSameAs(a);
        assertThat(PayloadChunks.offset(again)).as("none held: from the start").isZero();
        assertThat(chunks.made()).isEqualTo(1);
    }

    @Test
    void aFullChunkIsLeftAndReusedOnceItsLastPayloadIsReleased() {
        PayloadChunks chunks = new PayloadChunks(2);
        int size = PayloadChunks.MAX_SHARED;
        int perChunk = PayloadChunks.CHUNK_BYTES / size;
        PayloadChunks.Chunk first = null;
        for (int i = 0; i < perChunk; i++) {
            PayloadChunks.Chunk c = chunks.reserve(size);
            assertThat(PayloadChunks.offset(c)).isEqualTo(i * size);
            first = c;
        }
        PayloadChunks.Chunk second = chunks.reserve(size);
        assertThat(second).isNotSameAs(first);
        assertThat(PayloadChunks.offset(second)).isZero();
        for (int i = 0; i < perChunk; i++) {
            chunks.release(first);
        }
        for (int i = 1; i < perChunk; i++) {
            chunks.reserve(size); // fills the second
        }
        PayloadChunks.Chunk third = chunks.reserve(size);
        assertThat(third).as("the first, free again").isSameAs(first);
        assertThat(PayloadChunks.offset(third)).isZero();
        assertThat(chunks.made()).isEqualTo(2);
    }

    @Test
    void largePayloadsAndPayloadsFindingEveryChunkHeldGetNone() {
        PayloadChunks chunks = new PayloadChunks(2);
        assertThat(chunks.reserve(PayloadChunks.MAX_SHARED + 1)).isNull();
        // a held payload in each chunk pins both: the rest must do without
        List<PayloadChunks.Chunk> held = new ArrayList<>();
        int size = PayloadChunks.MAX_SHARED;
        for (int i = 0; i < 2 * PayloadChunks.CHUNK_BYTES / size; i++) {
            held.add(chunks.reserve(size));
        }
        assertThat(held).doesNotContainNull();
        assertThat(chunks.reserve(1)).isNull();
        assertThat(chunks.made()).isEqualTo(2);
        held.forEach(chunks::release);
        assertThat(chunks.reserve(1)).isNotNull();
        assertThat(chunks.made()).isEqualTo(2);
    }
}
