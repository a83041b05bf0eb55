"""Where contractor episodes come from: OpenAI's index JSONs, shard selection, and fetching files.

An index is a JSON object `{"basedir": <url or directory>, "relpaths": [<episode>.mp4, ...]}`;
episode i's video is `basedir + relpaths[i]` and its recording the same path ending in `.jsonl`.
Network access is confined to `download` (urllib, so no extra dependency): a local path or a
`file://` URL is read in place, which is how the converter runs offline and in tests. A relative
local `basedir` is taken relative to the index file.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

INDEX_URL = "https://openaipublic.blob.core.windows.net/minecraft-rl/snapshots/all_{}.json"
INDEX_SNAPSHOTS = {
    "6.x": "6xx_Jun_29",
    "7.x": "7xx_Apr_6",
    "8.x": "8xx_Jun_29",
    "9.x": "9xx_Jun_29",
    "10.x": "10xx_Jun_29",
}
_CHUNK = 1 << 20


@dataclass(frozen=True)
class ContractorEpisode:
    """Episode `idx` of contractor index `version` (e.g. "8.x"), with its two source files."""

    version: str
    idx: int
    video: str  # URL or local path of the .mp4
    recording: str  # URL or local path of the .jsonl

    @property
    def key(self) -> str:
        """The episode's name prefix, upstream's: `contractor_8_x_123`."""
        return f"contractor_{self.version.replace('.', '_')}_{self.idx}"


def index_url(version: str) -> str:
    if version not in INDEX_SNAPSHOTS:
        raise ValueError(f"unknown index {version!r}; valid: {', '.join(INDEX_SNAPSHOTS)}")
    return INDEX_URL.format(INDEX_SNAPSHOTS[version])


def load_index(
    version: str, cache_dir: Path, index_file: Path | None = None
) -> list[ContractorEpisode]:
    """The episodes of an index: `index_file` if given, else OpenAI's (downloaded once to
    `cache_dir`)."""
    if index_file is None:
        index_file = cache_dir / f"index_{version.replace('.', '_')}.json"
        if not index_file.is_file():
            cache_dir.mkdir(parents=True, exist_ok=True)
            download(index_url(version), index_file)
    try:
        index = json.loads(Path(index_file).read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"index {index_file} is not JSON: {err}") from err
    return index_episodes(index, version, Path(index_file).resolve().parent)


def index_episodes(index: object, version: str, root: Path) -> list[ContractorEpisode]:
    """Validated episodes of a parsed index; a relative local basedir is taken from `root`."""
    if not isinstance(index, dict) or not isinstance(index.get("relpaths"), list):
        raise ValueError("an index must be an object with 'basedir' and a list 'relpaths'")
    basedir = str(index.get("basedir", ""))
    episodes = []
    for idx, relpath in enumerate(index["relpaths"]):
        if not (isinstance(relpath, str) and relpath.endswith(".mp4")):
            raise ValueError(f"index entry {idx} is not an .mp4 path: {relpath!r}")
        video = join_source(basedir, relpath, root)
        episodes.append(ContractorEpisode(version, idx, video, video[: -len(".mp4")] + ".jsonl"))
    return episodes


def join_source(basedir: str, relpath: str, root: Path) -> str:
    """`basedir + relpath` for a URL basedir, a path under `root` for a local one."""
    if _is_url(basedir):
        return basedir.rstrip("/") + "/" + relpath.lstrip("/")
    return str(root / basedir / relpath)


def select_shard(
    n_total: int, start_idx: int, num_episodes: int, worker_id: int, num_workers: int = 1
) -> list[int]:
    """Index positions this worker converts.

    `num_episodes >= 0`: upstream's blocks, worker k takes
    [start_idx + k * num_episodes, start_idx + (k + 1) * num_episodes).
    `num_episodes == -1`: every episode from `start_idx`, split by stride over `num_workers`.
    """
    if num_episodes == -1:
        return list(range(start_idx + worker_id, n_total, num_workers))
    first = start_idx + worker_id * num_episodes
    return list(range(min(first, n_total), min(first + num_episodes, n_total)))


def fetch(source: str, dest: Path) -> tuple[Path, bool]:
    """A local path holding `source`, and whether it was downloaded (to `dest`, the caller's to
    delete). Local paths and `file://` URLs are used in place."""
    if _is_url(source) and urlparse(source).scheme != "file":
        download(source, dest)
        return dest, True
    path = (
        Path(urllib.request.url2pathname(urlparse(source).path))
        if _is_url(source)
        else Path(source)
    )
    if not path.is_file():
        raise FileNotFoundError(f"{source} does not exist")
    return path, False


def download(url: str, dest: Path, attempts: int = 3, timeout: float = 60.0) -> None:
    """Stream `url` to `dest` (via `dest.part`, renamed when complete); transient errors are
    retried with backoff, HTTP 4xx is not."""
    part = dest.with_name(dest.name + ".part")
    request = urllib.request.Request(url, headers={"User-Agent": "ptgm-convert-from-contractor"})
    for attempt in range(attempts):
        try:
            with (
                urllib.request.urlopen(request, timeout=timeout) as response,
                open(part, "wb") as f,
            ):
                shutil.copyfileobj(response, f, _CHUNK)
            os.replace(part, dest)
            return
        except OSError as err:
            part.unlink(missing_ok=True)
            permanent = isinstance(err, urllib.error.HTTPError) and err.code < 500
            if permanent or attempt == attempts - 1:
                raise OSError(f"download of {url} failed: {err}") from err
            time.sleep(2.0**attempt)


def _is_url(source: str) -> bool:
    return len(urlparse(source).scheme) > 1  # a one-letter scheme is a Windows drive
