"""obsforge/parallel.py: tasks on a real local Dask cluster give what they give inline."""

import numpy as np
import pytest

from obsforge.parallel import Execution, dask_client, map_tasks


@pytest.mark.integration
def test_shared_arguments_reach_every_task_once():
    """``shared`` arrays are scattered to the workers once; each task still sees them, the
    results come back in task order, and inline execution gives the same."""
    values = 2 * np.arange(1_000_000)  # 8 MB: would trigger Dask's large-graph warning per task
    tasks = [{"indices": i} for i in (7, 3, 999_999)]
    inline = map_tasks(None, np.take, tasks, "inline", shared={"a": values})
    with dask_client(Execution(workers=1)) as client:
        remote = map_tasks(client, np.take, tasks, "cluster", shared={"a": values})
    assert inline == remote == [14, 6, 1_999_998]
