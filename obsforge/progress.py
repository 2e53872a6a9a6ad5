"""Progress bars for long work (tqdm); silent when output is not a terminal."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm.auto import tqdm

__all__ = ["progress"]

T = TypeVar("T")


def progress(iterable: Iterable[T], desc: str, total: int | None = None) -> Iterator[T]:
    """Iterate over ``iterable`` with a progress bar labelled ``desc``."""
    yield from tqdm(iterable, desc=desc, total=total, unit="task", dynamic_ncols=True, disable=None)
