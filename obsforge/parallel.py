"""Parallel execution with Dask.

The default is a ``LocalCluster`` with one single-threaded worker process per core. Passing a
scheduler address (``--scheduler tcp://host:port``) sends the same tasks to an existing Dask
cluster -- e.g. one started by ``dask-jobqueue`` on a batch system -- with no code change.
``workers=0`` runs the tasks in the calling process, one after the other (for debugging).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from pydantic import Field, field_validator

from obsforge.config import MAX_TASKS, Config, ConfigError, UserError
from obsforge.progress import progress

__all__ = ["Execution", "chunk_sizes", "dask_client", "map_tasks"]


SCHEDULER_ADDRESS = re.compile(r"(tcp|tls|ws|wss|ucx)://[^\s/:]+:[0-9]{1,5}/?")


class Execution(Config):
    """Where the tasks of a stage run."""

    scheduler: str | None = Field(None, description="address of an existing Dask scheduler")
    workers: int | None = Field(
        None, ge=0, description="local worker processes (default: one per core; 0 = inline)"
    )
    connect_timeout: float = Field(10.0, gt=0, description="seconds to reach a scheduler")

    @field_validator("scheduler")
    @classmethod
    def _address(cls, address: str | None) -> str | None:
        if address is not None and not SCHEDULER_ADDRESS.fullmatch(address):
            raise ValueError(
                "not a Dask scheduler address; allowed: PROTOCOL://HOST:PORT with PROTOCOL "
                "one of tcp, tls, ws, wss, ucx (e.g. tcp://10.0.0.5:8786)"
            )
        return address


def chunk_sizes(total: int, chunk: int) -> list[int]:
    """Split ``total`` items into tasks of ``chunk`` (the last one holds the remainder).

    >>> chunk_sizes(25, 10)
    [10, 10, 5]

    More than :data:`~obsforge.config.MAX_TASKS` tasks is refused (the plan is held in memory).
    """
    if -(-total // chunk) > MAX_TASKS:
        raise ConfigError(
            f"{total} items in chunks of {chunk} is {-(-total // chunk)} tasks; at most "
            f"{MAX_TASKS} are allowed: raise the chunk size or lower the count"
        )
    return [chunk] * (total // chunk) + ([total % chunk] if total % chunk else [])


@contextmanager
def dask_client(execution: Execution) -> Iterator[Any]:
    """A Dask client for ``execution``, or ``None`` for inline execution."""
    if execution.scheduler is None and execution.workers == 0:
        yield None
        return
    from distributed import Client, LocalCluster

    if execution.scheduler is not None:
        try:
            client = Client(execution.scheduler, timeout=execution.connect_timeout)
        except (OSError, TimeoutError) as exc:
            raise UserError(
                f"--scheduler {execution.scheduler}: no Dask scheduler answered within "
                f"{execution.connect_timeout:g} s ({type(exc).__name__}); start one with "
                "`dask scheduler` or omit --scheduler for a local cluster"
            ) from None
        with client:
            yield client
        return
    n_workers = execution.workers or os.cpu_count() or 1
    with (
        LocalCluster(
            n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def map_tasks(
    client: Any,
    function: Callable[..., Any],
    tasks: Sequence[dict[str, Any]],
    desc: str,
    shared: dict[str, Any] | None = None,
) -> list[Any]:
    """Run ``function(**shared, **task)`` for every task, with a progress bar; results in task
    order. ``shared`` arguments (large arrays every task needs) go to the workers once, not
    once per task."""
    shared = shared or {}
    if not tasks:
        return []
    if client is None:
        return [function(**shared, **task) for task in progress(tasks, desc, total=len(tasks))]
    from distributed import as_completed

    # scatter([value])[0]: a dict or list value is sent as one object, not element by element
    handles = {name: client.scatter([value], broadcast=True)[0] for name, value in shared.items()}
    futures = [client.submit(function, pure=False, **handles, **task) for task in tasks]
    index = {future.key: i for i, future in enumerate(futures)}
    results: list[Any] = [None] * len(futures)
    for future in progress(as_completed(futures), desc, total=len(futures)):
        results[index[future.key]] = future.result()
    return results
