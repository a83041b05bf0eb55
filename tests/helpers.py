"""Test helpers: small synthetic episodes (no Crafter run needed), the reference weight dumps, a
hand-made Crafter map."""

import json
from pathlib import Path

import numpy as np
import pytest

import tasks
from steve1.data.episode_storage import EMBED_OFFSET, write_episode


def fake_episode(path: Path, length: int, seed: int = 0, dim: int = 8) -> Path:
    """Write an episode of random frames/actions/embeddings with `length` frames."""
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 256, (length, 64, 64, 3), dtype=np.uint8)
    actions = rng.integers(0, 17, length)
    embeds = rng.normal(size=(length, dim)).astype(np.float32)
    embeds[:EMBED_OFFSET] = np.nan
    states = {"inventory": rng.integers(0, 9, (length, 16)).astype(np.uint8)}
    return write_episode(path, frames, actions, embeds, {"seed": seed, "world": "crafter"}, states)


def fake_dataset(root: Path, n: int, length: int, val_frames: int) -> Path:
    """`n` fake episodes under root/data and their seed1 sampling files in root/samplings."""
    from steve1.data.sampling.sampling_files import make_sampling, write_sampling

    for i in range(n):
        fake_episode(root / "data" / f"ep{i}", length=length, seed=i)
    train, val = make_sampling(root / "data", val_frames, -1, seed=1, min_frames=32 + 15)
    write_sampling(root / "samplings", "seed1", train, val)
    return root / "samplings"


REF_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "weight_formats"


def read_reference(name: str) -> tuple[dict[str, str], list[tuple[str, list[int]]]]:
    """(header `key: value` lines, [(name, shape)] in state-dict order) of a reference dump in
    `../shared/reference/weight_formats/`; skips the test when the dumps are absent."""
    path = REF_DIR / name
    if not path.exists():
        pytest.skip(f"reference dumps not available ({path} is absent)")
    header, entries = {}, []
    for line in path.read_text().splitlines():
        if line.startswith("# "):
            key, _, value = line[2:].partition(": ")
            header[key] = value
        elif line.strip():
            key, shape, dtype = line.split("\t")
            assert dtype == "float32"
            entries.append((key, json.loads(shape)))
    return header, entries


SMALL_BPE_MERGES = ("c u", "cu t</w>", "t r", "e e</w>", "tr ee</w>")


def write_small_bpe_vocab(path: Path) -> Path:
    """A CLIP-format BPE merge file with five merges (ids up to 518), enough for "cut a tree"."""
    import gzip

    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write("\n".join(["#version: 0.2", *SMALL_BPE_MERGES]) + "\n")
    return path


def env_with_map(rows):
    """A Crafter task env whose map around the player is replaced by `rows` (player at 'P')."""
    env = tasks.make("crafter_log")
    env.reset(seed=0)
    world, player = env.crafter._world, env.crafter._player
    legend = {".": "grass", "#": "lava", "T": "tree", "W": "water", "P": "grass"}
    world._mat_map[:] = world._mat_ids["lava"]
    for obj in list(world.objects):
        if obj is not player:
            world.remove(obj)
    x0, y0 = 10, 10
    for dy, row in enumerate(rows):
        for dx, ch in enumerate(row):
            world._mat_map[x0 + dx, y0 + dy] = world._mat_ids[legend[ch]]
            if ch == "P":
                world.move(player, (x0 + dx, y0 + dy))
    return env, player


def give_goal_layers_weights(policy, std: float = 0.3) -> None:
    """Random weights for a low level's goal layers that start at zero (FiLM, the goal experts'
    outputs), so that tests see them act."""
    import torch

    net = policy.net
    with torch.no_grad():
        for film in (net.goal_film, net.goal_film_cnn):
            if film is not None:
                film.weight.normal_(0.0, std)
        if net.goal_gate is not None:
            net.goal_expert_out.normal_(0.0, std)
            net.goal_expert_bias.normal_(0.0, std)
