"""Atomic file output: write to a temporary file in the same folder, then rename.

An interrupted run therefore never leaves a half-written result under its final name.
Torch files are written and read as plain data only (state dicts, tensors, numbers, strings,
lists and dicts): :func:`load_weights` refuses any file that would run code when unpickled,
so a model planted in a run folder is rejected, not executed.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# mkstemp creates files readable by the owner only; results get the usual umask-based mode.
_UMASK = os.umask(0)
os.umask(_UMASK)
FILE_MODE = 0o666 & ~_UMASK

__all__ = [
    "UnsafeFileError",
    "atomic_path",
    "atomic_torch_save",
    "atomic_write_json",
    "atomic_write_text",
    "atomic_write_with",
    "load_weights",
    "sha256_file",
]


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success rename it onto ``path``.

    The temporary name is hidden (leading dot) and ends in ``.part<suffix>``, so writers that
    look at the extension (matplotlib, parquet) pick the right format. On an exception the
    temporary file is removed and the final name is never touched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=f".part{path.suffix}", dir=path.parent
    )
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, FILE_MODE)
        os.replace(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically and return the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def atomic_write_json(path: str | Path, data: Any) -> Path:
    """Write ``data`` as indented, key-sorted JSON atomically."""
    return atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def atomic_write_with(path: str | Path, writer: Callable[[Path], None]) -> Path:
    """Call ``writer(tmp_path)`` and rename the result onto ``path`` when it returns."""
    with atomic_path(path) as tmp:
        writer(tmp)
    return Path(path)


def sha256_file(path: str | Path, block: int = 1 << 20) -> str:
    """SHA-256 hex digest of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(block):
            digest.update(chunk)
    return digest.hexdigest()


class UnsafeFileError(ValueError):
    """A torch file holds more than weights and plain data (it would execute code if loaded)."""


def atomic_torch_save(path: str | Path, data: Any) -> Path:
    """``torch.save(data)`` to ``path`` atomically and bit-reproducibly.

    The bytes go through a buffer: a file name given to ``torch.save`` ends up inside the
    archive, and the temporary name is random.
    """
    import torch

    buffer = io.BytesIO()
    torch.save(data, buffer)
    with atomic_path(path) as tmp:
        tmp.write_bytes(buffer.getvalue())
    return Path(path)


def load_weights(path: str | Path, map_location: Any = "cpu") -> Any:
    """Load a torch file of weights and plain data (``weights_only=True``): never runs code.

    A pickle that would build arbitrary objects or call functions raises
    :class:`UnsafeFileError` naming the file.
    """
    import pickle

    import torch

    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UnsafeFileError(
            f"{path}: refused to load, it holds more than weights and plain data ({first}); "
            "delete it and rerun to regenerate it"
        ) from None
