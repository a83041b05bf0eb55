"""The prior tracker: buffered, chunked forwards give the frame-by-frame distributions."""

import numpy as np
import torch

from hierarchical.prior_tracker import PriorTracker
from VPT.policy import VPTPolicy
from VPT.presets import get_preset


def tiny_prior(n_codes=7):
    torch.manual_seed(0)
    p = get_preset("tiny")
    return VPTPolicy(p.policy_kwargs, n_codes, p.pi_head_kwargs).eval()


def drive(tracker, frames, schedule, read_every_frame):
    """Feed `schedule` (per step: env ids observed, env ids reset before) and collect log-probs."""
    seen = []
    for t, (ids, resets) in enumerate(schedule):
        if resets:
            tracker.reset(np.array(resets))
        tracker.observe(frames[t, ids], np.array(ids))
        if read_every_frame or t % 5 == 4 or t == len(schedule) - 1:
            seen.append(tracker.log_probs.copy())
    return tracker.log_probs.copy(), seen[-1]


def test_chunked_matches_frame_by_frame_with_resets_and_partial_envs():
    n, steps = 3, 23
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 255, (steps, n, 64, 64, 3), dtype=np.uint8)
    schedule = []
    for t in range(steps):
        ids = [0, 1, 2] if t % 7 != 3 else [0, 2]  # env 1 sits out a step (episode ended)
        resets = [0, 1, 2] if t == 0 else ([2] if t == 9 else ([1] if t == 20 else []))
        schedule.append((ids, resets))
    prior = tiny_prior()
    stepwise, _ = drive(PriorTracker(prior, n), frames, schedule, read_every_frame=True)
    chunked, _ = drive(PriorTracker(prior, n), frames, schedule, read_every_frame=False)
    np.testing.assert_allclose(chunked, stepwise, rtol=1e-4, atol=1e-5)
    # A reset within the buffered chunk really forgets: env 1's distribution differs from a run without its reset.
    no_reset = [(ids, [r for r in rs if t == 0 or r != 1]) for t, (ids, rs) in enumerate(schedule)]
    other, _ = drive(PriorTracker(prior, n), frames, no_reset, read_every_frame=False)
    assert not np.allclose(other[1], chunked[1], atol=1e-4)
    np.testing.assert_allclose(other[0], chunked[0], rtol=1e-4, atol=1e-5)


def test_long_buffers_are_split_into_chunks(monkeypatch):
    import hierarchical.prior_tracker as module

    n, steps = 2, 11
    frames = np.random.default_rng(1).integers(0, 255, (steps, n, 64, 64, 3), dtype=np.uint8)
    schedule = [([0, 1], [0, 1] if t == 0 else []) for t in range(steps)]
    prior = tiny_prior()
    whole, _ = drive(PriorTracker(prior, n), frames, schedule, read_every_frame=False)
    monkeypatch.setattr(module, "MAX_CHUNK", 4)
    calls = []
    tracker = PriorTracker(prior, n)
    original = tracker._forward
    tracker._forward = lambda ids, a, b: (calls.append(b - a), original(ids, a, b))[1]
    for t, (ids, resets) in enumerate(schedule):
        if resets:
            tracker.reset(np.array(resets))
        tracker.observe(frames[t, ids], np.array(ids))
    np.testing.assert_allclose(tracker.log_probs, whole, rtol=1e-4, atol=1e-5)
    assert calls == [4, 4, 3]
