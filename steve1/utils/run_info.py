"""`meta.json` for run directories: git commit, dirty flag, package versions and argv."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from steve1.utils.io import atomic_write_text

_PACKAGES = ("torch", "numpy", "crafter", "gymnasium", "stable-baselines3", "scikit-learn")


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args],
            capture_output=True,
            text=True,
            timeout=10,
            cwd=Path(__file__).resolve().parents[2],
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def run_info(argv: list[str] | None = None) -> dict[str, Any]:
    """What produced a run (never the environment variables)."""
    versions = {}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    status = _git("status", "--porcelain")
    return {
        "git_sha": _git("rev-parse", "HEAD"),
        "git_dirty": bool(status) if status is not None else None,
        "python": platform.python_version(),
        "packages": versions,
        "argv": list(sys.argv if argv is None else argv),
    }


def write_meta(path: Path | str, argv: list[str] | None = None, **extra: Any) -> Path:
    """Write `meta.json` atomically."""
    return atomic_write_text(path, json.dumps({**run_info(argv), **extra}, indent=1, default=str))
