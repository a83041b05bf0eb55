"""`downloads.sh` against local files: a file:// mirror (PTGM_DOWNLOAD_BASE) and a scratch root
(PTGM_DOWNLOAD_ROOT), so nothing touches the network or the repository's downloads/."""

import gzip
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from VPT.downloads import DOWNLOADS_SH

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="downloads.sh needs curl")

VOCAB = "bpe_simple_vocab_16e6.txt.gz"


def run(tmp_path: Path, *args: str, base: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PTGM_DOWNLOAD_ROOT=str(tmp_path / "root"), PYTHON=sys.executable)
    env["PTGM_DOWNLOAD_BASE"] = base if base is not None else (tmp_path / "mirror").as_uri()
    (tmp_path / "root").mkdir(exist_ok=True)
    return subprocess.run(
        ["bash", str(DOWNLOADS_SH), *args], env=env, capture_output=True, text=True, timeout=300
    )


def mirror(tmp_path: Path, name: str, data: bytes) -> bytes:
    (tmp_path / "mirror").mkdir(exist_ok=True)
    (tmp_path / "mirror" / name).write_bytes(data)
    return data


def fetched(tmp_path: Path) -> list[str]:
    """Every file under the scratch root's downloads/, relative to it."""
    root = tmp_path / "root" / "downloads"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_help_says_what_each_file_is_for() -> None:
    out = subprocess.run(["bash", str(DOWNLOADS_SH), "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    vpt = "https://openaipublic.blob.core.windows.net/minecraft-rl/models/"
    for expected in (
        f"{vpt}2x.model",
        f"{vpt}rl-from-foundation-2x.weights",
        "id=1uaZM1ZLBz2dZWcn85rZmjP7LV6Sg5PZW",
        "id=1E3fd_-H1rRZqMkUKHfiMhx-ppLLehQPI",
        "-> downloads/steve1/steve1.weights",
        "md5:b5ece9198337cfd117a3bfbd921e56da",
        "MineCLIP (attn): goal embeddings",
        "SHA256SUMS",
    ):
        assert expected in out.stdout


def test_offline_names_the_url_and_writes_nothing(tmp_path) -> None:
    out = run(tmp_path, "2x.model", VOCAB, base="http://127.0.0.1:9")  # port 9: refused
    assert out.returncode == 1
    assert "FAILED to fetch http://127.0.0.1:9/2x.model: could not connect" in out.stderr
    assert "needs internet access" in out.stderr
    assert "nothing was written to downloads/2x.model" in out.stderr
    assert f"2 file(s) not fetched: 2x.model {VOCAB}" in out.stderr
    assert fetched(tmp_path) == []


def test_fetch_records_sha256_then_skips_the_present_file(tmp_path) -> None:
    data = mirror(tmp_path, VOCAB, gzip.compress(b"merges"))
    out = run(tmp_path, VOCAB)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "root/downloads" / VOCAB).read_bytes() == data
    sums = (tmp_path / "root/downloads/SHA256SUMS").read_text()
    assert sums == f"{hashlib.sha256(data).hexdigest()}  downloads/{VOCAB}\n"
    (tmp_path / "mirror" / VOCAB).unlink()  # a second fetch would now fail
    out = run(tmp_path, VOCAB)
    assert out.returncode == 0, out.stderr
    assert f"present  downloads/{VOCAB} (sha256 matches" in out.stderr
    assert fetched(tmp_path) == ["SHA256SUMS", VOCAB]


def test_a_corrupted_present_file_is_fetched_again(tmp_path) -> None:
    data = mirror(tmp_path, VOCAB, gzip.compress(b"merges"))
    assert run(tmp_path, VOCAB).returncode == 0
    (tmp_path / "root/downloads" / VOCAB).write_bytes(b"half")
    out = run(tmp_path, VOCAB)
    assert out.returncode == 0, out.stderr
    assert "differs from the one in downloads/SHA256SUMS; fetching it again" in out.stderr
    assert (tmp_path / "root/downloads" / VOCAB).read_bytes() == data


def test_a_file_changed_upstream_is_refused(tmp_path) -> None:
    mirror(tmp_path, VOCAB, gzip.compress(b"merges"))
    assert run(tmp_path, VOCAB).returncode == 0
    (tmp_path / "root/downloads" / VOCAB).unlink()
    mirror(tmp_path, VOCAB, gzip.compress(b"other merges"))
    out = run(tmp_path, VOCAB)
    assert out.returncode == 1
    assert "differs from" in out.stderr and "recorded in downloads/SHA256SUMS" in out.stderr
    assert fetched(tmp_path) == ["SHA256SUMS"]


def test_md5_mismatch_leaves_nothing(tmp_path) -> None:
    mirror(tmp_path, "mineclip_attn.pth", b"not mineclip")
    out = run(tmp_path, "mineclip_attn.pth")
    assert out.returncode == 1
    md5 = hashlib.md5(b"not mineclip").hexdigest()
    assert f"md5 {md5}, expected b5ece9198337cfd117a3bfbd921e56da" in out.stderr
    assert fetched(tmp_path) == []


def test_a_web_page_instead_of_a_drive_file_says_how_to_fetch_it(tmp_path) -> None:
    mirror(tmp_path, "steve1.weights", b"<!DOCTYPE html><html>quota exceeded</html>")
    out = run(tmp_path, "steve1.weights")
    assert out.returncode == 1
    assert "sent a web page" in out.stderr
    assert (
        "gdown 1E3fd_-H1rRZqMkUKHfiMhx-ppLLehQPI -O downloads/steve1/steve1.weights" in out.stderr
    )
    assert fetched(tmp_path) == []


def test_weights_that_do_not_load_strictly_are_refused(tmp_path) -> None:
    mirror(tmp_path, "rl-from-foundation-2x.weights", b"truncated")
    out = run(tmp_path, "rl-from-foundation-2x.weights")
    assert out.returncode == 1
    assert "not a readable torch state dict" in out.stderr
    assert fetched(tmp_path) == []


def test_part_files_never_stay(tmp_path) -> None:
    stale = tmp_path / "root/downloads" / f"{VOCAB}.part"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"stale half download")
    mirror(tmp_path, VOCAB, b"not gzip")
    out = run(tmp_path, VOCAB)
    assert out.returncode == 1 and "not an intact gzip file" in out.stderr
    assert fetched(tmp_path) == []
    mirror(tmp_path, VOCAB, gzip.compress(b"merges"))
    assert run(tmp_path, VOCAB).returncode == 0
    assert fetched(tmp_path) == ["SHA256SUMS", VOCAB]


def test_dry_run_and_bad_arguments(tmp_path) -> None:
    out = run(tmp_path, "--dry-run", "2x.model")
    assert out.returncode == 0
    assert "would fetch" in out.stderr and "/mirror/2x.model -> downloads/2x.model" in out.stderr
    assert fetched(tmp_path) == []
    out = run(tmp_path, "3x.model")
    assert out.returncode == 2 and "unknown file 3x.model; the files are: 2x.model" in out.stderr
