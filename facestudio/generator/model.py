"""The inference API: :func:`load_generator` and the :class:`Generator` it returns.

Inputs and outputs are numpy so that callers (latent, session, ui) never touch torch:
``map(z, c, psi, cutoff)`` gives ws ``[N, num_ws, w_dim]`` float32 and
``synthesize(ws, noise)`` gives uint8 images ``[N, H, W, 3]``. Everything runs in fp32
under ``torch.inference_mode``, on the device :func:`~facestudio.generator.device.pick_device`
chooses (a CUDA GPU when there is one, unless ``FACESTUDIO_DEVICE=cpu``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from facestudio.errors import InvalidValueError
from facestudio.fileio import file_sha256
from facestudio.generator.device import pick_device
from facestudio.generator.errors import ModelLoadError
from facestudio.generator.formats.loader import (
    Progress,
    bundled_model_path,
    check_model_path,
    identity_file,
    read_weights,
)
from facestudio.generator.formats.model_card import ModelCard, read_card_beside
from facestudio.generator.networks.config import GeneratorConfig
from facestudio.generator.networks.sg3_config import StyleGAN3Config
from facestudio.generator.networks.stylegan2 import StyleGAN2Generator
from facestudio.generator.networks.stylegan3 import StyleGAN3Generator, Transform, transform_matrix
from facestudio.latent.noise import NOISE_MODES

AnyConfig = GeneratorConfig | StyleGAN3Config


def network_for(config: AnyConfig) -> StyleGAN2Generator | StyleGAN3Generator:
    """A freshly initialised network of the config's family."""
    if config.family == "stylegan3":
        return StyleGAN3Generator(config)
    return StyleGAN2Generator(config)


def build_network(config: AnyConfig, state_dict: dict[str, torch.Tensor],
                  source: str = "the model") -> StyleGAN2Generator | StyleGAN3Generator:
    """Instantiate the network and load weights, refusing any name or shape mismatch."""
    net = network_for(config)
    expected = net.state_dict()
    missing = sorted(set(expected) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(expected))
    wrong = [k for k in expected.keys() & state_dict.keys()
             if tuple(expected[k].shape) != tuple(state_dict[k].shape)]
    if missing or unexpected or wrong:
        detail = []
        if missing:
            detail.append(f"missing {', '.join(missing[:3])}{' ...' if len(missing) > 3 else ''}")
        if unexpected:
            detail.append(f"unexpected {', '.join(unexpected[:3])}{' ...' if len(unexpected) > 3 else ''}")
        if wrong:
            k = wrong[0]
            detail.append(f"{k} is {list(state_dict[k].shape)} but the config needs {list(expected[k].shape)}")
        raise ModelLoadError(f"the network in {source} does not match its config: {'; '.join(detail)}")
    net.load_state_dict(state_dict)
    return net.eval().requires_grad_(False)


def images_to_uint8(img: torch.Tensor) -> np.ndarray:
    """``[N, C, H, W]`` in about [-1, 1] -> uint8 ``[N, H, W, C]`` as the reference tools do."""
    out = (img.permute(0, 2, 3, 1) * 127.5 + 128).clamp(0, 255).to(torch.uint8)
    return np.ascontiguousarray(out.cpu().numpy())


@dataclass
class Generator:
    """A loaded generator. ``sha256`` is the model's identity; ``card`` its model card."""

    network: StyleGAN2Generator | StyleGAN3Generator
    config: AnyConfig
    sha256: str
    path: Path | None = None
    card: ModelCard | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        if self.card and self.card.meta.get("name"):
            return self.card.meta["name"]
        return self.path.name if self.path else "unnamed model"

    z_dim = property(lambda self: self.config.z_dim)
    w_dim = property(lambda self: self.config.w_dim)
    c_dim = property(lambda self: self.config.c_dim)
    num_ws = property(lambda self: self.config.num_ws)
    resolution = property(lambda self: self.config.resolution)

    @property
    def device(self) -> torch.device:
        """Where the network's weights live (inputs are moved there, outputs come back as numpy)."""
        return next(self.network.parameters()).device

    def class_vectors(self, c, n: int) -> torch.Tensor | None:
        """One-hot ``[n, c_dim]`` from class indices (int or ``[n]``) or a given ``[n, c_dim]``."""
        if self.c_dim == 0:
            if c is not None:
                raise InvalidValueError("this model is not conditional, so it takes no class")
            return None
        if c is None:
            raise InvalidValueError(f"this model is conditional: give a class index from 0 to {self.c_dim - 1}")
        arr = np.asarray(c)
        if arr.ndim == 2:
            if arr.shape != (n, self.c_dim):
                raise ValueError(f"class vectors must have shape [{n}, {self.c_dim}], got {list(arr.shape)}")
            return torch.as_tensor(arr, dtype=torch.float32, device=self.device)
        idx = np.broadcast_to(arr.astype(np.int64).reshape(-1), (n,)) if arr.size == 1 else arr.reshape(-1)
        if not np.issubdtype(arr.dtype, np.integer) or idx.shape != (n,):
            raise InvalidValueError(f"give one whole-number class index per latent, got {c!r}")
        bad = [int(i) for i in idx if not 0 <= i < self.c_dim]
        if bad:
            raise InvalidValueError(f"class index {bad[0]} is out of range: this model has "
                                    f"{self.c_dim} classes (0 to {self.c_dim - 1})")
        return torch.nn.functional.one_hot(torch.from_numpy(np.array(idx)), self.c_dim).float().to(self.device)

    def map(self, z, c=None, psi: float = 1.0, cutoff: int | None = None) -> np.ndarray:
        """z ``[N, z_dim]`` (+ class) -> ws ``[N, num_ws, w_dim]`` float32, truncated by psi
        on the first ``cutoff`` layers (all when None)."""
        z_t = torch.as_tensor(np.asarray(z), dtype=torch.float32, device=self.device)
        if z_t.ndim != 2 or z_t.shape[1] != self.z_dim:
            raise ValueError(f"z must have shape [N, {self.z_dim}], got {list(z_t.shape)}")
        if cutoff is not None and not 0 <= cutoff <= self.num_ws:
            raise InvalidValueError(f"truncation cutoff must be between 0 and {self.num_ws}, got {cutoff}")
        c_t = self.class_vectors(c, z_t.shape[0])
        with torch.inference_mode():
            ws = self.network.mapping(z_t, c_t, psi=float(psi), cutoff=cutoff)
        return ws.cpu().numpy().astype(np.float32, copy=False)

    def ws_tensor(self, ws, noise: str = "const") -> torch.Tensor:
        """Check a synthesis input and return it as float32 ``[N, num_ws, w_dim]``."""
        if noise not in NOISE_MODES:
            raise ValueError(f"noise mode must be one of {', '.join(NOISE_MODES)}, got {noise!r}")
        ws_t = torch.as_tensor(np.asarray(ws), dtype=torch.float32, device=self.device)
        if ws_t.ndim != 3 or tuple(ws_t.shape[1:]) != (self.num_ws, self.w_dim):
            raise ValueError(f"ws must have shape [N, {self.num_ws}, {self.w_dim}], got {list(ws_t.shape)}")
        return ws_t

    @property
    def supports_transform(self) -> bool:
        """Whether the input can be translated / rotated (StyleGAN3 only)."""
        return self.config.family == "stylegan3"

    def synthesize_tensor(self, ws, noise: str = "const",
                          transform: Transform | None = None) -> torch.Tensor:
        """ws ``[N, num_ws, w_dim]`` -> float images ``[N, C, H, W]`` in about [-1, 1].

        transform: ``(tx, ty, angle)`` for StyleGAN3 models: moves the image by (tx, ty)
        (the image spans about one unit) and rotates it by ``angle`` degrees, replacing the
        model's stored input transform for this call; None keeps the stored one.
        """
        ws_t = self.ws_tensor(ws, noise)
        if transform is None:
            with torch.inference_mode():
                return self.network.synthesis(ws_t, noise_mode=noise)
        if not self.supports_transform:
            raise InvalidValueError("only StyleGAN3 models can translate or rotate their input; "
                                    "this is a StyleGAN2 model")
        matrix = transform_matrix(transform).to(self.device)
        with torch.inference_mode():
            return self.network.synthesis(ws_t, noise_mode=noise, transform=matrix)

    def synthesize(self, ws, noise: str = "const", transform: Transform | None = None) -> np.ndarray:
        """ws ``[N, num_ws, w_dim]`` -> uint8 RGB ``[N, H, W, 3]`` (C-contiguous);
        ``transform`` as for :meth:`synthesize_tensor`."""
        return images_to_uint8(self.synthesize_tensor(ws, noise, transform))

    def describe(self) -> dict[str, Any]:
        """Facts for ``facestudio info`` and bug reports."""
        cfg = self.config
        return {
            "name": self.name,
            "path": str(self.path) if self.path else None,
            "format": self.meta.get("format"),
            "family": cfg.family,
            "architecture": cfg.architecture,
            "resolution": cfg.resolution,
            "num_ws": cfg.num_ws,
            "z_dim": cfg.z_dim,
            "w_dim": cfg.w_dim,
            "c_dim": cfg.c_dim,
            "conditional": cfg.c_dim > 0,
            "mapping_layers": cfg.mapping_layers,
            "channels": {str(k): v for k, v in cfg.channels.items()},
            "conv_clamp": cfg.conv_clamp,
            "parameters": sum(p.numel() for p in self.network.parameters()),
            "sha256": self.sha256,
            "device": str(self.device),
            "license": self.card.license if self.card else None,
            "trained": self.card.meta.get("trained") if self.card else None,
        }


def load_generator(path: str | Path | None = None, progress: Progress | None = None) -> Generator:
    """Load a generator from any supported file (the bundled model when ``path`` is None).

    Raises :class:`ModelLoadError` with one sentence for a missing, truncated, hostile or
    inconsistent file, or for a ``FACESTUDIO_DEVICE`` this machine does not have.
    ``progress(done, total)`` is called while the file is hashed.
    """
    device = pick_device()
    path = check_model_path(Path(path) if path is not None else bundled_model_path())
    try:
        config, state, meta = read_weights(path)
        sha = file_sha256(identity_file(path), progress)
    except OSError as exc:
        raise ModelLoadError(f"cannot read {path}: {exc.strerror or exc}") from None
    network = build_network(config, state, source=str(path)).to(device)
    return Generator(network, config, sha, path=path, card=read_card_beside(path), meta=meta)


def generator_from_network(network: StyleGAN2Generator | StyleGAN3Generator,
                           name: str = "in-memory model") -> Generator:
    """Wrap an in-memory network (training previews, tests); identity from its weights."""
    import hashlib
    digest = hashlib.sha256()
    for k, v in network.state_dict().items():
        digest.update(k.encode())
        digest.update(v.detach().cpu().contiguous().numpy().tobytes())
    return Generator(network.eval(), network.config, digest.hexdigest(),
                     card=ModelCard({"name": name}))
