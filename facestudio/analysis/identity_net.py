"""dlib's face recognition network, run by torch: the same 128-d descriptors, several times faster.

dlib's ``dlib_face_recognition_resnet_model_v1.dat`` (CC0) is a 29-convolution ResNet on a
150 x 150 aligned face chip. The ``dlib-bin`` wheel runs it without BLAS, about 90 ms a face on
one core here, most of a library face's cost; torch runs the same arithmetic in a fraction of
that and takes faces in batches. The weights are read from dlib's own file by
:func:`read_weights` (dlib's serialisation: a layer's name, then its parameter tensor as a
version, four sizes and little-endian float32 values), and :class:`RecognitionNet` applies them
in dlib's order:

* the chip's RGB values minus dlib's means (122.782, 117.001, 104.298), over 256;
* a 7 x 7 convolution (32 filters, stride 2, no padding), its affine (the folded batch norm),
  ReLU, a 3 x 3 max pool of stride 2;
* residual blocks of two 3 x 3 convolutions, each with its affine, ReLU between them and after
  the sum: 3 of 32 filters; then 64 (4 blocks), 128 (3), 256 (3) and 256 (1), the first block of
  each of those halving the size (its first convolution of stride 2 without padding, its
  shortcut a 2 x 2 average pool); where the two branches differ in size or channels the sum is
  taken over the larger, the smaller zero-padded (dlib's ``add_prev``);
* the mean over the remaining positions and a 128 x 256 linear map without bias.

The chips themselves come from dlib (``get_face_chip``, 150 px, padding 0.25), exactly as its
``compute_face_descriptor`` makes them; tests/analysis/test_identity_net.py checks the
descriptors against dlib's.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from facestudio.errors import FacestudioError

CHIP_SIZE = 150
CHIP_PADDING = 0.25
MEANS = (122.782, 117.001, 104.298)  # dlib's input_rgb_image averages (R, G, B)
STAGES = ((32, 3, False), (64, 4, True), (128, 3, True), (256, 3, True), (256, 1, True))  # filters, blocks, down
CONVOLUTIONS = 1 + 2 * sum(blocks for _, blocks, _ in STAGES)  # 29
_LAYER = re.compile(rb"\x05con_4|\x07affine_|\x04fc_2")  # a name follows its length
MAX_TENSOR_VALUES = 1 << 22  # the largest tensor in the file holds 590,080 values


class WeightFileError(FacestudioError, ValueError):
    """The recognition file is not the network this module knows; one sentence."""


def _int(data: bytes, pos: int) -> tuple[int, int]:
    """One of dlib's integers: a control byte (its low bits the byte count, 0x80 negative), then
    the bytes little-endian."""
    control = data[pos]
    count = control & 0x0F
    value = int.from_bytes(data[pos + 1:pos + 1 + count], "little")
    return (-value if control & 0x80 else value), pos + 1 + count


def _tensor(data: bytes, pos: int) -> tuple[np.ndarray, int]:
    version, pos = _int(data, pos)
    sizes = []
    for _ in range(4):
        n, pos = _int(data, pos)
        sizes.append(n)
    total = int(np.prod(sizes))
    if version != 2 or not 0 < total <= MAX_TENSOR_VALUES or pos + 4 * total > len(data):
        raise WeightFileError("the recognition network file holds a tensor this reader does not know")
    return np.frombuffer(data, "<f4", total, pos).astype(np.float32), pos + 4 * total


def read_weights(path: Path) -> dict[str, list[np.ndarray]]:
    """The parameter tensors of dlib's recognition network file, in forward order:
    ``con`` (29 flat arrays: filters then biases), ``affine`` (29: gammas then betas), ``fc``."""
    data = Path(path).read_bytes()
    start = data.find(b"input_rgb_image_sized")
    if start < 0:
        raise WeightFileError(f"{path} is not dlib's face recognition network")
    found: dict[str, list[np.ndarray]] = {"con": [], "affine": [], "fc": []}
    pos = start
    while True:
        match = _LAYER.search(data, pos)
        if match is None:
            break
        kind = {b"\x05con_4": "con", b"\x07affine_": "affine", b"\x04fc_2": "fc"}[match.group()]
        pos = match.end()
        if kind == "fc":  # its outputs and inputs come first
            _, pos = _int(data, pos)
            _, pos = _int(data, pos)
        tensor, pos = _tensor(data, pos)
        found[kind].append(tensor)
    if len(found["con"]) != CONVOLUTIONS or len(found["affine"]) != CONVOLUTIONS or len(found["fc"]) != 1:
        raise WeightFileError(f"{path} does not hold the 29-convolution ResNet facestudio reads")
    return found


def _torch():
    import torch
    return torch


class RecognitionNet:
    """dlib's recognition ResNet in torch (inference only, float32)."""

    def __init__(self, weights: dict[str, list[np.ndarray]]):
        torch = _torch()
        self.convs, self.affines = [], []
        channels = 3
        plan = [(32, 7, 2)] + [(f, 3, 2 if down and b == 0 and i == 0 else 1)
                               for f, blocks, down in STAGES for b in range(blocks) for i in range(2)]
        for (filters, size, stride), con, aff in zip(plan, weights["con"], weights["affine"]):
            expected = filters * channels * size * size + filters
            if con.size != expected or aff.size != 2 * filters:
                raise WeightFileError("the recognition network's layers do not have the sizes this reader knows")
            self.convs.append((torch.from_numpy(con[:-filters].reshape(filters, channels, size, size).copy()),
                               torch.from_numpy(con[-filters:].copy()), stride, size))
            self.affines.append((torch.from_numpy(aff[:filters].copy()).view(1, -1, 1, 1),
                                 torch.from_numpy(aff[filters:].copy()).view(1, -1, 1, 1)))
            channels = filters
        fc = weights["fc"][0]
        if fc.size != 256 * 128:
            raise WeightFileError("the recognition network's last layer does not have the size this reader knows")
        self.fc = torch.from_numpy(fc.reshape(256, 128).copy())
        self.means = torch.tensor(MEANS, dtype=torch.float32).view(1, 3, 1, 1)

    def _conv(self, x, i: int):
        torch = _torch()
        weight, bias, stride, size = self.convs[i]
        padding = size // 2 if stride == 1 else 0  # dlib's con_: padding only at stride 1
        x = torch.nn.functional.conv2d(x, weight, bias, stride=stride, padding=padding)
        gamma, beta = self.affines[i]
        return x * gamma + beta

    @staticmethod
    def _add(a, b):
        """dlib's add_prev: the sum over the larger shape, the smaller zero-padded."""
        torch = _torch()
        if a.shape == b.shape:
            return a + b
        shape = [max(p, q) for p, q in zip(a.shape, b.shape)]
        out = torch.zeros(shape, dtype=a.dtype)
        out[:, :a.shape[1], :a.shape[2], :a.shape[3]] += a
        out[:, :b.shape[1], :b.shape[2], :b.shape[3]] += b
        return out

    def __call__(self, chips: np.ndarray) -> np.ndarray:
        """Descriptors (float32 ``[N, 128]``) of uint8 RGB chips ``[N, 150, 150, 3]``."""
        torch = _torch()
        F = torch.nn.functional
        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(chips)).permute(0, 3, 1, 2).float()
            x = (x - self.means) / 256.0
            x = F.max_pool2d(F.relu(self._conv(x, 0)), 3, 2)
            i = 1
            for _filters, blocks, down in STAGES:
                for b in range(blocks):
                    shortcut = F.avg_pool2d(x, 2, 2) if down and b == 0 else x
                    y = self._conv(F.relu(self._conv(x, i)), i + 1)
                    x = F.relu(self._add(y, shortcut))
                    i += 2
            x = x.mean(dim=(2, 3))
            return (x @ self.fc).numpy()
