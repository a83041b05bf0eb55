"""`VPT.derive_model`: a shorter memory keeps the nearest position biases; hidden boxes; goal FiLM
starts at zero; clearing the boxes; errors."""

from __future__ import annotations

import pytest
import torch

from steve1.embed_conditioned_policy import GOAL_KEY, EmbedConditionedPolicy
from VPT import VPTPolicy, get_preset
from VPT.checkpoint import load_policy, save_policy
from VPT.derive_model import main


def _saved(policy: VPTPolicy, path) -> list[str]:
    """Save `policy` as `<path>.model` / `.weights`; the CLI arguments that name them."""
    save_policy(policy, f"{path}.model", f"{path}.weights")
    return ["--in_model", f"{path}.model", "--in_weights", f"{path}.weights"]


def _run(policy: VPTPolicy, img: torch.Tensor) -> torch.Tensor:
    first = torch.zeros(img.shape[:2], dtype=torch.bool)
    with torch.no_grad():
        return policy({"img": img}, policy.initial_state(img.shape[0]), first)[0].pi_logits


def test_shorter_memory_and_hidden_boxes(tmp_path) -> None:
    torch.manual_seed(0)
    src = VPTPolicy(get_preset("tiny").policy_kwargs, 17).eval()
    with torch.no_grad():
        for block in src.net.recurrent_layer.blocks:
            block.r.orc_block.b_nd.normal_()
    args = _saved(src, tmp_path / "src")
    maxlen = src.net.recurrent_layer.blocks[0].r.maxlen
    main([*args, "--out", str(tmp_path / "same"), "--memory", str(maxlen)])
    main([*args, "--out", str(tmp_path / "k2"), "--memory", "2", "--hide_boxes", "0,8,0,64"])
    same = load_policy(tmp_path / "same.model", tmp_path / "same.weights", 17).eval()
    k2 = load_policy(tmp_path / "k2.model", tmp_path / "k2.weights", 17).eval()
    assert k2.net.recurrent_layer.blocks[0].r.maxlen == 2
    img = torch.randint(0, 256, (2, 6, 64, 64, 3), dtype=torch.uint8)
    torch.testing.assert_close(_run(same, img), _run(src, img))
    shown = img.clone()
    shown[..., :8, :, :] = 0  # what k2 sees
    ref = src.net.recurrent_layer.blocks[0].r.orc_block.b_nd[:, :2]
    assert torch.equal(k2.net.recurrent_layer.blocks[0].r.orc_block.b_nd, ref)
    out_k2, out_src = _run(k2, img), _run(src, shown)
    torch.testing.assert_close(out_k2[:, :2], out_src[:, :2])  # two frames: the same window
    assert not torch.allclose(out_k2[:, 2:], out_src[:, 2:])  # then k2 forgets older frames


def test_hide_boxes_without_a_box_shows_the_whole_frame_again(tmp_path) -> None:
    torch.manual_seed(0)
    kwargs = {**get_preset("tiny").policy_kwargs, "hide_boxes": [[0, 8, 0, 64]]}
    hidden = VPTPolicy(kwargs, 17).eval()
    main([*_saved(hidden, tmp_path / "src"), "--out", str(tmp_path / "shown"), "--hide_boxes"])
    shown = load_policy(tmp_path / "shown.model", tmp_path / "shown.weights", 17).eval()
    assert shown.net.hide_boxes == []
    img = torch.randint(0, 256, (1, 3, 64, 64, 3), dtype=torch.uint8)
    blanked = img.clone()
    blanked[..., :8, :, :] = 0
    torch.testing.assert_close(_run(shown, blanked), _run(hidden, img))
    assert not torch.allclose(_run(shown, img), _run(hidden, img))


def test_memory_out_of_range_is_a_clear_error(tmp_path) -> None:
    args = _saved(VPTPolicy(get_preset("tiny").policy_kwargs, 17), tmp_path / "src")
    with pytest.raises(ValueError, match="--memory 0: must lie in 1..8"):
        main([*args, "--out", str(tmp_path / "x"), "--memory", "0"])
    with pytest.raises(SystemExit):
        main([*args, "--out", str(tmp_path / "x"), "--hide_boxes", "1,2,3"])
    with pytest.raises(ValueError, match="lies outside the 64x64 frame"):
        main([*args, "--out", str(tmp_path / "x"), "--hide_boxes", "0,8,0,65"])
    assert not (tmp_path / "x.model").exists()


@pytest.mark.parametrize("where", ["head", "cnn"])
def test_goal_film_starts_as_the_source_and_then_follows_the_goal(tmp_path, where) -> None:
    torch.manual_seed(0)
    src = EmbedConditionedPolicy(get_preset("tiny").policy_kwargs, 17, goal_dim=5).eval()
    args = _saved(src, tmp_path / "src")
    main([*args, "--out", str(tmp_path / "film"), "--goal_film", where])
    film = load_policy(
        tmp_path / "film.model", tmp_path / "film.weights", 17, EmbedConditionedPolicy
    ).eval()
    key = {"head": "goal_film", "cnn": "goal_film_cnn"}[where]
    assert film.policy_kwargs[key] is True
    img = torch.randint(0, 256, (2, 6, 64, 64, 3), dtype=torch.uint8)
    goal = torch.randn(2, 6, 5)

    def run(policy: VPTPolicy, g: torch.Tensor) -> torch.Tensor:
        first = torch.zeros(img.shape[:2], dtype=torch.bool)
        with torch.no_grad():
            obs = {"img": img, GOAL_KEY: g}
            return policy(obs, policy.initial_state(2), first)[0].pi_logits

    torch.testing.assert_close(run(film, goal), run(src, goal))  # zero scale and shift
    with torch.no_grad():
        getattr(film.net, key).weight.normal_()
    assert not torch.allclose(run(film, goal), run(src, goal))
    zero = torch.zeros_like(goal)  # the unconditioned stream is untouched
    torch.testing.assert_close(run(film, zero), run(src, zero))
    plain_args = _saved(VPTPolicy(get_preset("tiny").policy_kwargs, 17), tmp_path / "plain")
    again = ["--in_model", str(tmp_path / "film.model"), "--in_weights", str(tmp_path / "x.w")]
    save_policy(film, tmp_path / "film.model", tmp_path / "x.w")
    with pytest.raises(ValueError, match="already has it"):  # its trained FiLM is kept
        main([*again, "--out", str(tmp_path / "x"), "--goal_film", where])
    with pytest.raises(ValueError, match="has no goal projection"):
        main([*plain_args, "--out", str(tmp_path / "x"), "--goal_film", where])
