"""A face's w from its pixels in one pass: the encoder that starts the anonymizer's projection.

facestudio trains it itself (:mod:`facestudio.training.encoder`, ``facestudio
train-encoder``) on faces its own generator made, whose w is known, so it needs no
photos. It ships as ``weights/encoder.safetensors`` with ``weights/encoder.json`` (its
error on held-out generated faces) and is tied to one generator: the file's metadata names
the sha256 of the model it was trained for, and :func:`encoder_for` gives no encoder for any
other model (the projection then starts from its pool of faces alone).

The network reads the aligned face at 64 px (larger faces are reduced by area averaging)
and gives one w ``[w_dim]`` (the same on every layer: W, not W+). It predicts the w's
offset from the model's mean w in units of each coordinate's spread; both are stored in
the file with the weights, so reading it needs nothing else. This module holds only the
inference; nothing here writes a file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from facestudio.errors import FacestudioError

INPUT_SIZE = 64  # the network's input side in pixels
WEIGHTS_NAME = "encoder.safetensors"  # in weights/
REPORT_NAME = "encoder.json"  # in weights/: the held-out error report
FORMAT = "facestudio-encoder"
VERSION = "1"
MAX_ENCODER_BYTES = 32 << 20  # the bundled file is about 2 MB (float16)
MAX_W_DIM = 2048  # read from the file's metadata, bounded before the network is built
MAX_WIDTH = 256
STAGES = 4  # 64 px -> 4 px


class EncoderFileError(FacestudioError, ValueError):
    """The encoder's weights are missing or unreadable; one sentence."""


class FaceEncoder(nn.Module):
    """A stride-2 stem to 32 px, three stages of a 3x3 conv and a stride-2 3x3 conv (to 4 px,
    channels ``width`` -> ``4 * width``), then a linear layer from the flattened 4x4 map (it
    keeps where things are: the head's turn and nod) to w. About 50 M multiply-adds a face.
    ``w_avg`` and ``w_scale`` turn the network's output into the model's w."""

    def __init__(self, w_dim: int, width: int = 32):
        super().__init__()

        def conv(cin, cout, stride):
            return [nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(cout),
                    nn.ReLU(inplace=True)]

        layers, cin = conv(3, width, 2), width
        for stage in range(STAGES - 1):
            cout = width * min(4, 2 ** (stage + 1))
            layers += conv(cin, cin, 1) + conv(cin, cout, 2)
            cin = cout
        self.features = nn.Sequential(*layers)
        side = INPUT_SIZE >> STAGES
        self.head = nn.Linear(cin * side * side, w_dim)
        self.register_buffer("w_avg", torch.zeros(w_dim))
        self.register_buffer("w_scale", torch.ones(w_dim))
        self.w_dim, self.width = w_dim, width

    def normalised(self, images: torch.Tensor) -> torch.Tensor:
        """images: float ``[N, 3, H, W]`` in [-1, 1] -> the w's offset from ``w_avg`` in units
        of ``w_scale``, ``[N, w_dim]`` float32 (what training compares)."""
        if images.shape[-1] != INPUT_SIZE or images.shape[-2] != INPUT_SIZE:
            images = F.interpolate(images, size=(INPUT_SIZE, INPUT_SIZE), mode="area")
        return self.head(self.features(images).flatten(1)).float()

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """images: float ``[N, 3, H, W]`` in [-1, 1] -> w ``[N, w_dim]`` float32."""
        return self.w_avg + self.w_scale * self.normalised(images)


@torch.no_grad()
def encode(net: FaceEncoder, faces: np.ndarray, batch: int = 64) -> np.ndarray:
    """w ``[N, w_dim]`` float32 of uint8 faces ``[N, H, W, 3]`` (aligned as the model's own)."""
    from facestudio.analysis.attributes import to_input
    net.eval()
    out = [np.zeros((0, net.w_dim), np.float32)]
    for start in range(0, len(faces), batch):
        out.append(net(to_input(faces[start:start + batch])).numpy())
    return np.concatenate(out)


def encoder_metadata(net: FaceEncoder, model_sha256: str) -> dict[str, str]:
    """The safetensors metadata that :func:`load_encoder` reads back."""
    return {"format": FORMAT, "version": VERSION, "w_dim": str(net.w_dim), "width": str(net.width),
            "model_sha256": model_sha256}


def _bounded_int(meta: dict, key: str, most: int, path: Path) -> int:
    try:
        value = int(meta.get(key, ""))
    except ValueError:
        value = 0
    if not 1 <= value <= most:
        raise EncoderFileError(f"the encoder {path} gives no {key} between 1 and {most} in its metadata.")
    return value


def load_encoder(path: Path) -> tuple[FaceEncoder, str]:
    """The network stored in the safetensors file ``path`` (in eval mode, float32) and the
    sha256 of the model it was trained for; :class:`EncoderFileError` when the file is
    missing, too large or not such a network."""
    from safetensors import SafetensorError, safe_open
    from safetensors.torch import load_file
    path = Path(path)
    if not path.is_file():
        raise EncoderFileError(f"the encoder {path} does not exist.")
    if path.stat().st_size > MAX_ENCODER_BYTES:
        raise EncoderFileError(f"the encoder {path} is larger than such a file can be "
                               f"({MAX_ENCODER_BYTES >> 20} MiB at most).")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
        if meta.get("format") != FORMAT:
            raise EncoderFileError(f"{path} is not a facestudio encoder (its metadata does not say {FORMAT}).")
        net = FaceEncoder(_bounded_int(meta, "w_dim", MAX_W_DIM, path), _bounded_int(meta, "width", MAX_WIDTH, path))
        net.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in load_file(str(path)).items()})
    except (SafetensorError, RuntimeError, OSError) as exc:
        reason = str(exc).splitlines()[0][:200].rstrip(".")
        raise EncoderFileError(f"the encoder {path} cannot be read: {reason}.") from None
    return net.eval(), meta.get("model_sha256", "")


def bundled_paths() -> tuple[Path, Path]:
    """``weights/encoder.safetensors`` and ``weights/encoder.json``."""
    from facestudio.locations import bundled_weights_dir
    folder = bundled_weights_dir()
    return folder / WEIGHTS_NAME, folder / REPORT_NAME


def encoder_for(g, path: Path | None = None) -> FaceEncoder | None:
    """The encoder (the bundled one by default) when it was trained for model ``g`` (same
    sha256 and w size); None for any other model or when no encoder file is there.
    :class:`EncoderFileError` when the file is there but damaged."""
    path = Path(path) if path is not None else bundled_paths()[0]
    if not path.is_file():
        return None
    net, model_sha256 = load_encoder(path)
    if model_sha256 != g.sha256 or net.w_dim != g.w_dim:
        return None
    return net
