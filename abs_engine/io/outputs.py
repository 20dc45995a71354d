"""Writing outputs: atomically (temp file + rename), reproducibly, with a run manifest."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Iterator
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd


def _default_mode(target: Path) -> int:
    """Permission bits a plain ``open`` would give: the existing target's, else 0o666 less
    the process umask."""
    try:
        return target.stat().st_mode & 0o777
    except FileNotFoundError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` on success,
    delete it on failure, so ``target`` is never half-written."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, _default_mode(target))  # mkstemp makes 0o600 files
        os.replace(tmp_path, target)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_open(target: Path, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO[Any]]:
    """Open a temporary file for writing that replaces ``target`` only when closed cleanly."""
    with atomic_path(target) as tmp, open(tmp, mode, encoding=encoding, newline="" if "b" not in mode else None) as fh:
        yield fh


#: Prefix of the staging directory of a run being written (see :func:`output_set`).
STAGING_PREFIX = ".abs-engine-partial-"
#: The manifest, written last: a directory holds a complete run if and only if it has one.
MANIFEST = "manifest.json"


def _raise_on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def output_set(target: Path) -> Iterator[Path]:
    """Write a run's outputs as one set.

    Yields a staging directory inside ``target``; write every output there. When the block
    ends normally, the old manifest is removed, every staged file is moved into ``target``
    (an atomic rename each) and the manifest last, so a manifest always describes a complete
    set. When the block fails or is interrupted (an exception, Ctrl-C, SIGTERM), the staging
    directory is deleted and ``target`` keeps what it had. A staging directory left by a run
    that was killed outright (SIGKILL, power loss) is deleted by the next run into ``target``
    (one run per output directory at a time).
    """
    target.mkdir(parents=True, exist_ok=True)
    for stale in target.glob(STAGING_PREFIX + "*"):
        shutil.rmtree(stale, ignore_errors=True)
    for stale in target.glob(".*.part"):
        stale.unlink(missing_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=target))
    restore = None
    if threading.current_thread() is threading.main_thread():
        restore = signal.signal(signal.SIGTERM, _raise_on_sigterm)
    try:
        yield stage
        files = sorted((p for p in stage.rglob("*") if p.is_file()), key=lambda p: p.name == MANIFEST)
        (target / MANIFEST).unlink(missing_ok=True)
        for f in files:
            dest = target / f.relative_to(stage)
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(f, dest)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
        if restore is not None:
            signal.signal(signal.SIGTERM, restore)


#: Numbers written to CSV closer to zero than this become 0 (they would print as -0.000000).
CSV_ZERO = 5e-7


def csv_ready(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` as :func:`write_csv` writes it: an infinite number (an unlimited capacity or
    balance) becomes an empty field, and float noise below :data:`CSV_ZERO` becomes 0.

    >>> csv_ready(pd.DataFrame({"x": [float("inf"), -4e-11, 1.5]}))["x"].tolist()
    [nan, 0.0, 1.5]
    """
    floats = [c for c in df.columns if pd.api.types.is_float_dtype(df[c])]
    if not floats:
        return df
    out = df.copy()
    for c in floats:
        x = out[c].to_numpy(dtype=float, copy=True)
        x[np.isinf(x)] = np.nan
        x[np.abs(x) < CSV_ZERO] = 0.0
        out[c] = x
    return out


def write_csv(df: pd.DataFrame, target: Path) -> Path:
    """Write ``df`` as CSV atomically, with a fixed float format so identical inputs give
    byte-identical files; infinite numbers (unlimited) are written as empty fields
    (:func:`csv_ready`; docs/outputs.md)."""
    with atomic_open(target) as fh:
        csv_ready(df).to_csv(fh, index=False, float_format="%.6f", date_format="%Y-%m-%d", lineterminator="\n")
    return target


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


def _version(pkg: str) -> str:
    try:
        return version(pkg)
    except PackageNotFoundError:
        return "not installed"


def manifest_path(path: Path, cwd: Path | None = None) -> str:
    """How the manifest records an input: relative to the working directory of the run
    (``cwd``, default the current one) when it lies inside it, else absolute; normalised,
    with ``/`` separators.

    >>> manifest_path(Path("/work/deals/tapes/../x.yaml"), Path("/work"))
    'deals/x.yaml'
    >>> manifest_path(Path("scenarios/./base.yaml"), Path("/work"))
    'scenarios/base.yaml'
    >>> manifest_path(Path("/elsewhere/d.yaml"), Path("/work"))
    '/elsewhere/d.yaml'
    """
    base = Path(os.path.normpath(cwd if cwd is not None else Path.cwd()))
    p = Path(os.path.normpath(path))
    if p.is_absolute():
        try:
            p = p.relative_to(base)
        except ValueError:
            return p.as_posix()
    return p.as_posix()


def manifest(inputs: dict[str, Path], outputs: list[Path], *, command: list[str], seed: int | None = None,
             excluded: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """What produced a set of outputs: versions, input hashes, output hashes, command.
    Input paths are relative to the working directory of the run (absolute when outside
    it; :func:`manifest_path`), tapes as the deal file locates them. ``excluded``: the loans
    the pools' eligibility dropped (:func:`abs_engine.pools.eligibility.exclusions`), listed
    under ``excluded_assets`` when there are any."""
    extra: dict[str, Any] = {}
    if excluded:
        extra["excluded_assets"] = [{**r, "file": manifest_path(Path(r["file"]))} for r in excluded]
    return {
        **extra,
        "engine": "abs_engine",
        "engine_version": _version("abs_engine"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "libraries": {p: _version(p) for p in ("numpy", "pandas", "QuantLib", "openpyxl", "pydantic", "PyYAML")},
        "inputs": {k: {"path": manifest_path(v), "sha256": sha256(v)} for k, v in inputs.items()},
        "outputs": {p.name: sha256(p) for p in outputs},
        "seed": seed,
        "command": command,
    }


def write_manifest(target: Path, data: dict[str, Any]) -> Path:
    with atomic_open(target) as fh:
        json.dump(data, fh, indent=2, ensure_ascii=False, sort_keys=True)
        fh.write("\n")
    return target
