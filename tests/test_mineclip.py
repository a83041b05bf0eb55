"""Our MineCLIP (attn): the official state-dict layout, the video/text paths on a tiny config, the
checkpoint format and its errors.

Reference: `../shared/reference/weight_formats/mineclip_attn.txt` (a dump of the upstream model's
state dict; the real `attn.pth` is not available here).
"""

from __future__ import annotations

import dataclasses
import gzip
import json

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from steve1.goal_encoders import mineclip
from steve1.goal_encoders.mineclip import (
    ATTN_MD5,
    ClipTokenizer,
    FeatureWindow,
    MineCLIP,
    MineCLIPCheckpointError,
    MineCLIPConfig,
    MineCLIPShaping,
    StateDictMismatchError,
    file_md5,
    load_mineclip,
    mineclip_from_state_dict,
    model_tensors,
    normalize_frames,
    save_mineclip,
)
from steve1.goal_encoders.mineclip import tokenizer as tokenizer_module
from tasks.minedojo import ClipRewardModel
from tests.helpers import read_reference, write_small_bpe_vocab

TINY = MineCLIPConfig.tiny()


@pytest.fixture(scope="module")
def tiny_model() -> MineCLIP:
    torch.manual_seed(0)
    return MineCLIP(TINY).eval()


def random_frames(batch: int, length: int, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    height, width = TINY.resolution
    return torch.randint(
        0, 256, (batch, length, 3, height, width), generator=gen, dtype=torch.uint8
    )


# --- the official layout ---------------------------------------------------------------------


def test_attn_state_dict_matches_reference_line_by_line() -> None:
    header, entries = read_reference("mineclip_attn.txt")
    with torch.device("meta"):
        model = MineCLIP(MineCLIPConfig())
    built = [(name, list(t.shape)) for name, t in model.state_dict().items()]
    assert len(built) == len(entries) == int(header["state_dict entries"])
    for got, want in zip(built, entries, strict=True):
        assert got == want
    assert sum(p.numel() for p in model.parameters()) == int(
        header["parameter count (unique nn.Parameters)"]
    )
    assert sum(t.numel() for t in model.state_dict().values()) == int(
        header["total elements over all state_dict entries (incl. buffers and aliased duplicates)"]
    )
    assert len(list(model.buffers())) == 0


def test_reference_names_load_strictly_through_the_loader() -> None:
    """A checkpoint holding exactly the reference's names (with `model.`, under `state_dict`)
    goes through the loader's own path on the meta device: prefix strip, check, strict load."""
    _, entries = read_reference("mineclip_attn.txt")
    ckpt = {
        "state_dict": {
            "model." + name: torch.empty(shape, device="meta", dtype=torch.float16)
            for name, shape in entries
        }
    }
    model = mineclip_from_state_dict(model_tensors(ckpt), device="meta")
    assert model.clip_model.vision_model.pos_embed.shape == (161, 768)
    assert model.reward_head.video_residual_weight.dtype == torch.float32  # loaded as float32
    assert model.image_encoder is model.clip_model.vision_model


def test_default_config_is_the_reference_kwargs() -> None:
    header, _ = read_reference("mineclip_attn.txt")
    kwargs = json.loads(header["kwargs"])
    cfg = MineCLIPConfig()
    assert list(cfg.resolution) == kwargs["resolution"]
    assert cfg.embed_dim == kwargs["hidden_dim"] == kwargs["image_feature_dim"]
    assert kwargs["pool_type"] == f"attn.d{cfg.temporal_layers}.nh{cfg.temporal_heads}.glusw"


def test_one_clip_module_under_three_paths(tiny_model: MineCLIP) -> None:
    assert tiny_model.image_encoder is tiny_model.clip_model.vision_model
    assert tiny_model.reward_head.clip_model is tiny_model.clip_model


# --- forward on the tiny config --------------------------------------------------------------


def test_normalisation() -> None:
    mean = torch.tensor(mineclip.PIXEL_MEAN).view(3, 1, 1)
    std = torch.tensor(mineclip.PIXEL_STD).view(3, 1, 1)
    frames = random_frames(1, 2)
    want = (frames.float() / 255 - mean) / std
    torch.testing.assert_close(normalize_frames(frames), want)
    grey = (mean * 255).expand(3, 4, 4)  # the mean colour maps to zero
    torch.testing.assert_close(normalize_frames(grey), torch.zeros(3, 4, 4))


def test_image_features_use_normalised_frames(tiny_model: MineCLIP) -> None:
    frames = random_frames(2, 3)
    with torch.no_grad():
        feats = tiny_model.image_features(frames)
        manual = tiny_model.image_encoder(normalize_frames(frames.flatten(0, 1)))
        as_float = tiny_model.image_features(frames.float())
    assert feats.shape == (2, 3, TINY.embed_dim)
    torch.testing.assert_close(feats.flatten(0, 1), manual)
    torch.testing.assert_close(feats, as_float)  # uint8 and float 0..255 inputs agree


def reference_video_feature(state: dict[str, torch.Tensor], feats: torch.Tensor) -> torch.Tensor:
    """The temporal encoder written out from the checkpoint names alone: scaled positions,
    pre-norm attention / GLU-swish pairs, final LayerNorm, mean over frames."""
    pre = "temporal_encoder.attn.model."
    batch, length, dim = feats.shape
    heads = TINY.temporal_heads
    x = feats + state[pre + "pos_emb.emb.weight"][:length] * dim**-0.5
    for i in range(2 * TINY.temporal_layers):
        layer = f"{pre}attn_layers.layers.{i}."
        h = F.layer_norm(x, (dim,), state[layer + "0.0.weight"], state[layer + "0.0.bias"])
        if i % 2 == 0:
            q, k, v = (
                (h @ state[f"{layer}1.to_{n}.weight"].T).view(batch, length, heads, -1)
                for n in "qkv"
            )
            weights = torch.einsum("bihd,bjhd->bhij", q, k) / q.shape[-1] ** 0.5
            out = torch.einsum("bhij,bjhd->bihd", weights.softmax(-1), v).reshape(batch, length, -1)
            x = x + out @ state[layer + "1.to_out.weight"].T
        else:
            proj = h @ state[layer + "1.net.0.proj.weight"].T + state[layer + "1.net.0.proj.bias"]
            value, gate = proj.chunk(2, dim=-1)
            hidden = value * F.silu(gate)
            x = x + hidden @ state[layer + "1.net.3.weight"].T + state[layer + "1.net.3.bias"]
    x = F.layer_norm(x, (dim,), state[pre + "norm.weight"], state[pre + "norm.bias"])
    return x.mean(dim=1)


def test_encode_video_is_the_16_frame_mean_of_the_temporal_encoder(tiny_model: MineCLIP) -> None:
    frames = random_frames(2, mineclip.N_FRAMES)
    with torch.no_grad():
        video = tiny_model.encode_video(frames)
        feats = tiny_model.image_features(frames)
        want = reference_video_feature(tiny_model.state_dict(), feats)
    assert video.shape == (2, TINY.embed_dim)
    torch.testing.assert_close(video, want)


def test_rolling_window_matches_full_forward(tiny_model: MineCLIP) -> None:
    n = mineclip.N_FRAMES
    frames = random_frames(2, n + 4, seed=1)
    window = FeatureWindow(batch=2, dim=TINY.embed_dim)
    seen = []
    with torch.no_grad():
        for t in range(frames.shape[1]):
            feat = tiny_model.image_features(frames[:, t : t + 1])[:, 0]
            seen.append(feat)
            video = tiny_model.video_features(window.push(feat))
            if t >= n - 1:
                full = tiny_model.encode_video(frames[:, t - n + 1 : t + 1])
            else:  # before 16 frames the window is zero-padded at the front
                padded = torch.zeros(2, n - t - 1, TINY.embed_dim)
                full = tiny_model.video_features(torch.cat([padded, torch.stack(seen, 1)], 1))
            torch.testing.assert_close(video, full, atol=1e-5, rtol=1e-5)
    window.reset(index=0)
    assert window.window[0].abs().sum() == 0 and window.window[1].abs().sum() > 0


def test_bad_frames_are_rejected(tiny_model: MineCLIP) -> None:
    with pytest.raises(ValueError, match=r"32x48"):
        tiny_model.encode_video(torch.zeros(1, 16, 3, 160, 256))
    with pytest.raises(ValueError, match=r"\(B, L, 3, H, W\)"):
        tiny_model.encode_video(torch.zeros(16, 3, 32, 48))
    with pytest.raises(ValueError, match="positions"):
        tiny_model.encode_video(torch.zeros(1, TINY.max_frames + 1, 3, 32, 48))


def test_text_features_and_reward_logits(tiny_model: MineCLIP) -> None:
    gen = torch.Generator().manual_seed(2)
    tokens = torch.randint(1, TINY.vocab_size - 1, (3, TINY.context_length), generator=gen)
    with torch.no_grad():
        text = tiny_model.encode_text(tokens)
        video = tiny_model.encode_video(random_frames(2, 16))
        logits = tiny_model.reward_logits(video, text)
        adapted = tiny_model.reward_head.adapt_video(video)
    assert text.shape == (3, TINY.embed_dim) and logits.shape == (2, 3)
    cosine = F.normalize(adapted, dim=-1) @ F.normalize(text, dim=-1).T
    torch.testing.assert_close(logits, tiny_model.clip_model.logit_scale.exp() * cosine)


def test_text_without_vocabulary_names_the_missing_file(tiny_model, monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(tokenizer_module, "_REPO_ROOT", tmp_path)
    monkeypatch.setattr(tokenizer_module.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(FileNotFoundError, match="bpe_simple_vocab_16e6.txt.gz.*open_clip_torch"):
        tiny_model.encode_text(["cut a tree"])
    with pytest.raises(FileNotFoundError, match="not found at"):
        tiny_model.encode_text(["cut a tree"], vocab_path=str(tmp_path / "nope.txt.gz"))


def test_tokenizer_with_a_small_merge_list(tmp_path) -> None:
    vocab = tmp_path / "bpe.txt.gz"
    merges = ["c u", "cu t</w>", "t r", "e e</w>", "tr ee</w>"]
    with gzip.open(vocab, "wt", encoding="utf-8") as f:
        f.write("\n".join(["#version: 0.2", *merges]) + "\n")
    tok = ClipTokenizer(vocab, n_merges=len(merges))
    start, end = 512 + len(merges), 513 + len(merges)
    assert (tok.start_id, tok.end_id) == (start, end)
    # Byte ids: printable bytes from '!' (33) on come first, so 'c' is 99 - 33 and 'a</w>' is
    # 256 + 97 - 33 = 320 (as in CLIP). cut -> merge 1, tree -> merge 4, ct has no merge.
    byte_id = {ch: ord(ch) - 33 for ch in "act&"}
    assert tok.encode("Cut  a&amp;TREE ct") == [
        513,
        256 + byte_id["a"],
        256 + byte_id["&"],
        516,
        byte_id["c"],
        256 + byte_id["t"],
    ]
    tokens = tok(["cut a tree", "tree tree tree tree"], context_length=5)
    assert tokens.tolist() == [[start, 513, 320, 516, end], [start, 516, 516, 516, end]]
    assert tok(["cut"], context_length=6).tolist() == [[start, 513, end, 0, 0, 0]]
    table = tokenizer_module.bytes_to_unicode()
    assert list(table)[:3] == [33, 34, 35] and table[ord(" ")] == "\u0120"
    assert len(set(table.values())) == 256


# --- checkpoints ---------------------------------------------------------------------------


def test_round_trip_in_the_upstream_layout(tiny_model: MineCLIP, tmp_path) -> None:
    path = tmp_path / "tiny_attn.pth"
    save_mineclip(tiny_model, path)
    raw = torch.load(path, weights_only=True)
    assert set(raw) == {"state_dict"}
    assert list(raw["state_dict"]) == ["model." + k for k in tiny_model.state_dict()]

    frames = random_frames(1, 16, seed=3)
    with torch.no_grad():
        want = tiny_model.encode_video(frames)
    for kwargs in ({"md5": file_md5(path)}, {"check_md5": False}):
        loaded = load_mineclip(path, "cpu", config=TINY, **kwargs)
        assert not loaded.training
        with torch.no_grad():
            torch.testing.assert_close(loaded.encode_video(frames), want, rtol=0, atol=0)
        assert loaded.image_encoder is loaded.clip_model.vision_model


def test_upstream_extras_are_ignored(tiny_model: MineCLIP, tmp_path) -> None:
    """Other top-level entries and state-dict keys without `model.` are skipped, like upstream."""
    state = {"model." + k: v for k, v in tiny_model.state_dict().items()}
    state["loss.temperature"] = torch.zeros(1)
    path = tmp_path / "lightning.pth"
    torch.save({"state_dict": state, "epoch": 3, "global_step": 10}, path)
    load_mineclip(path, config=TINY, check_md5=False)


def test_missing_file_names_path_and_downloads_sh(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match=r"absent\.pth.*downloads\.sh"):
        load_mineclip(tmp_path / "absent.pth")


def test_md5_mismatch(tiny_model: MineCLIP, tmp_path) -> None:
    path = tmp_path / "tiny.pth"
    save_mineclip(tiny_model, path)
    with pytest.raises(MineCLIPCheckpointError, match=f"md5 {file_md5(path)}.*{ATTN_MD5}"):
        load_mineclip(path, config=TINY)


def test_mismatched_names_and_shapes_are_listed(tiny_model: MineCLIP, tmp_path) -> None:
    state = {"model." + k: v for k, v in tiny_model.state_dict().items()}
    del state["model.temporal_encoder.attn.model.norm.bias"]
    state["model.temporal_encoder.extra.weight"] = torch.zeros(2, 3)
    state["model.image_encoder.projection"] = torch.zeros(7, 5)
    path = tmp_path / "bad.pth"
    torch.save({"state_dict": state}, path)
    with pytest.raises(StateDictMismatchError) as err:
        load_mineclip(path, config=TINY, check_md5=False)
    message = str(err.value)
    assert "temporal_encoder.attn.model.norm.bias [16]" in message
    assert "temporal_encoder.extra.weight [2, 3]" in message
    assert "image_encoder.projection: model expects [32, 16], file has [7, 5]" in message
    assert list(err.value.missing) == ["temporal_encoder.attn.model.norm.bias"]


def test_one_path_per_alias_is_not_enough(tiny_model: MineCLIP, tmp_path) -> None:
    """Strict loading needs every aliased name, as upstream's loader does."""
    state = {
        "model." + k: v
        for k, v in tiny_model.state_dict().items()
        if not k.startswith(("clip_model.", "reward_head.clip_model."))
    }
    path = tmp_path / "dedup.pth"
    torch.save({"state_dict": state}, path)
    with pytest.raises(StateDictMismatchError, match="missing from the file"):
        load_mineclip(path, config=TINY, check_md5=False)


def test_wrong_layout(tmp_path) -> None:
    path = tmp_path / "flat.pth"
    torch.save({"image_encoder.cls_token": torch.zeros(3)}, path)
    with pytest.raises(MineCLIPCheckpointError, match="'state_dict'"):
        load_mineclip(path, config=TINY, check_md5=False)
    torch.save({"state_dict": {"image_encoder.cls_token": torch.zeros(3)}}, path)
    with pytest.raises(MineCLIPCheckpointError, match="'model.'"):
        load_mineclip(path, config=TINY, check_md5=False)


class Hyperparameters:
    """A non-tensor object in a checkpoint (Lightning stores such things)."""

    lr = 1e-4


def test_objects_are_unpickled_only_after_the_md5_check(tiny_model: MineCLIP, tmp_path) -> None:
    state = {"model." + k: v for k, v in tiny_model.state_dict().items()}
    path = tmp_path / "objects.pth"
    torch.save({"state_dict": state, "hyper_parameters": Hyperparameters()}, path)
    with pytest.raises(MineCLIPCheckpointError, match="not unpickled"):
        load_mineclip(path, config=TINY, check_md5=False)
    load_mineclip(path, config=TINY, md5=file_md5(path))


# --- the shaping-reward adapter ----------------------------------------------------------------


def test_shaping_adapter_scores_windows_as_the_model(tmp_path) -> None:
    """`MineCLIPShaping` (numpy in, numpy out) gives the model's own features and reward logits,
    encodes each prompt list once, and refuses frames at another resolution."""
    vocab = write_small_bpe_vocab(tmp_path / "bpe.txt.gz")
    torch.manual_seed(3)
    model = MineCLIP(dataclasses.replace(TINY, vocab_size=520)).eval()
    adapter = MineCLIPShaping(model, vocab)
    assert isinstance(adapter, ClipRewardModel)
    frames = random_frames(1, 16, seed=4)
    features = np.stack([adapter.image_features(f.numpy()) for f in frames[0]])
    assert features.shape == (16, TINY.embed_dim) and features.dtype == np.float32
    prompts = ["cut a tree", "tree"]
    logits = adapter.prompt_logits(features, prompts)
    with torch.no_grad():
        tokens = ClipTokenizer(vocab)(prompts, TINY.context_length)
        expected = model.reward_logits(model.encode_video(frames), model.encode_text(tokens))[0]
    np.testing.assert_allclose(logits, expected.numpy(), rtol=1e-5, atol=1e-5)
    calls = []
    encode = model.encode_text
    model.encode_text = lambda tokens: calls.append(tokens) or encode(tokens)
    adapter.prompt_logits(features, prompts)
    assert calls == []  # cached
    with pytest.raises(ValueError, match="shape"):
        adapter.image_features(np.zeros((3, 160, 256), np.uint8))


def test_shaping_adapter_without_vocabulary_names_downloads_sh(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(tokenizer_module, "_REPO_ROOT", tmp_path)
    monkeypatch.setattr(tokenizer_module.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(FileNotFoundError, match=r"downloads\.sh:\d+: entry bpe_simple_vocab"):
        MineCLIPShaping(MineCLIP(TINY))
