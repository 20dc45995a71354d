"""Reading input files with bounds: the one place where a deal, scenario, curve or tape file
is opened (docs/errors.md, "Size limits").

A special file is refused before it is opened (a FIFO would block the reader forever, a
device such as ``/dev/zero`` never ends); every read stops one byte past its limit, so a file
whose size the file system does not report (``/proc`` files, pipes) is bounded too; an
``.xlsx`` workbook is checked for its uncompressed size before it is parsed.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ..errors import InputError

#: The most bytes of a tape file read (CSV bytes or the compressed .xlsx).
MAX_TAPE_BYTES = 1 << 30
#: The most bytes the parts of an .xlsx tape may unpack to (a zip bomb unpacks to far more).
MAX_XLSX_UNCOMPRESSED = 1 << 30


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def resolved(path: Path) -> Path:
    """``path`` made absolute with its links followed, never raising: a link loop or an
    unreadable directory leaves the rest as written, and the reader then says what is wrong
    (``Path.resolve`` raises RuntimeError on a loop)."""
    return Path(os.path.realpath(path))


def check_regular(path: Path, what: str) -> None:
    """Raise :class:`InputError` unless ``path`` is an existing regular file (or its
    status cannot be read: the reader reports why)."""
    name = str(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise InputError.single(name, "", f"{what} file not found") from None
    except (OSError, ValueError):
        return
    if stat.S_ISDIR(st.st_mode):
        raise InputError.single(name, "", f"is a directory, expected a {what} file")
    if not stat.S_ISREG(st.st_mode):
        raise InputError.single(name, "", f"is {_kind(st.st_mode)}, expected a {what} file")


def read_bounded(path: Path, what: str, limit: int) -> bytes:
    """The bytes of the regular file ``path``; an :class:`InputError` (without a field
    path) if it is missing, a directory, a special file, unreadable, or longer than
    ``limit`` bytes (read stops at ``limit + 1`` bytes whatever ``stat`` says)."""
    name = str(path)
    try:
        try:
            st = os.stat(path)
        except FileNotFoundError:
            raise InputError.single(name, "", f"{what} file not found") from None
        if stat.S_ISDIR(st.st_mode):
            raise InputError.single(name, "", f"is a directory, expected a {what} file")
        if not stat.S_ISREG(st.st_mode):
            raise InputError.single(name, "", f"is {_kind(st.st_mode)}, expected a {what} file")
        if st.st_size > limit:
            raise InputError.single(name, "", f"file is {st.st_size} bytes; {what} files are limited to {limit}")
        # O_NONBLOCK: should the file have been swapped for a FIFO since the stat, the open
        # does not wait for a writer
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                raise InputError.single(name, "", f"is {_kind(os.fstat(fh.fileno()).st_mode)}, expected a {what} file")
            data = fh.read(limit + 1)
    except (OSError, ValueError) as exc:  # name too long, NUL in the name, no permission...
        raise InputError.single(name, "", f"cannot read the {what} file: {getattr(exc, 'strerror', None) or exc}") from None
    if len(data) > limit:
        raise InputError.single(name, "", f"file is more than {limit} bytes; {what} files are limited to {limit}")
    return data


def check_xlsx_size(data: bytes, name: str) -> None:
    """Refuse an .xlsx workbook (a zip archive) whose parts unpack to more than
    :data:`MAX_XLSX_UNCOMPRESSED` bytes (checked on the archive's directory, before
    anything is unpacked)."""
    import io
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            total = sum(i.file_size for i in zf.infolist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise InputError.single(name, "", f"cannot read Excel file: not an .xlsx workbook ({exc})") from None
    if total > MAX_XLSX_UNCOMPRESSED:
        raise InputError.single(name, "", f"the workbook unpacks to {total:,} bytes; .xlsx tapes are limited to "
                                f"{MAX_XLSX_UNCOMPRESSED:,} (save the tape as CSV)")
