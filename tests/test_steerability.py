"""The steerability script runs end to end on a tiny policy and reports every target."""

import numpy as np
import torch

from goal_prior.codebook import Codebook
from hierarchical.steerability import TARGETS, code_events, evaluate
from steve1.embed_conditioned_policy import EmbedConditionedPolicy
from steve1.goal_encoders.crafter import EMBED_DIM, feature_names
from VPT.presets import get_preset


def tiny_policy_and_codes() -> tuple[EmbedConditionedPolicy, np.ndarray]:
    """A seeded tiny low level and three empty codes to fill."""
    torch.manual_seed(0)
    p = get_preset("tiny")
    policy = EmbedConditionedPolicy(p.policy_kwargs, 17, p.pi_head_kwargs, goal_dim=EMBED_DIM)
    return policy, np.zeros((3, EMBED_DIM), np.float32)


def test_tiny_run_reports_targets_and_table():
    policy, codes = tiny_policy_and_codes()
    codes[0, feature_names().index("event:collect_wood")] = 1
    codes[1, feature_names().index("event:collect_stone")] = 1
    book = Codebook(codes=codes)
    assert code_events(book) == [["collect_wood"], ["collect_stone"], []]
    report = evaluate(policy, book, rollouts=2, steps=3, seed=7, cond_scale=1.0)
    assert set(report["targets"]) == set(TARGETS)
    assert report["targets"]["collect_wood"]["code"] == 0
    assert report["targets"]["collect_drink"]["code"] is None
    table = report["protocols"]["pickaxe"]
    assert {"uncond", "random_code", "code_0", "code_2"} <= set(table)
    assert 0.0 <= table["code_1"]["events"]["collect_stone"] <= 1.0


def test_candidates_only_runs_the_target_codes_and_leaves_out_margins():
    policy, codes = tiny_policy_and_codes()
    codes[0, feature_names().index("event:collect_wood")] = 1
    codes[2, feature_names().index("event:collect_stone")] = 1
    report = evaluate(
        policy, Codebook(codes=codes), 2, 3, 7, 1.0, ["fresh", "pickaxe"], candidates_only=True
    )
    assert set(report["protocols"]["fresh"]) == {"uncond", "random_code", "code_0"}
    assert set(report["protocols"]["pickaxe"]) == {"uncond", "random_code", "code_2"}
    wood = report["targets"]["collect_wood"]
    assert wood["code"] == 0 and wood["margin"] is None and wood["passes"] is None
    assert set(wood["candidate_rates"]) == {0}
    assert 0.0 <= wood["ceiling"] <= 1.0  # 3 steps: a perfect player reaches a tree from some
    assert wood["held_out_rate"] <= 1.0


def start_beside_one_tree():
    """A fresh start with only grass around the player but one tree 3 steps to its right
    (right, right: now facing it, do)."""
    from hierarchical.steerability import start_states

    start = start_states("crafter_log", 3, [7])[0]
    world, player = start.crafter._world, start.crafter._player
    x, y = (int(v) for v in player.pos)
    for dx in range(-9, 10):
        for dy in range(-9, 10):
            world[(x + dx, y + dy)] = "grass"
    world[(x + 3, y)] = "tree"
    return start


def test_approach_counts_views_facings_and_each_steps_distance_change(monkeypatch):
    """Two scripted players beside one tree: one walks to it and chops, one steps away and waits."""
    import hierarchical.approach as approach_module
    import hierarchical.steerability as steerability_module

    start = start_beside_one_tree()
    script = iter([[2, 1], [2, 0], [5, 0]])  # env 0: right, right, do; env 1: left, noop, noop

    class ScriptedAgent:
        def __init__(self, *args, **kwargs):
            pass

        def act(self, frames, goals):
            return np.array(next(script))

    monkeypatch.setattr(steerability_module, "GuidedAgent", ScriptedAgent)
    policy, codes = tiny_policy_and_codes()
    out = approach_module.approach(policy, [start, start], codes[0], "collect_wood", 3, 1.0, 0)
    assert out.got.tolist() == [True, False]
    assert out.seen.tolist() == [True, True] and out.faced.tolist() == [True, False]
    # env 0: two steps closer (the chop is not counted); env 1: one farther, two standing still
    assert (out.closer, out.farther, out.same) == (2, 1, 2)
    assert out.traces == ["321", "344"]  # step counts before each step
    assert out.died.tolist() == [False, False]
    shares = out.outcomes()
    assert shares["got it"] == 0.5 and shares["in view, never within 2 steps"] == 0.5
    assert out.actions_at[3] == {"move_right": 1, "move_left": 1}
    assert out.actions_at[4] == {"noop": 2}
    assert "actions 4 steps from it (2 steps, closer 0.00): noop 1.00" in out.actions_summary(4)
    assert "(2 steps, closer 0.50): move_right 0.50, move_left 0.50" in out.actions_summary(3)
    assert "rate 0.50; in view 1.00, faced 0.50, rate when faced 1.00" in out.summary()


def test_each_failed_rollout_gets_one_outcome():
    from hierarchical.approach import OUTCOMES, _outcome

    cases = [
        ((True, False, True, "321"), "got it"),
        ((False, True, True, "54"), "died"),
        ((False, False, False, "...."), "never in view"),
        ((False, False, True, "..5434.."), "in view, never within 2 steps"),
        ((False, False, True, "..32345"), "came within 2 steps, did not get it"),
        ((False, False, True, "+++9876"), "in view, never within 2 steps"),
    ]
    for args, outcome in cases:
        assert _outcome(*args) == outcome and outcome in OUTCOMES


def test_a_rollout_ends_at_death_or_the_step_limit_not_at_its_tasks_success():
    from hierarchical.steerability import rollout_over

    assert not rollout_over({"discount": 1.0}, truncated=False)  # success alone goes on
    assert rollout_over({"discount": 0.0}, truncated=False)
    assert rollout_over({"discount": 1.0}, truncated=True)


def test_approach_cli_prints_its_report_and_names_a_bad_code(tmp_path, capsys):
    import pytest

    from hierarchical.approach import main
    from VPT.checkpoint import save_policy

    policy, codes = tiny_policy_and_codes()
    save_policy(policy, tmp_path / "ll.model", tmp_path / "ll.weights")
    Codebook(codes=codes).save(tmp_path / "cb.npz")
    files = ["--codebook", str(tmp_path / "cb.npz"), "--in_model", str(tmp_path / "ll.model")]
    files += ["--in_weights", str(tmp_path / "ll.weights"), "--rollouts", "2"]
    main(
        files
        + [
            "--low_level_steps",
            "3",
            "--event",
            "collect_wood",
            "--code",
            "0",
            "--trace",
            "--actions_at",
            "2",
        ]
    )
    out = capsys.readouterr().out
    assert "collect_wood, code 0, 2 rollouts from seed 150000" in out
    assert "\n150000 got " in out and "\n150001 got " in out
    assert "\nactions 2 steps from it (" in out and "\noutcomes: got it " in out
    with pytest.raises(SystemExit):
        main(files + ["--event", "collect_wood", "--code", "3"])
    assert "codes 0..2" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(files + ["--event", "collect_wood", "--code", "0", "--actions_at", "0"])
    assert "--actions_at must be >= 1" in capsys.readouterr().err


def test_expert_rate_runs_the_play_agent_intent_on_the_event(capsys):
    """A tree 3 steps away: the play agent, told to collect wood, gets it in 3 steps, not in 2."""
    import pytest

    from hierarchical.approach import ApproachWatch
    from hierarchical.expert_rate import expert_rate, main

    start = start_beside_one_tree()
    for perception in ("full", "seen"):
        assert expert_rate("collect_wood", [start], 3, perception, 0.0, 0).tolist() == [True]
        assert expert_rate("collect_wood", [start], 2, perception, 0.0, 0).tolist() == [False]
    player = start.crafter._player  # the start is not touched
    assert player.achievements["collect_wood"] == 0 and start.crafter._step == 0
    assert tuple(player.facing) == (0, 1) and start.crafter._world[player.pos + (3, 0)][0] == "tree"
    main(["--event", "collect_wood", "--perception", "full", "--rollouts", "2", "--steps", "50"])
    out = capsys.readouterr().out
    assert "(full perception, epsilon 0.0, near_steps 0), 2 rollouts of 50 steps" in out
    # The watch sees the agent's steps: from the tree's start the count goes 3, 2, 1, each cut.
    watch = ApproachWatch([start], "collect_wood")
    assert expert_rate("collect_wood", [start], 3, "full", 0.0, 0, 8, watch).tolist() == [True]
    assert watch.out.traces == ["321"] and watch.out.closer_at[2] == 1
    assert "closer 1.00" in watch.out.actions_summary(2)
    bad_flags = {
        "--rollouts 0": "must be >= 1",
        "--steps 0": "must be >= 1",
        "--near_steps -1": "argument --near_steps: must be >= 0",
        "--actions_at 0": "--actions_at needs a value >= 1",
    }
    for bad, message in bad_flags.items():
        with pytest.raises(SystemExit):
            main(["--event", "collect_wood", *bad.split()])
        assert message in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--event", "defeat_zombie", "--actions_at", "2"])
    assert "`do`-on-a-material event" in capsys.readouterr().err
