"""CLIP's byte-level BPE tokenizer, for MineCLIP prompts.

It needs CLIP's merge list `bpe_simple_vocab_16e6.txt.gz` (1.3 MB), which this repository does not
ship and this code does not download (`bash downloads.sh` does). `find_bpe_vocab` looks for it
at an explicit path, in `downloads/`, and inside an installed `open_clip_torch` or OpenAI `clip`
package (both ship it).

Token layout (MineCLIP's): `<|startoftext|>`, at most context_length - 2 text tokens,
`<|endoftext|>`, then zeros. Vocabulary: the 256 byte symbols, the same with the end-of-word mark
`</w>`, one entry per merge (48,894 for CLIP), then the two special tokens (49,408 in all).
Text is HTML-unescaped, whitespace-collapsed and lower-cased; `ftfy` repair is not applied
(identical ids for plain ASCII prompts).
"""

from __future__ import annotations

import functools
import gzip
import html
import importlib.util
import os
import re
from pathlib import Path

import torch

from VPT.downloads import download_hint

VOCAB_NAME = "bpe_simple_vocab_16e6.txt.gz"
CLIP_MERGES = 49408 - 256 * 2 - 2
START, END = "<|startoftext|>", "<|endoftext|>"
_REPO_ROOT = Path(__file__).resolve().parents[3]

# Words: the special tokens, English contractions, letter runs, single digits, other symbol runs.
_WORD = re.compile(
    r"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[^\W\d_]+|\d|(?:[^\s\w]|_)+",
    re.IGNORECASE,
)


def find_bpe_vocab(path: str | os.PathLike | None = None) -> Path:
    """The BPE merge file: `path` if given, else the first of `downloads/`, `open_clip`, `clip`."""
    if path is not None:
        if not Path(path).is_file():
            raise FileNotFoundError(f"CLIP BPE vocabulary not found at {path}")
        return Path(path)
    candidates = [_REPO_ROOT / "downloads" / VOCAB_NAME]
    for package in ("open_clip", "clip"):
        spec = importlib.util.find_spec(package)
        if spec is not None and spec.submodule_search_locations:
            candidates += [Path(p) / VOCAB_NAME for p in spec.submodule_search_locations]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    official = download_hint(f"downloads/{VOCAB_NAME}") or ""
    raise FileNotFoundError(
        f"MineCLIP text encoding needs CLIP's BPE vocabulary {VOCAB_NAME}, which is not available "
        f"offline here. Looked in: {', '.join(str(c) for c in candidates)}. Put the file in "
        "downloads/, pass vocab_path=..., or `pip install open_clip_torch` (it ships the file). "
        f"Video embeddings need no vocabulary. {official}".rstrip()
    )


@functools.cache
def bytes_to_unicode() -> dict[int, str]:
    """A printable stand-in character for each of the 256 byte values (bytes that print as
    themselves keep their character; the others get code points from 256 up).

    Order matters: it is the order of the first 256 vocabulary ids (the printable bytes first,
    then the others by value), so `a` is id 64 and `a</w>` id 320.
    """
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1)]
    keep += range(ord("®"), ord("ÿ") + 1)
    table = {b: chr(b) for b in keep}
    others = [b for b in range(256) if b not in table]
    table.update({b: chr(256 + i) for i, b in enumerate(others)})
    return table


class ClipTokenizer:
    """Prompts -> (N, context_length) int64 token ids with CLIP's vocabulary."""

    def __init__(self, vocab_path: str | os.PathLike | None = None, n_merges: int = CLIP_MERGES):
        path = find_bpe_vocab(vocab_path)
        with gzip.open(path, "rt", encoding="utf-8") as f:
            lines = f.read().split("\n")[1 : n_merges + 1]  # line 0 is a version header
        merges = [tuple(line.split()) for line in lines if line.strip()]
        symbols = list(bytes_to_unicode().values())
        vocab = symbols + [s + "</w>" for s in symbols] + ["".join(m) for m in merges]
        vocab += [START, END]
        self.encoder = {token: i for i, token in enumerate(vocab)}
        self.ranks = {merge: i for i, merge in enumerate(merges)}
        self.byte_symbols = bytes_to_unicode()
        self._cache: dict[str, list[str]] = {START: [START], END: [END]}

    @property
    def start_id(self) -> int:
        return self.encoder[START]

    @property
    def end_id(self) -> int:
        return self.encoder[END]

    def bpe(self, word: str) -> list[str]:
        """Merge the symbols of one word, lowest-ranked pair first, until no known pair is left."""
        if word in self._cache:
            return self._cache[word]
        parts = [*word[:-1], word[-1] + "</w>"]
        while len(parts) > 1:
            pairs = {(a, b) for a, b in zip(parts, parts[1:], strict=False)}
            best = min(pairs, key=lambda p: self.ranks.get(p, float("inf")))
            if best not in self.ranks:
                break
            merged, i = [], 0
            while i < len(parts):
                if i + 1 < len(parts) and (parts[i], parts[i + 1]) == best:
                    merged.append(parts[i] + parts[i + 1])
                    i += 2
                else:
                    merged.append(parts[i])
                    i += 1
            parts = merged
        self._cache[word] = parts
        return parts

    def encode(self, text: str) -> list[int]:
        """Token ids of one text, without the start and end tokens."""
        text = html.unescape(html.unescape(text))
        text = re.sub(r"\s+", " ", text).strip().lower()
        ids = []
        for word in _WORD.findall(text):
            symbols = "".join(self.byte_symbols[b] for b in word.encode("utf-8"))
            ids += [self.encoder[part] for part in self.bpe(symbols)]
        return ids

    def __call__(self, texts: list[str], context_length: int = 77) -> torch.Tensor:
        tokens = torch.zeros(len(texts), context_length, dtype=torch.long)
        for row, text in enumerate(texts):
            ids = [self.start_id, *self.encode(text)[: context_length - 2], self.end_id]
            tokens[row, : len(ids)] = torch.tensor(ids)
        return tokens
