"""The Minecraft action space: sizes, known indices, mu-law bins, round trips, truncation, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from VPT.actions import (
    ACTION_KEYS,
    BUTTON_GROUPS,
    INVENTORY,
    NULL_CAMERA,
    action_to_index,
    bins_to_camera,
    camera_to_bins,
    contractor_action,
    index_to_action,
    null_action,
    stack_actions,
)
from VPT.presets import MINECRAFT_ACTION_SPACE

# From the spec alone: mu-law with mu 10 and max 10 maps d degrees to 10 * log(1 + |d|) / log(11)
# (signed), so the encoded midpoint of bin b, (b - 5) / 5 of the range, decodes to 11^|b-5|/5 - 1,
# and the edge between bins b and b + 1 to 11^|b-4.5|/5 - 1.
BINS = np.arange(11)
CENTRES = np.sign(BINS - 5) * (11.0 ** (np.abs(BINS - 5) / 5) - 1)
EDGES = np.sign(BINS[:-1] - 4.5) * (11.0 ** (np.abs(BINS[:-1] - 4.5) / 5) - 1)  # 10 edges

# Strides of the buttons digits (hotbar, fore_back, left_right, sprint_sneak, use, drop, attack,
# jump, camera-meta), the last varying fastest.
STRIDES = {"hotbar": 864, "fore_back": 288, "left_right": 96, "sprint_sneak": 32}
STRIDES |= {"use": 16, "drop": 8, "attack": 4, "jump": 2, "meta": 1}


def one(action: dict) -> tuple[int, int]:
    index = action_to_index(action)
    return int(index["buttons"]), int(index["camera"])


def meta_on(buttons: np.ndarray) -> np.ndarray:
    return (buttons < INVENTORY) & (buttons % 2 == 1)


def test_sizes_and_keys_match_the_spec():
    assert len(ACTION_KEYS) == 24 and ACTION_KEYS[:4] == ("ESC", "back", "drop", "forward")
    assert ACTION_KEYS[13:] == (
        *("inventory", "jump", "left", "right", "sneak", "sprint", "swapHands", "camera"),
        *("attack", "use", "pickItem"),
    )
    radices = [len(group) + 1 for group in BUTTON_GROUPS] + [2]
    assert radices == [10, 3, 3, 3, 2, 2, 2, 2, 2]
    assert INVENTORY + 1 == MINECRAFT_ACTION_SPACE["buttons"] == 8641
    assert len(BINS) ** 2 == MINECRAFT_ACTION_SPACE["camera"] == 121


def test_null_action_and_camera_centre():
    assert NULL_CAMERA == 60 == 5 * 11 + 5
    assert one(null_action()) == (0, 60)
    assert one({}) == (0, 60)
    assert int(camera_to_bins(0.0)) == 5 and bins_to_camera(5) == 0.0
    null = null_action((2, 3))
    assert null["camera"].shape == (2, 3, 2) and not null["camera"].any()
    buttons = [key for key in ACTION_KEYS if key != "camera"]
    assert all(null[key].shape == (2, 3) and not null[key].any() for key in buttons)


def test_mu_law_bin_centres_and_edges():
    np.testing.assert_allclose(bins_to_camera(BINS), CENTRES, atol=1e-12)
    np.testing.assert_array_equal(camera_to_bins(CENTRES), BINS)
    np.testing.assert_array_equal(camera_to_bins(EDGES - 1e-9), BINS[:-1])
    np.testing.assert_array_equal(camera_to_bins(EDGES + 1e-9), BINS[1:])
    np.testing.assert_allclose(EDGES[5:], [0.2710, 1.0531, 2.3166, 4.3577, 7.6547], atol=1e-4)
    np.testing.assert_array_equal(camera_to_bins([-180.0, -10.0, 10.0, 90.0]), [0, 0, 10, 10])


def test_known_button_indices():
    cases = {
        "forward": STRIDES["fore_back"],
        "back": 2 * STRIDES["fore_back"],
        "right": 2 * STRIDES["left_right"],
        "sneak": 2 * STRIDES["sprint_sneak"],
        "use": STRIDES["use"],
        "drop": STRIDES["drop"],
        "attack": STRIDES["attack"],
        "jump": STRIDES["jump"],
        "hotbar.9": 9 * STRIDES["hotbar"],
        "inventory": INVENTORY,
    }
    for key, buttons in cases.items():
        assert one({key: 1}) == (buttons, 60), key
    # A camera turns the meta bit on: pitch bin * 11 + yaw bin.
    assert one({"forward": 1, "camera": [0.0, 10.0]}) == (STRIDES["fore_back"] + 1, 5 * 11 + 10)
    assert one({"camera": [-10.0, 0.0]}) == (1, 5)
    assert one({"camera": [0.1, -0.2]}) == (0, 60)  # inside the zero bin: null camera


def test_conflicting_buttons():
    assert one({"forward": 1, "back": 1, "left": 1, "right": 1}) == (0, 60)
    assert one({"sprint": 1, "sneak": 1}) == one({"sneak": 1})
    assert one({"hotbar.2": 1, "hotbar.7": 1}) == one({"hotbar.7": 1})
    assert one({"inventory": 1, "forward": 1, "camera": [5.0, 5.0]}) == (INVENTORY, 60)
    assert one({"ESC": 1, "swapHands": 1, "pickItem": 1}) == (0, 60)


def test_every_index_round_trips():
    rng = np.random.default_rng(0)
    buttons = np.arange(MINECRAFT_ACTION_SPACE["buttons"])
    moved = rng.choice(np.delete(np.arange(121), NULL_CAMERA), size=buttons.shape)
    camera = np.where(meta_on(buttons), moved, NULL_CAMERA)  # the canonical camera of each class
    back = action_to_index(index_to_action({"camera": camera, "buttons": buttons}))
    np.testing.assert_array_equal(back["buttons"], buttons)
    np.testing.assert_array_equal(back["camera"], camera)
    cameras = np.delete(np.arange(121), NULL_CAMERA)
    back = action_to_index(index_to_action({"camera": cameras, "buttons": np.ones_like(cameras)}))
    np.testing.assert_array_equal(back["camera"], cameras)


def test_non_canonical_pairs_map_to_the_canonical_one():
    rng = np.random.default_rng(1)
    buttons = rng.integers(0, INVENTORY, size=500)
    camera = rng.integers(0, 121, size=500)
    action = index_to_action({"camera": camera, "buttons": buttons})
    assert not action["camera"][~meta_on(buttons)].any()  # meta off: the camera head is ignored
    back = action_to_index(action)
    on = meta_on(buttons) & (camera != NULL_CAMERA)
    np.testing.assert_array_equal(back["buttons"], np.where(on, buttons, buttons & ~1))
    np.testing.assert_array_equal(back["camera"], np.where(on, camera, NULL_CAMERA))
    # Inventory applies the camera head when decoding (as VPT's agent does).
    moved = index_to_action({"camera": [0], "buttons": [INVENTORY]})
    np.testing.assert_allclose(moved["camera"], [[-10.0, -10.0]])


def test_random_actions_round_trip_within_quantisation():
    rng = np.random.default_rng(2)
    n = 5000
    action = {}
    for group in BUTTON_GROUPS:  # one valid choice per group, so the buttons come back exactly
        choice = rng.integers(0, len(group) + 1, size=n)
        for option, key in enumerate(group, start=1):
            action[key] = (choice == option).astype(np.int64)
    degrees = rng.normal(0.0, 4.0, size=(n, 2)) * rng.choice([0.0, 0.1, 1.0, 3.0], size=(n, 1))
    action["camera"] = degrees
    back = index_to_action(action_to_index(action))
    for key in action:
        if key != "camera":
            np.testing.assert_array_equal(back[key], action[key], err_msg=key)
    bins = camera_to_bins(degrees)
    clipped = np.clip(degrees, -10.0, 10.0)
    lower = np.concatenate([[-10.0], EDGES])[bins]
    upper = np.concatenate([EDGES, [10.0]])[bins]
    assert ((lower - 1e-9 <= clipped) & (clipped <= upper + 1e-9)).all()
    null = (bins == 5).all(axis=-1, keepdims=True)
    expected = np.where(null, 0.0, CENTRES[bins])
    np.testing.assert_allclose(back["camera"], expected, atol=1e-12)
    assert (np.abs(back["camera"] - clipped)[~null[:, 0]] <= (upper - lower)[~null[:, 0]]).all()
    assert null.any() and (~null).any()


def test_batch_shapes():
    action = {"forward": np.ones((2, 3), int), "camera": np.full((2, 3, 2), 4.0)}
    index = action_to_index(action)
    assert index["buttons"].shape == index["camera"].shape == (2, 3)
    assert index_to_action(index)["camera"].shape == (2, 3, 2)
    single = index_to_action({"camera": 60, "buttons": STRIDES["jump"]})
    assert single["jump"] == 1 and single["camera"].shape == (2,)


def step(keys=(), buttons=(), dx=0.0, dy=0.0) -> dict:
    return {
        "keyboard": {"keys": list(keys)},
        "mouse": {"dx": dx, "dy": dy, "buttons": list(buttons)},
    }


def test_contractor_action_keys_and_null():
    action, is_null = contractor_action(
        step(["key.keyboard.w", "key.keyboard.left.shift", "key.keyboard.z"], [0, 2])
    )
    assert list(action) == list(ACTION_KEYS) and not is_null
    assert {key for key in ACTION_KEYS if key != "camera" and action[key]} == {
        "forward",
        "sneak",
        "attack",
        "pickItem",
    }
    assert contractor_action(step())[1] and contractor_action(step(["key.keyboard.z"]))[1]
    assert not contractor_action(step(dx=1.0))[1]
    actions = stack_actions([contractor_action(step(dy=y))[0] for y in (0.0, 40.0, -40.0)])
    assert actions["camera"].shape == (3, 2) and actions["forward"].shape == (3,)


def test_truncate_camera_reproduces_upstream():
    moved = step(dx=10.0, dy=3.0)  # [0.45, 1.5] degrees
    action, _ = contractor_action(moved)
    np.testing.assert_allclose(action["camera"], [0.45, 1.5])
    truncated, is_null = contractor_action(moved, truncate_camera=True)
    assert truncated["camera"].tolist() == [0, 1] and truncated["camera"].dtype == np.int64
    assert one(action) == (1, 6 * 11 + 7)
    assert one(truncated) == (1, 5 * 11 + 6)
    small, is_null = contractor_action(step(dy=3.0), truncate_camera=True)
    assert one(small) == (0, 60) and not is_null  # a real motion erased to the null camera
    toward_zero, _ = contractor_action(step(dx=-37.5, dy=37.5), truncate_camera=True)
    assert toward_zero["camera"].tolist() == [5, -5]  # 5.625 -> 5, -5.625 -> -5


def test_bad_input():
    with pytest.raises(ValueError, match="unknown action key"):
        action_to_index({"fly": 1})
    with pytest.raises(ValueError, match="shape"):
        action_to_index({"camera": [1.0, 2.0, 3.0]})
    with pytest.raises(ValueError, match="batch shape"):
        action_to_index({"forward": [1, 0], "camera": np.zeros((3, 2))})
    with pytest.raises(ValueError, match="0 or 1"):
        action_to_index({"forward": 2})
    with pytest.raises(ValueError, match="finite"):
        action_to_index({"camera": [np.nan, 0.0]})
    for buttons, camera in [(8641, 60), (-1, 60), (0, 121)]:
        with pytest.raises(ValueError, match=r"must lie in \[0, "):
            index_to_action({"camera": [camera], "buttons": [buttons]})
    with pytest.raises(TypeError, match="integers"):
        index_to_action({"camera": [60.0], "buttons": [0]})
    with pytest.raises(ValueError, match="shapes differ"):
        index_to_action({"camera": [60, 60], "buttons": [0]})
    with pytest.raises(ValueError, match="index keys"):
        index_to_action({"buttons": [0]})
    with pytest.raises(ValueError, match="at least one"):
        stack_actions([])
