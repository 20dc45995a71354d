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
#: A staging directory that nobody holds a lock on is left alone unless it is older than
#: this (seconds): it may be one that another run is creating right now.
_STAGE_GRACE_S = 3600.0
#: Made in a staging directory by its run once it holds the lock on it.
_OWNER_MARK = ".owner"


def _raise_on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def check_output_dir(target: Path, option: str = "--out") -> None:
    """Raise :class:`~abs_engine.errors.InputError` if a run's outputs could not be
    written to the directory ``target``: checked before the work starts, so a run never
    computes everything and then loses it (a NUL byte or a name too long, a file or a
    device where the directory should be, a directory that cannot be created or written).
    Nothing is created: the nearest existing directory is probed with a temporary
    directory, removed at once."""
    from ..errors import InputError

    def fail(reason: str) -> InputError:
        return InputError.single("", option, f"cannot write the outputs to '{target}': {reason}")

    text = str(target)
    if "\x00" in text:
        raise fail("the path contains a NUL byte")
    if not text.strip():
        raise fail("the path is empty")
    for part in target.parts:
        if len(os.fsencode(part)) > 255:
            raise fail(f"a name in the path is longer than 255 bytes ({len(os.fsencode(part))})")
    if len(os.fsencode(os.path.abspath(target))) > 4000:
        raise fail("the path is too long")
    probe = Path(os.path.abspath(target))
    missing = 0
    try:
        while not probe.exists() and not probe.is_symlink():
            probe, missing = probe.parent, missing + 1
        st = probe.stat()
    except OSError as exc:
        raise fail(_reason(exc)) from None
    import stat as _stat

    if not _stat.S_ISDIR(st.st_mode):
        what = "a file" if _stat.S_ISREG(st.st_mode) else "a device or special file, not a directory"
        where = "it is" if missing == 0 else f"'{probe}' is"
        raise fail(f"{where} {what}")
    try:
        tempfile.TemporaryDirectory(prefix=STAGING_PREFIX + "probe-", dir=probe).cleanup()
    except OSError as exc:
        raise fail(f"cannot create files in '{probe}' ({_reason(exc)})") from None


def _try_lock(directory: Path) -> int | None:
    """An exclusive, non-blocking flock on ``directory`` itself (no lock file is left
    behind): its descriptor, or None if another process holds it."""
    import fcntl

    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """Hold an exclusive flock on ``directory`` (waiting for it) for the block."""
    import fcntl

    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # (closing releases the lock)


def _remove_abandoned_stages(target: Path) -> None:
    """Delete the staging directories of runs that are gone (killed outright): only
    directories with the staging prefix that no live run holds a lock on and that are not
    being created right now (a run locks its staging directory as soon as it has made it;
    one found unlocked is deleted only if a second look, after taking it, still finds it
    unlocked and it is either older than :data:`_STAGE_GRACE_S` or was locked once, i.e.
    has the owner mark). A running run's directory is never touched."""
    import time

    for stale in target.glob(STAGING_PREFIX + "*"):
        if stale.is_symlink() or not stale.is_dir():
            continue
        try:
            fd = _try_lock(stale)
        except OSError:
            continue
        if fd is None:
            continue  # its run is alive
        try:
            owned = (stale / _OWNER_MARK).exists()
            if owned or time.time() - stale.stat().st_mtime > _STAGE_GRACE_S:
                shutil.rmtree(stale, ignore_errors=True)
        except OSError:
            pass
        finally:
            os.close(fd)


def _listed_outputs(manifest_file: Path) -> list[str]:
    """The output file names an existing manifest lists (plain names only)."""
    try:
        data = json.loads(manifest_file.read_text(encoding="utf-8"))
        names = list(data.get("outputs", {}))
    except (OSError, ValueError, AttributeError):
        return []
    return [n for n in names if isinstance(n, str) and n == Path(n).name and n not in ("", ".", "..", MANIFEST)]


@contextlib.contextmanager
def output_set(target: Path) -> Iterator[Path]:
    """Write a run's outputs as one set.

    Yields a staging directory inside ``target`` that belongs to this run (it holds a lock
    on it while it runs); write every output there. When the block ends normally, under
    ``target``'s lock: the files the old manifest listed that this run does not write
    again are removed (outputs of an earlier run of the same kind), the old manifest is
    removed, every staged file is moved into ``target`` (an atomic rename each) and the
    manifest last, so a manifest always describes a complete set. When the block fails or
    is interrupted (an exception, Ctrl-C, SIGTERM), the staging directory is deleted and
    ``target`` keeps what it had. Files the engine did not create are never touched; a
    staging directory left by a run that was killed outright (SIGKILL, power loss) is
    deleted by a later run, never one of a run still going (runs into one directory
    may overlap: each has its own staging directory, the last to finish wins).
    """
    from ..errors import InputError

    try:
        target.mkdir(parents=True, exist_ok=True)
        _remove_abandoned_stages(target)
        stage = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=target))
        owner = _try_lock(stage)
        (stage / _OWNER_MARK).touch()  # locked once: unlocked later means its run is gone
    except OSError as exc:
        raise InputError.single("", "--out", f"cannot write the outputs to '{target}': {_reason(exc)}") from None
    restore = None
    if threading.current_thread() is threading.main_thread():
        restore = signal.signal(signal.SIGTERM, _raise_on_sigterm)
    try:
        try:
            yield stage
        except OSError as exc:  # disk full, a file system that refuses a name...
            raise InputError.single("", "--out", f"cannot write the outputs to '{target}': {_reason(exc)}") from None
        files = sorted((p for p in stage.rglob("*") if p.is_file() and p.name != _OWNER_MARK),
                       key=lambda p: p.name == MANIFEST)
        with _locked(target):
            new = {f.relative_to(stage).as_posix() for f in files}
            for name in _listed_outputs(target / MANIFEST):
                old = target / name
                if name not in new and old.is_file() and not old.is_symlink():
                    old.unlink(missing_ok=True)
            (target / MANIFEST).unlink(missing_ok=True)
            try:
                for f in files:
                    dest = target / f.relative_to(stage)
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(f, dest)
            except OSError as exc:
                raise InputError.single("", "--out", f"cannot write the outputs to '{target}': {_reason(exc)}") from None
    finally:
        shutil.rmtree(stage, ignore_errors=True)
        if owner is not None:
            os.close(owner)
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


def csv_text_safe(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with every text cell a spreadsheet would read as a formula escaped
    (:func:`abs_engine.io.names.csv_cell`, the OWASP CSV-injection rule): names come from
    inputs, and a desk opens CSV files in Excel. Column names are escaped too.

    >>> csv_text_safe(pd.DataFrame({"tranche": ["=2+2", "A"], "x": [1.0, -2.0]})).to_dict("list")
    {'tranche': ["'=2+2", 'A'], 'x': [1.0, -2.0]}
    """
    from .names import csv_cell

    text = [c for c in df.columns if df[c].dtype == object or pd.api.types.is_string_dtype(df[c])]
    cols = [csv_cell(c) if isinstance(c, str) else c for c in df.columns]
    if not text and cols == list(df.columns):
        return df
    out = df.copy()
    for c in text:
        out[c] = [csv_cell(v) if isinstance(v, str) else v for v in out[c].tolist()]
    out.columns = cols
    return out


def write_csv(df: pd.DataFrame, target: Path) -> Path:
    """Write ``df`` as CSV atomically, with a fixed float format so identical inputs give
    byte-identical files; infinite numbers (unlimited) are written as empty fields
    (:func:`csv_ready`; docs/outputs.md); text that a spreadsheet would run as a formula
    gets a leading apostrophe (:func:`csv_text_safe`)."""
    import csv

    safe = csv_text_safe(csv_ready(df))
    # the writer quotes a field holding "\n" but not one holding a lone "\r" (not in the line
    # terminator), which would split the row when read: then every text field is quoted
    text = [c for c in safe.columns if safe[c].dtype == object or pd.api.types.is_string_dtype(safe[c])]
    stray_cr = any("\r" in v for c in text for v in safe[c].tolist() if isinstance(v, str)) or \
        any("\r" in str(c) for c in safe.columns)
    quoting = csv.QUOTE_NONNUMERIC if stray_cr else csv.QUOTE_MINIMAL
    with atomic_open(target) as fh:
        safe.to_csv(fh, index=False, float_format="%.6f", date_format="%Y-%m-%d", lineterminator="\n", quoting=quoting)
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
    the pools' eligibility dropped (:func:`abs_engine.eligibility.exclusions`), listed
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
