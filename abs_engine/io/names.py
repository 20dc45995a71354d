"""Names from inputs on their way out: into a file or directory name, onto the console, into
a CSV cell. The one place where text a user wrote (a deal, tranche or scenario name, a loan
id) is made safe for each of these (docs/errors.md, "Hostile names").

* :func:`path_component`: one file or directory name that cannot leave the directory it is
  put in (no separators, no ``..``, no control characters, at most 200 bytes).
* :func:`console_text`: text the console prints as written (rich markup such as ``[red]``
  or ``[x2 cdr]`` escaped, control characters such as ESC shown as ``\\x1b``).
* :func:`csv_cell`: text a spreadsheet opening the CSV reads as text, never as a formula
  (the OWASP CSV-injection rule: a leading ``= + - @``, tab or carriage return gets a
  leading apostrophe).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

#: The longest file or directory name written, in UTF-8 bytes (file systems allow 255;
#: room is left for the suffixes of temporary files and term-sheet names).
MAX_COMPONENT_BYTES = 120

_BAD_FILE_CHARS = str.maketrans({c: "_" for c in '<>:"/\\|?*'})

#: First characters that make a spreadsheet treat a cell as a formula (OWASP CSV injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def _control(ch: str) -> bool:
    return unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")


def path_component(text: str, default: str = "deal") -> str:
    """``text`` as one file or directory name that stays inside its directory.

    Path separators and characters Windows forbids become ``_``, control characters ``_``,
    leading and trailing dots and spaces go (so ``..`` and ``.hidden`` cannot be formed);
    a name longer than :data:`MAX_COMPONENT_BYTES` is cut and gets a hash of the whole
    name, so two long names stay distinct. An empty result becomes ``default``.

    >>> path_component("../../../x"), path_component("/etc/passwd"), path_component("..")
    ('_.._.._x', '_etc_passwd', 'deal')
    >>> path_component("深圳 2026-1"), path_component("a\\x00b\\nc")
    ('深圳 2026-1', 'a_b_c')
    >>> len(path_component("x" * 1000).encode())
    120
    """
    s = "".join("_" if _control(ch) else ch for ch in str(text))
    s = s.translate(_BAD_FILE_CHARS).strip(" .")
    if not s:
        return default
    raw = s.encode("utf-8")
    if len(raw) > MAX_COMPONENT_BYTES:
        tag = hashlib.sha256(str(text).encode("utf-8", "surrogatepass")).hexdigest()[:10]
        head = raw[: MAX_COMPONENT_BYTES - len(tag) - 1].decode("utf-8", "ignore").rstrip(" .")
        s = f"{head}-{tag}"
    return s


def console_text(text: object) -> str:
    """``text`` for a rich console (markup on): brackets escaped so that ``[/red]SZ`` and
    ``stress [x2 cdr]`` print as written, control characters (ESC, NUL, newlines inside a
    name) shown as escapes so they cannot move the cursor or forge lines. Never put markup
    right after the result (a trailing backslash of the name would escape it).

    >>> console_text("[/red]SZ"), console_text("a\\x1b[2Jb")
    ('\\\\[/red]SZ', 'a\\\\x1b\\\\[2Jb')
    """
    s = str(text)
    if any(_control(ch) for ch in s):
        s = "".join(ch.encode("unicode_escape").decode("ascii") if _control(ch) else ch for ch in s)
    return _OPEN.sub(_escape_open, s)


#: a run of backslashes and the bracket after it
_OPEN = re.compile(r"(\\*)\[")
#: what makes a bracket a rich tag (rich.markup.RE_TAGS after the bracket)
_TAG = re.compile(r"[a-z#/@][^\[]*?]")


def _escape_open(m: re.Match[str]) -> str:
    """One ``[`` and the ``n`` backslashes before it, as rich shows them literally: before
    a tag, rich reads ``2n+1`` backslashes as ``n`` and an escaped tag; elsewhere it turns
    ``\\[`` into ``[``, so ``n+1`` show as ``n``. Backslashes not before a bracket (a
    trailing one included) are shown as written, so never put markup right after a name."""
    n = len(m.group(1))
    tag = _TAG.match(m.string, m.end()) is not None
    return "\\" * (2 * n + 1 if tag else n + 1) + "["


def csv_cell(text: str) -> str:
    """``text`` as a CSV cell a spreadsheet reads as text (OWASP CSV injection: a cell
    starting with ``= + - @``, tab or carriage return gets a leading apostrophe).
    Numbers are not text and are never changed; a name such as ``-5`` is, and keeps its
    apostrophe (a reader strips it with ``str.removeprefix("'")``).

    >>> csv_cell("=2+2"), csv_cell("@SUM(A1)"), csv_cell("A1"), csv_cell("")
    ("'=2+2", "'@SUM(A1)", 'A1', '')
    """
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text
