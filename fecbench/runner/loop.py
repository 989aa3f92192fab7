"""The run loop in this process: batches of clips through an adapter, each result committed as soon as it exists.

Batches are cut from the planned queue when the prefetcher asks for them, at the generator's
current size, so once ``--batch-size auto`` has backed off, later batches are cut at the size that
fits (and a kill loses at most one such batch).

While the model generates batch k, batches k+1 and k+2 decode in background threads (or wait for
frames decoded ahead, see :mod:`fecbench.runner.decode_ahead`), and once batch k+1 is decoded its
requests are built and handed to the adapter's ``prepare`` hook in another background thread, so
the CPU work of turning frames into model inputs overlaps generation too. ``generate`` later gets
the very same request objects.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from fecbench.runner.batching import BatchGenerator, DecodedBatch, batch_results, missing_video_error
from fecbench.runner.plan import Batch, BatchQueue, PlannedClip
from fecbench.runner.prefetch import prefetched
from fecbench.runner.store import RunStore
from fecbench.runner.thumbs import write_thumbnail
from fecbench.video.decode import SampledFrames


def run_batches(
    queue: BatchQueue,
    generator: BatchGenerator,
    store: RunStore,
    *,
    load_frames: Callable[[Path], SampledFrames],
    decode_workers: int = 2,
    on_progress: Callable[[int, int], None] | None = None,
    thumbs_dir: Path | None = None,
) -> None:
    """Run every queued clip; ``on_progress(done, failed)`` is called after each commit.

    With ``thumbs_dir`` (the run folder), each decoded clip's frames are also written there as a small
    JPEG strip (:mod:`fecbench.runner.thumbs`), in the decoding thread.
    """

    def load(item: PlannedClip) -> SampledFrames:
        if item.path is None:
            raise missing_video_error(item)
        sampled = load_frames(item.path)
        if thumbs_dir is not None:
            write_thumbnail(thumbs_dir, item.clip.id, sampled.frames)
        return sampled

    def next_batch() -> list[PlannedClip] | None:
        batch: Batch | None = queue.take(generator.size)
        return batch.items if batch is not None else None

    def finish(batch: Sequence[PlannedClip], outcomes: list[SampledFrames | Exception]) -> DecodedBatch:
        decoded = generator.decoded(batch, outcomes)
        generator.prepare_ahead(decoded)  # never raises
        return decoded

    for _, decoded in prefetched(iter(next_batch, None), load, finish, workers=decode_workers):
        for results in batch_results(decoded, generator):
            store.record(results)
            if on_progress:
                on_progress(len(results), sum(r.status != "ok" for r in results))
