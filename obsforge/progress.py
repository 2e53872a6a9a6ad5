"""Progress bars for long work (tqdm); silent when output is not a terminal."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

import numpy as np
from tqdm.auto import tqdm

__all__ = ["PROGRESS_TOPIC", "FitProgress", "progress", "worker_progress"]

log = logging.getLogger(__name__)

T = TypeVar("T")


def progress(iterable: Iterable[T], desc: str, total: int | None = None) -> Iterator[T]:
    """Iterate over ``iterable`` with a progress bar labelled ``desc``."""
    yield from tqdm(iterable, desc=desc, total=total, unit="task", dynamic_ncols=True, disable=None)


PROGRESS_TOPIC = "obsforge-pdffit-progress"


class FitProgress:
    """The live line of a fit: epoch, median training chi2/N, replicas stopped (no validation
    improvement for ``patience`` epochs), elapsed time, and the time the fit takes if it
    stops at the earliest epoch it can (the last improvement + ``patience``, at most
    ``max_epochs``; it moves out while replicas still improve). Batches of replicas
    (Dask tasks) report their rows here; the line shows the slowest batch. On a terminal it
    is a progress bar; otherwise one plain line on stderr per minute."""

    def __init__(self, max_epochs: int, replicas: int, interval: float = 60.0) -> None:
        from tqdm.auto import tqdm

        self.replicas, self.interval = replicas, interval
        self.rows: dict[int, dict[str, float]] = {}
        self.start = self.last_line = time.monotonic()
        self.live = sys.stderr.isatty()
        self.bar = tqdm(total=max_epochs, desc="pdffit", unit="epoch", disable=not self.live)

    def batch(self, index: int):
        """The ``progress`` callback of replica batch ``index``."""
        return lambda row: self.update({"batch": index, **row})

    def update(self, row: dict[str, float]) -> None:
        self.rows[int(row.get("batch", 0))] = row
        rows = list(self.rows.values())
        epoch = min(r["epoch"] for r in rows) + 1
        last = max(r["last_epoch"] for r in rows)
        elapsed = time.monotonic() - self.start
        projected = elapsed * max(last, epoch) / epoch
        text = (
            f"median chi2/N {np.median([r['chi2_train_median'] for r in rows]):.3f}, "
            f"{sum(r['replicas_stalled'] for r in rows)}/{self.replicas} stopped, "
            f"{_clock(elapsed)} elapsed, ~{_clock(projected)} in all if it stops at epoch {last}"
        )
        self.bar.update(epoch - self.bar.n)
        self.bar.set_postfix_str(text, refresh=True)
        log.info("epoch %d: %s", epoch, text)
        if not self.live and time.monotonic() - self.last_line >= self.interval:
            self.last_line = time.monotonic()
            print(f"pdffit epoch {epoch}: {text}", file=sys.stderr, flush=True)

    def close(self) -> None:
        self.bar.close()


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}:{secs:02d}"


def worker_progress(batch: int):
    """On a Dask worker: a callback that sends rows to the client (``log_event``)."""
    try:
        from distributed import get_worker

        worker = get_worker()
    except (ImportError, ValueError):  # not on a worker
        return None
    return lambda row: worker.log_event(PROGRESS_TOPIC, {"batch": batch, **row})
