"""Stage 6 on a MineDojo task, without Minecraft: `HighLevelVecEnv` and a two-iteration
`ppo_highlevel.py` run on `log_plains` built by `tasks.make` over the MineDojo stand-in, with a
tiny low level (VPT's Minecraft action space, 128x128 frames), a tiny prior and codebook, and a
tiny MineCLIP standing in for `attn.pth` in the shaping reward.

The tiny MineCLIP's reward head is set to score every window LOGIT against the prompt, so the
shaping bonus is known exactly: 0.01 * (LOGIT - 21) / (23 - 21) at the first low-level step of
every episode, nothing after (the score never rises again). The stand-in gives no task reward
unless asked (`hits_per_item`) and kills the player at low-level step DIE_AT.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

import tasks.minedojo.sim as minedojo_sim
from hierarchical.highlevel_env import HighLevelVecEnv
from hierarchical.run_logging import read_stats
from ppo_highlevel import main
from steve1.goal_encoders.mineclip import (
    ClipTokenizer,
    MineCLIP,
    MineCLIPConfig,
    MineCLIPShaping,
    load_mineclip,
    save_mineclip,
)
from steve1.goal_encoders.mineclip import shaping as shaping_module
from steve1.goal_encoders.mineclip import tokenizer as tokenizer_module
from tasks.minedojo import ClipRewardWrapper
from tasks.minedojo.standin import StandInSim, StandInTask, standin_actionables
from tests.helpers import write_small_bpe_vocab
from tests.test_highlevel_env import tiny_models
from tests.test_ppo_highlevel import save_models
from VPT.downloads import MissingDownloadError
from VPT.presets import MINECRAFT_ACTION_SPACE

PROMPT = "cut a tree"  # log_plains' clip prompt
TINY_CLIP = dataclasses.replace(MineCLIPConfig.tiny(), resolution=(160, 256), vocab_size=520)
LOGIT = 30.0
BONUS = 0.01 * (LOGIT - 21.0) / 2.0
DIE_AT = 6


@pytest.fixture
def world(monkeypatch):
    """`tasks.make` builds MineDojo tasks over stand-ins (settings read when a task is made)."""
    settings = SimpleNamespace(hits_per_item=10**9, sims=[])

    def meta_task_make(name, **kwargs):
        assert kwargs["image_size"] == (160, 256)
        sim = StandInSim(target="log", hits_per_item=settings.hits_per_item, die_at=DIE_AT)
        settings.sims.append(sim)
        return StandInTask(sim)

    fake = SimpleNamespace(
        ALL_TASKS_SPECS={},
        meta_task_make=meta_task_make,
        InventoryItem=dict,
        OmegaConf=SimpleNamespace(is_config=lambda value: False),
    )
    monkeypatch.setattr(minedojo_sim, "_import_minedojo", lambda task: fake)
    return settings


@pytest.fixture
def mineclip_file(tmp_path, monkeypatch):
    """A tiny MineCLIP saved in attn.pth's layout; its loader counts the loads. CLIP's vocabulary
    is a small merge list in a stand-in `downloads/`."""
    vocab = write_small_bpe_vocab(tmp_path / "repo" / "downloads" / tokenizer_module.VOCAB_NAME)
    monkeypatch.setattr(tokenizer_module, "_REPO_ROOT", tmp_path / "repo")
    monkeypatch.setattr(tokenizer_module.importlib.util, "find_spec", lambda name: None)
    path = tmp_path / "mineclip_tiny.pth"
    save_mineclip(fixed_score_mineclip(vocab), path)
    loads = []

    def load_tiny(p, device="cpu"):
        loads.append(p)
        return load_mineclip(p, device, check_md5=False, config=TINY_CLIP)

    monkeypatch.setattr(shaping_module, "load_mineclip", load_tiny)
    return SimpleNamespace(path=path, loads=loads)


def fixed_score_mineclip(vocab: Path) -> MineCLIP:
    """A tiny MineCLIP whose reward head maps every video feature to the prompt's text feature
    (residual weight sigmoid(-1e4) = 0, adapter output = its bias), so every window scores LOGIT."""
    torch.manual_seed(0)
    model = MineCLIP(TINY_CLIP).eval()
    with torch.no_grad():
        text = model.encode_text(ClipTokenizer(vocab)([PROMPT], TINY_CLIP.context_length))[0]
        head = model.reward_head
        head.video_residual_weight.fill_(-1e4)
        head.video_adapter[3].weight.zero_()
        head.video_adapter[3].bias.copy_(text)
        model.clip_model.logit_scale.fill_(math.log(LOGIT))
    return model


def minecraft_models(seed=0):
    return tiny_models(seed, MINECRAFT_ACTION_SPACE, img_size=128, dim=TINY_CLIP.embed_dim)


def test_a_minedojo_task_through_the_high_level_env(world, mineclip_file):
    models = minecraft_models()
    models.clip_model = MineCLIPShaping.load(mineclip_file.path)
    env = HighLevelVecEnv("log_plains", 2, models, low_level_steps=4, cond_scale=1.0, seed=0)
    obs = env.reset()
    assert obs.shape == (2, 128, 128, 3) and obs.dtype == np.uint8
    wrappers = [e.env for e in env.envs]
    assert all(isinstance(w, ClipRewardWrapper) for w in wrappers)
    assert all(w.shaping.model is models.clip_model for w in wrappers)  # one MineCLIP, shared
    assert wrappers[0].shaping is not wrappers[1].shaping  # its own running max per env
    env.step_async(np.array([0, 3]))
    obs, rewards, dones, infos = env.step_wait()
    np.testing.assert_allclose(rewards, BONUS, rtol=1e-6)
    assert [i["shaping_reward"] for i in infos] == pytest.approx([BONUS, BONUS])
    assert not dones.any()
    keys = {h.to_string() for h in standin_actionables()}
    sent = world.sims[0].actions  # VPT indices decoded to MineRL dicts, filtered to the sim's
    assert len(sent) == 4 and all(set(a) == keys for a in sent)
    assert all(a["camera"].shape == (2,) and a["camera"].dtype == np.float32 for a in sent)
    env.step_async(np.array([1, 2]))  # dies at low-level step 6, inside this step
    obs, rewards, dones, infos = env.step_wait()
    assert dones.all() and rewards.tolist() == [0.0, 0.0]
    episode = infos[0]["episode"]
    assert (episode["l"], episode["high_level_steps"], episode["success"]) == (DIE_AT, 2, False)
    assert episode["r"] == pytest.approx(BONUS) and episode["shaping"] == pytest.approx(BONUS)
    assert infos[0]["terminal_observation"].shape == (128, 128, 3)
    env.close()


def test_success_and_task_reward_reach_the_episode(world, mineclip_file):
    world.hits_per_item = 1  # the first attack yields the log
    models = minecraft_models()
    models.clip_model = MineCLIPShaping.load(mineclip_file.path)
    env = HighLevelVecEnv("log_plains", 1, models, low_level_steps=DIE_AT, cond_scale=1.0, seed=0)
    env.reset()
    env.step_async(np.array([0]))
    _, rewards, dones, infos = env.step_wait()
    assert dones[0] and infos[0]["success"] and infos[0]["episode"]["success"]
    assert rewards[0] == pytest.approx(1.0 + BONUS) and infos[0]["task_reward"] == rewards[0]


def test_ppo_highlevel_on_a_minedojo_task(tmp_path, world, mineclip_file, monkeypatch):
    (tmp_path / "models").mkdir()
    flags = save_models(minecraft_models(), tmp_path / "models")
    seen = []  # (env rewards, shaping rewards) of every high-level step
    step_wait = HighLevelVecEnv.step_wait

    def spy(self):
        out = step_wait(self)
        seen.append((out[1].copy(), [info["shaping_reward"] for info in out[3]]))
        return out

    monkeypatch.setattr(HighLevelVecEnv, "step_wait", spy)
    run = tmp_path / "run"
    main(
        ["--config", "log_plains", "--run_dir", str(run), "--mineclip_path", str(mineclip_file.path),
         "--num_envs", "2", "--steps", "8", "--steps_per_iter", "2", "--batch_size", "4",
         "--n_epochs", "1", "--low_level_steps", "3", "--eval_episodes", "2", "--gif_every", "1",
         *flags]
    )  # fmt: skip
    assert mineclip_file.loads == [mineclip_file.path]  # once, for training and evaluation
    rewards = np.array([r for r, _ in seen])
    shaping = np.array([s for _, s in seen])
    np.testing.assert_allclose(rewards, shaping, rtol=1e-6)  # no task reward: all of it shaping
    assert (rewards > 0).sum() >= 4 and rewards.max() == pytest.approx(BONUS)
    rows = read_stats(run / "stats.csv")
    assert [r["high_level_steps"] for r in rows] == [4, 8]
    assert rows[-1]["task_reward"] == pytest.approx(BONUS) and rows[-1]["kl"] == rows[-1]["kl"]
    report = json.loads((run / "eval.json").read_text())
    assert report["episodes"] == 2 and report["mean_task_reward"] == pytest.approx(BONUS)
    assert "world: minecraft" in (run / "config.yaml").read_text()


def test_a_missing_mineclip_names_its_downloads_sh_line(tmp_path, world):
    if Path("downloads/mineclip_attn.pth").exists():
        pytest.skip("the official MineCLIP is present here")
    (tmp_path / "models").mkdir()
    flags = save_models(minecraft_models(), tmp_path / "models")
    with pytest.raises(MissingDownloadError, match=r"downloads\.sh:\d+: entry mineclip_attn\.pth"):
        main(["--config", "log_plains", "--run_dir", str(tmp_path / "run"), *flags])
