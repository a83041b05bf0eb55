"""Environment-variable switches of the VPT fast paths (read when a model or agent is built)."""

from __future__ import annotations

import os

_TRUE, _FALSE = {"1", "true", "yes"}, {"0", "false", "no"}


def env_flag(name: str, default: bool) -> bool:
    """`name` from the environment as a boolean: 1/true/yes or 0/false/no (any case); anything
    else, or unset, gives `default`."""
    value = os.environ.get(name, "").strip().lower()
    return True if value in _TRUE else False if value in _FALSE else default
