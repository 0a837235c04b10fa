"""Apparent age and P(female) from the bundled attribute classifier (inference only).

The classifier is trained on UTKFace's file-name labels by
:mod:`facestudio.training.attribute_classifier`; this module holds the network, the input
conversion, batched prediction and the file format read, so that measuring a face (the
audit, ``find``, the studio) needs nothing from ``training/``.

It reads any model's faces: uint8 ``[N, H, W, 3]`` RGB of any size, resized to 64x64. The
network has two heads: a gender logit (positive = female) and ``log(1 + age)`` regression.
The bundled weights are ``weights/attributes.safetensors``; ``weights/attributes.json``
holds their error on held-out UTKFace photos per age bin and gender, the split seed and the
digest of the training data, so that every reader of an age or a gender knows how far to
trust it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from facestudio.errors import FacestudioError

INPUT_SIZE = 64  # the network's input side in pixels; other sizes are resized to it
WEIGHTS_NAME = "attributes.safetensors"  # in weights/
REPORT_NAME = "attributes.json"  # in weights/: the held-out error report
MAX_CLASSIFIER_BYTES = 64 << 20  # the bundled file is 2.3 MB (float32)


class ClassifierFileError(FacestudioError, ValueError):
    """The classifier's weights or report are missing or unreadable; one sentence."""


class AttributeNet(nn.Module):
    """A stride-2 stem to 32 px, then three stages (3x3 conv, then a stride-2 3x3 conv that
    doubles the channels, 32 -> 256), global average pooling and ``[N, 2]`` outputs: column
    0 the gender logit, column 1 ``log1p(age)``. About 45 M multiply-adds per face."""

    def __init__(self, width: int = 32):
        """width: channels of the stem; each of the three stages doubles it."""
        super().__init__()

        def conv(cin, cout, stride):
            return [nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(cout),
                    nn.ReLU(inplace=True)]

        layers, cin = conv(3, width, 2), width
        for i in range(3):
            layers += conv(cin, cin, 1) + conv(cin, cin * 2, 2)
            cin *= 2
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Dropout(0.2), nn.Linear(cin, 2))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """images: float ``[N, 3, H, W]`` in [-1, 1] -> ``[N, 2]`` float32."""
        if images.shape[-1] != INPUT_SIZE or images.shape[-2] != INPUT_SIZE:
            images = F.interpolate(images, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False,
                                   antialias=images.shape[-1] > INPUT_SIZE)
        return self.head(self.features(images).mean(dim=(2, 3)).float())


def to_input(images: np.ndarray) -> torch.Tensor:
    """uint8 ``[N, H, W, 3]`` -> float ``[N, 3, H, W]`` in [-1, 1]."""
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"faces must be uint8 [N, H, W, 3], got shape {images.shape}")
    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)


def gender_logit_and_age(out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The network's ``[N, 2]`` outputs read as (gender logit ``[N]``, age in years ``[N]``);
    differentiable, so that an optimisation can follow them (the age is not clamped at 0)."""
    return out[:, 0], torch.expm1(out[:, 1])


@torch.no_grad()
def predict(net: AttributeNet, images: np.ndarray, batch: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Ages in years ``[N]`` (float32, >= 0) and probabilities of "female" ``[N]`` for uint8
    faces ``[N, H, W, 3]``, averaged over the face and its mirror image."""
    net.eval()
    ages, probs = [np.zeros(0, np.float32)], [np.zeros(0, np.float32)]
    for start in range(0, len(images), batch):
        x = to_input(images[start:start + batch])
        logit, age = gender_logit_and_age((net(x) + net(x.flip(-1))) / 2)
        probs.append(torch.sigmoid(logit).numpy())
        ages.append(age.clamp(min=0).numpy())
    return np.concatenate(ages), np.concatenate(probs)


def load_classifier(path: Path) -> AttributeNet:
    """The network stored in the safetensors file ``path`` (a state dict of
    :class:`AttributeNet`), in eval mode; :class:`ClassifierFileError` when the file is
    missing, too large or not such a network."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file
    path = Path(path)
    if not path.is_file():
        raise ClassifierFileError(f"the attribute classifier {path} does not exist")
    if path.stat().st_size > MAX_CLASSIFIER_BYTES:
        raise ClassifierFileError(f"the attribute classifier {path} is larger than such a file can be")
    net = AttributeNet()
    try:
        net.load_state_dict(load_file(str(path)))
    except (SafetensorError, RuntimeError, OSError, ValueError) as exc:
        raise ClassifierFileError(f"the attribute classifier {path} cannot be read: "
                                  f"{str(exc).splitlines()[0][:200]}") from None
    net.eval()
    return net


def bundled_paths() -> tuple[Path, Path]:
    """``weights/attributes.safetensors`` and ``weights/attributes.json``."""
    from facestudio.locations import bundled_weights_dir
    folder = bundled_weights_dir()
    return folder / WEIGHTS_NAME, folder / REPORT_NAME


def load_bundled_classifier() -> AttributeNet:
    """The classifier that ships in ``weights/``."""
    return load_classifier(bundled_paths()[0])


def read_error_report(path: Path | None = None) -> dict:
    """The held-out error report (``weights/attributes.json`` by default) as a dict:
    ``overall``, ``age_mae_by_bin``, ``gender_accuracy_by_gender``,
    ``gender_accuracy_by_age_bin``, ``split`` and ``training_data``."""
    from facestudio.fileio import read_limited
    path = Path(path) if path is not None else bundled_paths()[1]
    try:
        report = json.loads(read_limited(path, 1 << 20, "the classifier's error report"))
    except (OSError, ValueError) as exc:
        raise ClassifierFileError(f"the classifier's error report {path} cannot be read: {exc}") from None
    if not isinstance(report, dict) or "overall" not in report:
        raise ClassifierFileError(f"the classifier's error report {path} holds no 'overall' errors")
    return report
