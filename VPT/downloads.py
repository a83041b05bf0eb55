"""Which official files `downloads.sh` fetches, so that a missing one is reported with its fix.

`downloads.sh` is the one list of official files (VPT, MineCLIP, STEVE-1): one `entry NAME PATH
CHECK URL "purpose"` line each. This module reads those lines instead of keeping a second list, so
that an error about a missing file can name the path expected and the very line that fetches it.
It lives in `VPT/` because VPT's `.model`/`.weights` readers use it and `VPT/` imports nothing from
the rest of the project; every other package may import it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DOWNLOADS_SH = REPO_ROOT / "downloads.sh"
_ENTRY = re.compile(r"^entry\s+(?P<name>\S+)\s+(?P<path>\S+)\s+(?P<check>\S+)\s")


class MissingDownloadError(FileNotFoundError):
    """A file is missing; for an official file the message says how `downloads.sh` fetches it."""


@dataclass(frozen=True)
class Download:
    """One `entry` line of `downloads.sh`: the file's name, its path (relative to the repository
    root), its check, and the line itself with its number."""

    name: str
    path: str
    check: str
    lineno: int
    line: str


def official_downloads(script: str | os.PathLike = DOWNLOADS_SH) -> list[Download]:
    """The `entry` lines of `downloads.sh` (empty when the script is absent, e.g. an installed
    copy of the package without the repository)."""
    try:
        lines = Path(script).read_text().splitlines()
    except OSError:
        return []
    found = []
    for lineno, line in enumerate(lines, start=1):
        match = _ENTRY.match(line)
        if match:
            found.append(Download(**match.groupdict(), lineno=lineno, line=line.strip()))
    return found


def _spellings(path: str | os.PathLike) -> set[str]:
    """`path` relative to the repository root and to the working directory, normalised."""
    path = Path(path)
    absolute = path if path.is_absolute() else Path.cwd() / path
    names = {os.path.normpath(path).replace(os.sep, "/")}
    for base in (REPO_ROOT, Path.cwd()):
        names.add(os.path.relpath(absolute, base).replace(os.sep, "/"))
    return names


def download_for(
    path: str | os.PathLike, script: str | os.PathLike = DOWNLOADS_SH
) -> Download | None:
    """The `downloads.sh` entry that writes `path`, if any."""
    names = _spellings(path)
    return next((d for d in official_downloads(script) if d.path in names), None)


def download_hint(path: str | os.PathLike, script: str | os.PathLike = DOWNLOADS_SH) -> str | None:
    """How to get `path` when it is an official file (None otherwise): the command to run and the
    line of `downloads.sh` that fetches it."""
    entry = download_for(path, script)
    if entry is None:
        return None
    return (
        f"It is an official file: run `bash downloads.sh {entry.name}` from the repository root "
        f"(or `bash downloads.sh` for all of them). It is fetched by this line of downloads.sh:\n"
        f"  downloads.sh:{entry.lineno}: {entry.line}"
    )


def require_file(path: str | os.PathLike, what: str = "file") -> Path:
    """`path` if it is a file, else `MissingDownloadError` naming it (and, for an official file,
    the `downloads.sh` line that fetches it)."""
    path = Path(path)
    if path.is_file():
        return path
    hint = download_hint(path)
    raise MissingDownloadError(f"{what} not found: {path}." + (f" {hint}" if hint else ""))
