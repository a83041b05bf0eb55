"""Task specs: every shipped spec validates, and each kind of mistake names the valid values."""

import textwrap

import pytest

import tasks
from tasks.specs import TaskSpecError, load_task_specs, parse_task_spec

CRAFTER_TASKS = [
    "crafter_log",
    "crafter_water",
    "crafter_cobblestone",
    "crafter_iron",
    "crafter_spider",
]
MINECRAFT_TASKS = ["log_plains", "water_bucket", "cobblestone", "iron_ore", "spider"]


def test_shipped_specs_load():
    specs = load_task_specs()
    assert set(CRAFTER_TASKS + MINECRAFT_TASKS) <= set(specs)
    assert specs["cobblestone"].max_steps == 500 and specs["log_plains"].max_steps == 2000
    assert specs["spider"].target.kill == "spider"
    assert specs["crafter_cobblestone"].initial_inventory == {"wood_pickaxe": 1}
    assert specs["crafter_spider"].spawn[0].object == "zombie"


def test_unknown_task_lists_valid_names():
    with pytest.raises(TaskSpecError, match="crafter_log.*crafter_spider"):
        tasks.make("crafter_wood")


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            {"sim": "crafter", "target": {"item": "wood"}, "max_steps": 10, "colour": 1},
            "unknown key.*valid keys",
        ),
        ({"sim": "crafter", "target": {"item": "wood"}, "max_steps": "10"}, "expected int"),
        ({"sim": "crafter", "target": {"item": "wood"}, "max_steps": True}, "expected int"),
        ({"sim": "crafter", "target": {"item": "logs"}, "max_steps": 10}, "unknown item.*sapling"),
        (
            {"sim": "crafter", "target": {"achievement": "fly"}, "max_steps": 10},
            "unknown achievement.*collect_wood",
        ),
        (
            {
                "sim": "crafter",
                "target": {"item": "wood"},
                "max_steps": 10,
                "initial_inventory": {"gold": 1},
            },
            "unknown inventory item.*wood_pickaxe",
        ),
        (
            {
                "sim": "crafter",
                "target": {"item": "wood"},
                "max_steps": 10,
                "initial_inventory": {"wood": 1},
            },
            "already satisfies",
        ),
        (
            {
                "sim": "crafter",
                "target": {"item": "wood", "achievement": "eat_cow"},
                "max_steps": 9,
            },
            "exactly one of",
        ),
        (
            {
                "sim": "crafter",
                "target": {"item": "wood"},
                "max_steps": 10,
                "spawn": [{"object": "dragon"}],
            },
            "zombie, skeleton, cow",
        ),
        ({"sim": "crafter", "target": {"item": "wood"}}, "missing required key 'max_steps'"),
        ({"sim": "gazebo", "target": {"item": "wood"}, "max_steps": 10}, "crafter, minedojo"),
    ],
)
def test_invalid_entries(entry, message):
    with pytest.raises(TaskSpecError, match=message):
        parse_task_spec("bad", entry)


def test_malformed_yaml(tmp_path):
    path = tmp_path / "specs.yaml"
    path.write_text("crafter_log: {sim: crafter, target: [unclosed\n")
    with pytest.raises(TaskSpecError, match="malformed YAML"):
        load_task_specs(path)


def test_any_achievement_becomes_a_task_by_yaml_only(tmp_path):
    path = tmp_path / "specs.yaml"
    path.write_text(
        textwrap.dedent("""
        crafter_table:
          sim: crafter
          target: {achievement: place_table}
          initial_inventory: {wood: 2}
          max_steps: 50
    """)
    )
    spec = load_task_specs(path)["crafter_table"]
    assert spec.target.achievement == "place_table" and spec.initial_inventory == {"wood": 2}


def test_overrides_are_validated():
    assert tasks.get_task_spec("crafter_log", max_steps=7).max_steps == 7
    with pytest.raises(TaskSpecError, match="unknown key"):
        tasks.get_task_spec("crafter_log", max_stepz=7)


def test_minedojo_task_explains_what_is_missing():
    with pytest.raises(NotImplementedError, match="requirements-minecraft.txt"):
        tasks.make("cobblestone")
