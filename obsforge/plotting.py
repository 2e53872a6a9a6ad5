"""House plotting style (mplhep) and figure output as PNG + PDF, written atomically."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import mplhep  # noqa: E402

from obsforge.atomic import atomic_path  # noqa: E402

__all__ = ["new_figure", "save_figure"]


def new_figure(**kwargs):
    """A figure and axes in the house style (mplhep's CMS-like defaults, no experiment label)."""
    plt.style.use(mplhep.style.ROOT)
    return plt.subplots(**kwargs)


def save_figure(fig, stem: str | Path) -> list[Path]:
    """Save ``fig`` as ``stem.png`` and ``stem.pdf`` (atomically) and close it."""
    paths = []
    for suffix in (".png", ".pdf"):
        path = Path(f"{stem}{suffix}")  # append: a stem may contain dots (m172.5)
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=150, bbox_inches="tight")
        paths.append(path)
    plt.close(fig)
    return paths
