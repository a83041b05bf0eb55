"""OpenAI contractor recordings (`.jsonl`) to MineRL actions, one per video frame.

Line t of a recording describes the player's input during frame t of its `.mp4`. Fields read:
    keyboard.keys      keys held, e.g. `key.keyboard.w` (mapped by `VPT.actions.contractor_action`)
    mouse.dx, mouse.dy mouse motion in units of 360/2400 degree (the camera)
    mouse.buttons      buttons held (0 attack, 1 use, 2 pickItem)
    mouse.newButtons   buttons pressed during this frame (only for the stuck-attack rule)
    mouse.x, mouse.y   cursor position on the 1280x720 recording screen (drawn when a GUI is open)
    isGuiOpen          an inventory, crafting table, chest, ... is shown
    hotbar             the selected hotbar slot, 0..8

Episode-level rules, as upstream (VPT's data loader, which STEVE-1 and PTGM reuse):
- Stuck attack: a recording whose first line reports button 0 as newly pressed began with attack
  held from before the recording; attack is removed until the next new press of button 0.
- Hotbar: when `hotbar` differs from the previous line's (0 before the first line), the matching
  `hotbar.<slot+1>` button is set, so scroll-wheel selections become actions.
- Null actions (no mapped key, no mouse button, no mouse motion) are marked; the converter drops
  them with their frames.
One deviation, chosen because the spec leaves it open and the label would otherwise be lost: an
action whose only content is a hotbar change (scroll wheel) counts as not null. Upstream tests for
null before applying the hotbar rule and drops such frames.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from VPT.actions import contractor_action

N_HOTBAR_SLOTS = 9
ATTACK_BUTTON = 0


class ContractorFormatError(ValueError):
    """A recording line that cannot be read; the message names the line and what is wrong."""


@dataclass(frozen=True)
class ContractorStep:
    """One line of a recording, converted."""

    action: dict[str, Any]  # MineRL action, the 24 keys of `VPT.actions.ACTION_KEYS`
    is_null: bool  # nothing pressed, nothing moved: the converter drops the frame
    gui_open: bool
    cursor: tuple[float, float]  # mouse (x, y) on the 1280x720 recording screen


def read_jsonl(path: Path | str) -> list[dict[str, Any]]:
    """The JSON objects of a `.jsonl` file; blank lines are skipped, a bad line raises."""
    records = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as err:
                raise ContractorFormatError(f"{path} line {number}: not JSON ({err})") from err
    if not records:
        raise ContractorFormatError(f"{path}: no recording lines")
    return records


def parse_steps(
    records: Sequence[Mapping[str, Any]], *, truncate_camera: bool = False
) -> list[ContractorStep]:
    """Every recording line as a `ContractorStep`, the episode-level rules applied.

    :param truncate_camera: integer-degree cameras, truncated toward zero, as upstream stores them.
    """
    steps, last_hotbar, stuck = [], 0, False
    for number, record in enumerate(records, start=1):
        try:
            stuck = attack_stuck(record, number == 1, stuck)
            step, last_hotbar = _parse_step(record, stuck, last_hotbar, truncate_camera)
        except (KeyError, TypeError, ValueError) as err:
            raise ContractorFormatError(f"line {number}: {type(err).__name__}: {err}") from err
        steps.append(step)
    return steps


def attack_stuck(record: Mapping[str, Any], first: bool, was_stuck: bool) -> bool:
    """Whether attack counts as stuck during this line (see the module doc)."""
    new_buttons = record["mouse"]["newButtons"]
    if first:
        return list(new_buttons) == [ATTACK_BUTTON]
    return was_stuck and ATTACK_BUTTON not in new_buttons


def _parse_step(
    record: Mapping[str, Any], stuck: bool, last_hotbar: int, truncate_camera: bool
) -> tuple[ContractorStep, int]:
    """One line to a step; returns it with the line's hotbar slot (the next line's reference)."""
    buttons = [b for b in record["mouse"]["buttons"] if not (stuck and b == ATTACK_BUTTON)]
    mouse = {**record["mouse"], "buttons": buttons}
    action, is_null = contractor_action({**record, "mouse": mouse}, truncate_camera=truncate_camera)
    hotbar = record["hotbar"]
    if not (isinstance(hotbar, int) and 0 <= hotbar < N_HOTBAR_SLOTS):
        raise ValueError(f"hotbar must be a slot 0..{N_HOTBAR_SLOTS - 1}, got {hotbar!r}")
    if hotbar != last_hotbar:
        action[f"hotbar.{hotbar + 1}"] = 1
        is_null = False
    cursor = (float(mouse["x"]), float(mouse["y"]))
    return ContractorStep(action, is_null, bool(record["isGuiOpen"]), cursor), hotbar


def kept_steps(steps: Iterable[ContractorStep]) -> int:
    """How many frames survive the null-action filter (an upper bound when the video is short)."""
    return sum(not step.is_null for step in steps)
