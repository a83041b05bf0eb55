"""Official downloads: a missing one names its `downloads.sh` line; downloaded files are checked
strictly against our architecture (`steve1.check_download`, run by `downloads.sh`)."""

from pathlib import Path

import pytest
import torch

from hierarchical.models import PretrainedModelError, require_file
from steve1.check_download import check_model_file, check_weights, main
from steve1.embed_conditioned_policy import EmbedConditionedPolicy
from steve1.goal_encoders.mineclip.checkpoint import load_mineclip
from VPT.checkpoint import load_model_file, read_weights, save_model_file, save_weights
from VPT.downloads import (
    DOWNLOADS_SH,
    MissingDownloadError,
    download_for,
    official_downloads,
)
from VPT.downloads import require_file as require_download
from VPT.policy import VPTPolicy
from VPT.presets import MINECRAFT_ACTION_SPACE, get_preset

# The paths upstream PTGM and this project's Minecraft defaults expect (spec 1, 2.0, 2.6).
EXPECTED = {
    "2x.model": "downloads/2x.model",
    "rl-from-foundation-2x.weights": "downloads/rl-from-foundation-2x.weights",
    "mineclip_attn.pth": "downloads/mineclip_attn.pth",
    "steve1.weights": "downloads/steve1/steve1.weights",
}


def test_downloads_sh_lists_the_paths_the_code_expects() -> None:
    from hierarchical.run_config import WORLD_DEFAULTS
    from steve1.goal_encoders.mineclip.checkpoint import DEFAULT_PATH

    paths = {d.name: d.path for d in official_downloads()}
    assert {k: paths[k] for k in EXPECTED} == EXPECTED
    minecraft = WORLD_DEFAULTS["minecraft"]
    for key in ("in_model", "in_weights", "weights"):
        assert minecraft[key] in paths.values(), key
    assert str(DEFAULT_PATH) in paths.values()


def test_an_entry_is_its_line_of_downloads_sh() -> None:
    lines = DOWNLOADS_SH.read_text().splitlines()
    for entry in official_downloads():
        assert lines[entry.lineno - 1].strip() == entry.line
        assert entry.path in entry.line and entry.line.startswith(f"entry {entry.name} ")


@pytest.mark.parametrize("spelling", ["downloads/2x.model", "./downloads/2x.model", "ABS"])
def test_spellings_of_a_path_find_its_entry(spelling: str, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "downloads/2x.model" if spelling == "ABS" else spelling
    assert download_for(path).name == "2x.model"
    assert download_for("downloads/other.model") is None


def test_missing_official_file_names_path_and_line(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    entry = download_for("downloads/steve1/steve1.weights")
    with pytest.raises(MissingDownloadError) as err:
        require_download("downloads/steve1/steve1.weights", "low-level .weights")
    message = str(err.value)
    assert "low-level .weights not found: downloads/steve1/steve1.weights" in message
    assert f"downloads.sh:{entry.lineno}: {entry.line}" in message
    assert "bash downloads.sh steve1.weights" in message


def test_missing_other_file_says_only_that(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match=r"not found: .*x\.model\.$"):
        require_download(tmp_path / "x.model", ".model file")


def test_vpt_readers_name_the_line(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(
        MissingDownloadError, match=r"(?s)downloads/2x\.model.*downloads\.sh:\d+: entry"
    ):
        load_model_file("downloads/2x.model")
    with pytest.raises(MissingDownloadError, match=r"downloads\.sh:\d+: entry rl-from-foundation"):
        read_weights("downloads/rl-from-foundation-2x.weights")


def test_high_level_and_mineclip_name_the_line(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(PretrainedModelError, match=r"downloads\.sh:\d+: entry steve1\.weights"):
        require_file(Path("downloads/steve1/steve1.weights"), "low-level .weights")
    with pytest.raises(PretrainedModelError, match="downloads/crafter"):
        require_file(Path("results/x.weights"), "goal-prior .weights")
    with pytest.raises(MissingDownloadError, match=r"downloads\.sh:\d+: entry mineclip_attn\.pth"):
        load_mineclip()


def _tiny(kind: str) -> torch.nn.Module:
    p = get_preset("tiny")
    if kind == "steve1":
        return EmbedConditionedPolicy(p.policy_kwargs, MINECRAFT_ACTION_SPACE, p.pi_head_kwargs)
    return VPTPolicy(p.policy_kwargs, MINECRAFT_ACTION_SPACE, p.pi_head_kwargs)


@pytest.mark.parametrize("kind", ["vpt", "steve1"])
def test_weights_that_fit_pass_strictly(kind: str, tmp_path) -> None:
    path = tmp_path / "w.weights"
    save_weights(_tiny(kind), path, prefix="policy." if kind == "steve1" else "")
    assert "load strictly" in check_weights(path, kind, preset="tiny")


def test_weights_of_the_other_kind_fail(tmp_path) -> None:
    path = tmp_path / "steve1.weights"
    save_weights(_tiny("steve1"), path)
    with pytest.raises(ValueError, match="mineclip_embed_linear"):
        check_weights(path, "vpt", preset="tiny")
    save_weights(_tiny("vpt"), path)
    with pytest.raises(ValueError, match="mineclip_embed_linear"):
        check_weights(path, "steve1", preset="tiny")


def test_garbage_weights_fail_in_one_line(tmp_path, capsys) -> None:
    path = tmp_path / "rl.weights"
    path.write_bytes(b"not a torch file")
    assert main(["vpt", str(path), "--preset", "tiny"]) == 1
    assert "not a readable torch state dict" in capsys.readouterr().err


def test_model_file_against_the_2x_preset(tmp_path, capsys) -> None:
    p2x, tiny = get_preset("2x"), get_preset("tiny")
    save_model_file(tmp_path / "2x.model", p2x.policy_kwargs, p2x.pi_head_kwargs)
    assert "equal the 2x preset" in check_model_file(tmp_path / "2x.model")
    save_model_file(tmp_path / "t.model", tiny.policy_kwargs, tiny.pi_head_kwargs)
    assert main(["model", str(tmp_path / "t.model")]) == 1
    assert "hidsize: file 32, preset 2048" in capsys.readouterr().err
