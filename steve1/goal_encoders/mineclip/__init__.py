"""MineCLIP (attn variant) in the project's own code: no `mineclip` package needed.

    model = load_mineclip("downloads/mineclip_attn.pth", device="cuda")
    with torch.no_grad():
        goal = model.encode_video(frames)  # (B, 16, 3, 160, 256) raw RGB -> (B, 512)
    shaping = MineCLIPShaping(model)  # the MineDojo tasks' shaping-reward model (numpy in/out)

The module tree reproduces the official state-dict names and shapes
(`shared/reference/weight_formats/mineclip_attn.txt`), so `attn.pth` loads strictly.
"""

from steve1.goal_encoders.mineclip.checkpoint import (
    ATTN_MD5,
    DEFAULT_PATH,
    MineCLIPCheckpointError,
    StateDictMismatchError,
    file_md5,
    load_mineclip,
    mineclip_from_state_dict,
    model_tensors,
    read_checkpoint,
    save_mineclip,
)
from steve1.goal_encoders.mineclip.config import N_FRAMES, PIXEL_MEAN, PIXEL_STD, MineCLIPConfig
from steve1.goal_encoders.mineclip.model import FeatureWindow, MineCLIP, normalize_frames
from steve1.goal_encoders.mineclip.shaping import MineCLIPShaping
from steve1.goal_encoders.mineclip.tokenizer import ClipTokenizer, find_bpe_vocab

__all__ = [
    "ATTN_MD5",
    "DEFAULT_PATH",
    "N_FRAMES",
    "PIXEL_MEAN",
    "PIXEL_STD",
    "ClipTokenizer",
    "FeatureWindow",
    "MineCLIP",
    "MineCLIPCheckpointError",
    "MineCLIPConfig",
    "MineCLIPShaping",
    "StateDictMismatchError",
    "file_md5",
    "find_bpe_vocab",
    "load_mineclip",
    "mineclip_from_state_dict",
    "model_tensors",
    "normalize_frames",
    "read_checkpoint",
    "save_mineclip",
]
