"""Where scenario work runs: this thread, local threads or processes, or a Dask cluster.

Work is a list of *tasks* (chunks of scenarios or of Monte Carlo paths) and one
*context* (the deal and the assumptions) that every task reads. :func:`run_tasks` calls
``fn(context, task)`` for each task and returns the results in task order, whatever
ran them: the context is sent to each worker once (processes: at start-up; Dask: scattered
to every worker), tasks are small (a seed and a range of path numbers), and each task's
result depends only on the context and the task, so results are identical whatever the
executor, the worker count or the chunk size.

``threads`` is the default: the Cython kernel runs without the GIL and numpy releases it
in its array loops, so threads use the cores without copying the deal. ``processes``
(spawned, so it works the same on every OS) and ``dask`` (``LocalCluster`` or a running
scheduler at ``tcp://host:port``) are for heavier runs.

Ctrl-C while tasks run cancels the tasks not yet started, waits for the running ones (a
task is a small chunk) and re-raises :class:`KeyboardInterrupt`; nothing is written.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import pickle
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import (
    FIRST_COMPLETED,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    wait,
)
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["serial", "threads", "processes", "dask"]
KINDS: tuple[str, ...] = ("serial", "threads", "processes", "dask")

#: Called with the number of units (scenarios, paths) of each finished task.
OnDone = Callable[[int], None]


@dataclass(frozen=True)
class Executor:
    """How to run tasks. ``workers`` defaults to the number of cores; ``scheduler`` is the
    address of a running Dask scheduler (``kind="dask"`` without it starts a LocalCluster)."""

    kind: Kind = "threads"
    workers: int | None = None
    scheduler: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"executor kind must be one of {', '.join(KINDS)} (got {self.kind!r})")
        if self.workers is not None and self.workers < 1:
            raise ValueError(f"workers must be at least 1 (got {self.workers})")

    @property
    def n_workers(self) -> int:
        return self.workers or max(os.cpu_count() or 1, 1)

    def describe(self) -> str:
        if self.kind == "dask":
            return f"dask ({self.scheduler})" if self.scheduler else f"dask LocalCluster ({self.n_workers} workers)"
        if self.kind == "serial":
            return "serial"
        return f"{self.kind} ({self.n_workers} workers)"


class Context:
    """Base of what tasks share; ``token`` names it in the workers' caches."""

    def __init__(self) -> None:
        self.token = uuid.uuid4().hex


# --------------------------------------------------------------------------- worker state

_CONTEXTS: dict[str, Any] = {}
_CACHE: dict[tuple[str, str], Any] = {}
_LOCK = threading.Lock()


def worker_cache(context: Context, name: str, build: Callable[[], Any]) -> Any:
    """What ``build()`` returns, built once per worker process and context (shared by the
    threads of a process)."""
    key = (context.token, name)
    got = _CACHE.get(key)
    if got is not None:
        return got
    with _LOCK:
        got = _CACHE.get(key)
        if got is None:
            got = build()
            _CACHE[key] = got
    return got


def release(context: Context) -> None:
    """Drop what this process cached for ``context``."""
    with _LOCK:
        for key in [k for k in _CACHE if k[0] == context.token]:
            del _CACHE[key]
        _CONTEXTS.pop(context.token, None)


#: How often a worker process checks that its parent is alive (seconds).
PARENT_CHECK_S = 0.5


def _die_with_parent(parent: int) -> None:
    """Make this worker process end when ``parent`` does (killed outright included): on
    Linux the kernel sends SIGKILL when the parent dies (``PR_SET_PDEATHSIG``); everywhere a
    daemon thread checks every :data:`PARENT_CHECK_S` seconds that the parent is still this
    process's parent, and exits at once if not (an orphan is re-parented to init)."""
    if os.getppid() != parent:
        os._exit(1)
    try:  # Linux: the kernel does it the moment the parent dies
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # (the parent died before the call above)
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(PARENT_CHECK_S)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="abs-engine-parent-watch", daemon=True).start()


def _init_process(token: str, payload: bytes, parent: int | None = None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    if parent is not None:
        _die_with_parent(parent)
    _CONTEXTS[token] = pickle.loads(payload)


def _in_process(token: str, fn: Callable[[Any, Any], Any], task: Any) -> Any:
    return fn(_CONTEXTS[token], task)


def _in_dask(context: Any, fn: Callable[[Any, Any], Any], task: Any) -> Any:
    return fn(context, task)


# --------------------------------------------------------------------------- running


def run_tasks(
    fn: Callable[[Any, Any], Any],
    context: Context,
    tasks: Sequence[Any],
    *,
    executor: Executor | None = None,
    units: Sequence[int] | None = None,
    on_done: OnDone | None = None,
) -> list[Any]:
    """``[fn(context, t) for t in tasks]``, run as ``executor`` says (module docstring).

    ``fn`` must be a module-level function (processes and Dask pickle it by name);
    ``units[i]`` (default 1) is what task ``i`` counts for ``on_done`` (a progress bar).
    """
    ex = executor or Executor()
    n = len(tasks)
    units = list(units) if units is not None else [1] * n
    results: list[Any] = [None] * n
    done = on_done or (lambda _k: None)
    if n == 0:
        return results
    if ex.kind == "serial" or (ex.kind == "threads" and (ex.n_workers == 1 or n == 1)):
        for i, t in enumerate(tasks):
            results[i] = fn(context, t)
            done(units[i])
        return results
    if ex.kind == "dask":
        return _run_dask(fn, context, tasks, ex, units, done)
    if ex.kind == "threads":
        pool: Any = ThreadPoolExecutor(max_workers=min(ex.n_workers, n), thread_name_prefix="abs-engine")
        submit = lambda i: pool.submit(fn, context, tasks[i])  # noqa: E731
    else:
        import multiprocessing as mp

        payload = pickle.dumps(context, protocol=pickle.HIGHEST_PROTOCOL)
        pool = ProcessPoolExecutor(max_workers=min(ex.n_workers, n), mp_context=mp.get_context("spawn"),
                                   initializer=_init_process, initargs=(context.token, payload, os.getpid()))
        submit = lambda i: pool.submit(_in_process, context.token, fn, tasks[i])  # noqa: E731
    futures: dict[Future[Any], int] = {}
    try:
        # keep at most two tasks per worker queued: a Ctrl-C leaves little to wait for
        pending = iter(range(n))
        for i in list(itertools.islice(pending, 2 * ex.n_workers)):
            futures[submit(i)] = i
        while futures:
            finished, _ = wait(list(futures), return_when=FIRST_COMPLETED)
            for f in finished:
                i = futures.pop(f)
                results[i] = f.result()
                done(units[i])
                nxt = next(pending, None)
                if nxt is not None:
                    futures[submit(nxt)] = nxt
    except BaseException:
        for f in futures:
            f.cancel()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return results


#: Seconds allowed to reach a Dask scheduler and to hear its greeting.
CONNECT_TIMEOUT_S = 5.0
#: The largest greeting a Dask scheduler sends (a handshake of a few hundred bytes).
_MAX_GREETING = 1 << 20


def parse_scheduler(address: str) -> tuple[str, int]:
    """``tcp://host:port`` (or ``host:port``) -> (host, port); ValueError with the reason.

    >>> parse_scheduler("tcp://127.0.0.1:8786"), parse_scheduler("[::1]:8786")
    (('127.0.0.1', 8786), ('::1', 8786))
    """
    import re

    rest = address.strip()
    scheme, sep, tail = rest.partition("://")
    if sep:
        if scheme != "tcp":
            raise ValueError(f"unsupported scheme '{scheme}://' (give tcp://host:port)")
        rest = tail
    m = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\]:(\d{1,5})|([A-Za-z0-9._-]+):(\d{1,5})", rest)
    if not m:
        raise ValueError("not an address of the form tcp://host:port")
    host = m.group(1) or m.group(3)
    port = int(m.group(2) or m.group(4))
    if not 1 <= port <= 65535:
        raise ValueError(f"port {port} is not between 1 and 65535")
    return host, port


def check_scheduler(address: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Raise :class:`~abs_engine.errors.InputError` unless a Dask scheduler answers at
    ``address`` within ``timeout`` seconds: a Dask scheduler greets a new connection with a
    handshake frame (an 8-byte length, then that many bytes), so a closed port, a host that
    does not answer, a server that says nothing (plain HTTP waits for a request) or one that
    answers with something else (a length in the exabytes) is told apart in seconds, before
    the Dask client would hang or allocate the length it read."""
    import socket
    import struct

    from ..errors import InputError

    def fail(reason: str) -> InputError:
        return InputError.single("", "--scheduler", f"no Dask scheduler at '{address}': {reason}")

    try:
        host, port = parse_scheduler(address)
    except ValueError as exc:
        raise fail(str(exc)) from None
    try:
        conn = socket.create_connection((host, port), timeout=timeout)
    except TimeoutError:
        raise fail(f"no answer within {timeout:g} s") from None
    except OSError as exc:
        raise fail(exc.strerror or str(exc)) from None
    with conn:
        conn.settimeout(timeout)
        head = b""
        try:
            while len(head) < 8:
                got = conn.recv(8 - len(head))
                if not got:
                    raise fail("it closed the connection without a Dask handshake")
                head += got
        except TimeoutError:
            raise fail(f"it accepted the connection but sent no Dask handshake within {timeout:g} s "
                       "(not a Dask scheduler?)") from None
        except OSError as exc:
            raise fail(exc.strerror or str(exc)) from None
    (n,) = struct.unpack("<Q", head)
    if not 0 < n <= _MAX_GREETING:
        raise fail(f"it answered {head!r}, not a Dask handshake (not a Dask scheduler?)")


#: The environment of the LocalCluster's worker processes, set before they start (Dask's
#: ``distributed.nanny.pre-spawn-environ``; a variable set in the calling process wins).
#: Dask's default ``MALLOC_TRIM_THRESHOLD_=65536``, like any explicit threshold, also freezes
#: glibc's mmap threshold at 128 KiB, so every temporary array of a projection (megabytes)
#: is mapped and page-faulted afresh: a serial Monte Carlo block of 10,000 loans took 1.43 M
#: minor faults and 3.1 s of system time for 256 paths, 5.3 k and 0.01 s with these values
#: (memory above 64 MiB free at the top of the heap is still returned to the system).
WORKER_ENVIRON = {"MALLOC_TRIM_THRESHOLD_": str(64 << 20), "MALLOC_MMAP_THRESHOLD_": str(32 << 20)}


@contextlib.contextmanager
def dask_client(ex: Executor, preload: Sequence[str] = ()) -> Iterator[Any]:
    """A Dask client: to the scheduler at ``ex.scheduler``, or to a LocalCluster of
    ``ex.n_workers`` single-threaded worker processes started (and closed) here, with
    :data:`WORKER_ENVIRON` and the modules ``preload`` imported as each worker starts
    (the engine's import then overlaps the cluster's start instead of delaying the first task)."""
    import dask
    from distributed import Client, LocalCluster

    if ex.scheduler:
        check_scheduler(ex.scheduler)
        try:
            client = Client(ex.scheduler, timeout=f"{2 * CONNECT_TIMEOUT_S:g}s")
        except (OSError, TimeoutError, MemoryError, ValueError) as exc:
            from ..errors import InputError

            raise InputError.single("", "--scheduler", f"no Dask scheduler at '{ex.scheduler}': {exc}") from None
        try:
            yield client
        finally:
            client.close()
        return
    # dashboard on a random port: clusters started side by side (test workers) never collide
    environ = {**dask.config.get("distributed.nanny.pre-spawn-environ", {}), **WORKER_ENVIRON}
    with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}):
        cluster = LocalCluster(n_workers=ex.n_workers, threads_per_worker=1, processes=True,
                               dashboard_address=":0", silence_logs=logging.ERROR, preload=list(preload))
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def _run_dask(fn: Callable[[Any, Any], Any], context: Context, tasks: Sequence[Any], ex: Executor,
              units: list[int], done: OnDone) -> list[Any]:
    from distributed import as_completed

    results: list[Any] = [None] * len(tasks)
    with dask_client(ex, preload=[fn.__module__]) as client:
        ctx = client.scatter(context, broadcast=True, hash=False)
        futures = [client.submit(_in_dask, ctx, fn, t, pure=False, key=f"abs-engine-{context.token}-{i}")
                   for i, t in enumerate(tasks)]
        index = {f.key: i for i, f in enumerate(futures)}
        try:
            for f in as_completed(futures):
                i = index[f.key]
                results[i] = f.result()
                done(units[i])
        except BaseException:
            client.cancel(futures)
            raise
    return results


# --------------------------------------------------------------------------- progress


@contextlib.contextmanager
def progress_bar(total: int, what: str, *, enabled: bool = True, console: Any = None) -> Iterator[OnDone]:
    """A rich progress bar on stderr counting ``what`` (e.g. ``paths``) and their rate per
    second; yields the callback to report finished units."""
    if not enabled:
        yield lambda _k: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    start = time.perf_counter()
    progress = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
        console=console or Console(stderr=True), transient=False,
    )
    with progress:
        task = progress.add_task(what, total=total, rate="")

        def on_done(k: int) -> None:
            elapsed = max(time.perf_counter() - start, 1e-9)
            completed = progress.tasks[0].completed + k
            progress.update(task, advance=k, rate=f"{completed / elapsed:,.0f} {what}/s")

        yield on_done
