"""The high-level env: goal per step, episode ends inside a step, one reset, the prior and KL."""

import numpy as np
import pytest
import torch

from goal_prior.codebook import Codebook, CodebookError
from hierarchical.highlevel_env import HighLevelVecEnv
from hierarchical.models import PretrainedModelError, PretrainedModels, load_pretrained
from hierarchical.prior_tracker import kl_divergence
from steve1.agent import GuidedAgent
from steve1.embed_conditioned_policy import EmbedConditionedPolicy
from VPT.checkpoint import save_policy
from VPT.policy import VPTPolicy
from VPT.presets import get_preset

N_CODES, DIM = 5, 6


def tiny_models(seed=0, action_space=17, img_size=64, dim=DIM, n_codes=N_CODES):
    """Tiny low level, prior and codebook; Crafter's by default (Minecraft: the VPT action space,
    128x128 frames, `dim` = MineCLIP's embedding size)."""
    torch.manual_seed(seed)
    p = get_preset("tiny")
    p.policy_kwargs["img_shape"] = [img_size, img_size, 3]
    low = EmbedConditionedPolicy(p.policy_kwargs, action_space, p.pi_head_kwargs, goal_dim=dim)
    prior = VPTPolicy(p.policy_kwargs, n_codes, p.pi_head_kwargs).eval()
    codes = np.random.default_rng(seed).normal(size=(n_codes, dim)).astype(np.float32)
    return PretrainedModels(low.eval(), Codebook(codes), prior)


def make_env(n_envs=2, max_steps=7, low_level_steps=3, **kw):
    return HighLevelVecEnv(
        "crafter_log",
        n_envs,
        tiny_models(),
        low_level_steps,
        cond_scale=1.0,
        seed=3,
        max_steps=max_steps,
        **kw,
    )


def test_episode_ends_inside_a_high_level_step():
    env = make_env()
    obs = env.reset()
    episodes = [c._episode for c in env.get_attr("crafter")]
    assert obs.shape == (2, 64, 64, 3) and obs.dtype == np.uint8
    seen = []
    for _ in range(3):  # 7 low-level steps = 3 + 3 + 1: the third high-level step is cut short
        env.step_async(np.array([0, 4]))
        obs, rewards, dones, infos = env.step_wait()
        seen.append([info["low_level_steps"] for info in infos])
    assert seen == [[3, 3], [3, 3], [1, 1]]
    assert dones.all()
    for info in infos:
        assert info["TimeLimit.truncated"] and info["terminal_observation"].shape == (64, 64, 3)
        episode = info["episode"]
        assert episode["l"] == 7 and episode["high_level_steps"] == 3
        assert episode["codes"] == [info["code"]] * 3
    assert not np.array_equal(obs[0], infos[0]["terminal_observation"])  # reset exactly once
    assert env.total_low_level_steps == 14
    assert all(s == 0 for s in env.get_attr("_steps"))
    assert [c._episode for c in env.get_attr("crafter")] == [e + 1 for e in episodes]


def test_a_finished_env_waits_without_acting():
    env = make_env(n_envs=2, max_steps=7)
    env.reset()
    env.envs[1].spec_ = env.envs[1].spec_.__class__(**{**vars(env.envs[1].spec_), "max_steps": 2})
    env.step_async(np.array([1, 1]))
    _, _, dones, infos = env.step_wait()
    assert dones.tolist() == [False, True]
    assert [i["low_level_steps"] for i in infos] == [3, 2]


def test_seeded_runs_repeat_and_continuous_goals_are_clipped():
    def rollout(discrete=True):
        env = make_env(discrete=discrete)
        env.reset()
        out = []
        for k in range(4):
            action = np.array([k % N_CODES, 2]) if discrete else np.full((2, DIM), 50.0)
            env.step_async(action)
            out.append(env.step_wait()[0])
        return np.stack(out)

    np.testing.assert_array_equal(rollout(), rollout())
    env = make_env(discrete=False)
    assert env.action_space.shape == (DIM,)
    goals, _ = env._goals(np.full((2, DIM), 50.0))
    assert goals.max() == 10.0
    with pytest.raises(ValueError, match="outside the codebook"):
        make_env()._goals(np.array([0, N_CODES]))


def test_prior_follows_frames_and_kl_is_booked():
    env = make_env()
    env.reset()
    prior = env.prior_log_probs()
    np.testing.assert_allclose(np.exp(prior).sum(1), 1.0, rtol=1e-5)
    log_pi = np.log(np.full((2, N_CODES), 1.0 / N_CODES))
    kl = env.kl_to_prior(log_pi)
    np.testing.assert_allclose(kl, kl_divergence(log_pi, prior), rtol=1e-5)
    assert (kl >= 0).all()
    np.testing.assert_allclose(env.kl_to_prior(prior), 0.0, atol=1e-6)
    assert env.episodes[0].kl == pytest.approx(float(kl[0]), rel=1e-5)
    env.step_async(np.array([0, 1]))
    env.step_wait()
    assert not np.allclose(env.prior_log_probs(), prior)
    with pytest.raises(RuntimeError, match="without a goal prior"):
        make_env(use_prior=False).kl_to_prior(log_pi)


def test_vectorised_env_matches_single_envs_with_the_same_seeds(monkeypatch):
    """Env i of a 2-env run (seed 3) is a 1-env run with seed 3 + i: frames, rewards, episode
    ends and resets, KL to the prior. The low level acts greedily here, so that its sampling
    stream (one per agent) does not enter the comparison."""
    greedy = GuidedAgent._sample
    monkeypatch.setattr(GuidedAgent, "_sample", lambda self, logits, _: greedy(self, logits, True))

    def rollout(n_envs, seed, codes):
        env = HighLevelVecEnv(
            "crafter_log", n_envs, tiny_models(), 3, cond_scale=1.0, seed=seed, max_steps=7
        )
        log_pi = np.log(np.full((n_envs, N_CODES), 1.0 / N_CODES))
        out = [(env.reset(), None, None, None, env.kl_to_prior(log_pi))]
        for step_codes in codes:
            env.step_async(np.asarray(step_codes))
            obs, rewards, dones, infos = env.step_wait()
            out.append((obs, rewards, dones, infos, env.kl_to_prior(log_pi)))
        return out

    codes = [[0, 4], [1, 3], [2, 2], [3, 1], [4, 0]]  # 5 x 3 steps: one episode end at 7
    vec = rollout(2, 3, codes)
    for i in range(2):
        single = rollout(1, 3 + i, [[c[i]] for c in codes])
        for step, step1 in zip(vec, single, strict=True):
            (obs, rew, done, infos, kl), (obs1, rew1, done1, infos1, kl1) = step, step1
            np.testing.assert_array_equal(obs[i], obs1[0])
            np.testing.assert_allclose(kl[i], kl1[0], rtol=1e-4, atol=1e-6)
            if infos is None:
                continue
            assert (rew[i], done[i]) == (rew1[0], done1[0])
            a, b = infos[i], infos1[0]
            assert a.keys() == b.keys()
            for key in a:
                if key == "terminal_observation":
                    np.testing.assert_array_equal(a[key], b[key])
                elif key == "episode":
                    assert a[key]["l"] == b[key]["l"] and a[key]["codes"] == b[key]["codes"]
                    assert a[key]["kl"] == pytest.approx(b[key]["kl"], rel=1e-4)
                elif key != "kl":
                    assert a[key] == b[key], key
        assert any(step[2][i] for step in vec[1:])  # an episode ended and the env was reset


def test_load_pretrained_checks_files_and_sizes(tmp_path):
    models = tiny_models()
    save_policy(models.low_level, tmp_path / "ll.model", tmp_path / "ll.weights")
    save_policy(models.prior, tmp_path / "p.model", tmp_path / "p.weights")
    models.codebook.save(tmp_path / "cb.npz")
    Codebook(np.zeros((N_CODES + 1, DIM), np.float32)).save(tmp_path / "cb6.npz")
    Codebook(np.zeros((N_CODES, DIM + 1), np.float32)).save(tmp_path / "cb7.npz")
    paths = [tmp_path / "ll.model", tmp_path / "ll.weights"]
    loaded = load_pretrained(
        *paths, tmp_path / "cb.npz", tmp_path / "p.model", tmp_path / "p.weights"
    )
    assert loaded.prior is not None and not any(p.requires_grad for p in loaded.prior.parameters())
    with pytest.raises(CodebookError, match="predicts 5 codes .* has 6"):
        load_pretrained(*paths, tmp_path / "cb6.npz", tmp_path / "p.model", tmp_path / "p.weights")
    with pytest.raises(CodebookError, match="7 dims .* expects 6"):
        load_pretrained(*paths, tmp_path / "cb7.npz")
    with pytest.raises(PretrainedModelError, match="missing.weights"):
        load_pretrained(paths[0], tmp_path / "missing.weights", tmp_path / "cb.npz")
