"""The environment of the Dask workers the engine starts (docs/performance.md): glibc's
malloc thresholds that keep a projection's temporaries from being mapped afresh each time,
and the task's module imported as the worker starts."""

from __future__ import annotations

import os
import sys

from abs_engine.studies.executors import WORKER_ENVIRON, Executor, dask_client


def _worker_view() -> tuple[dict[str, str | None], bool]:
    return ({k: os.environ.get(k) for k in WORKER_ENVIRON}, "abs_engine.studies.sweep" in sys.modules)


def test_local_cluster_workers_get_the_malloc_settings_and_the_preloaded_module():
    assert int(WORKER_ENVIRON["MALLOC_MMAP_THRESHOLD_"]) >= 8 << 20  # above a block's temporaries
    with dask_client(Executor("dask", workers=2), preload=["abs_engine.studies.sweep"]) as client:
        seen = client.run(_worker_view)
    assert len(seen) == 2
    for env, preloaded in seen.values():
        assert env == WORKER_ENVIRON
        assert preloaded
