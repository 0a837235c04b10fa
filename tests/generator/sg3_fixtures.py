"""Write NVIDIA-style StyleGAN3 network pickles from our own :class:`StyleGAN3Generator`,
with our own code (the record layout of the reference ``networks_stylegan3.py``: a
``Generator`` with ``mapping`` and ``synthesis``; ``synthesis`` holds ``input`` and the
layers ``L{i}_{size}_{channels}``; each record carries the reference's plain attributes and
its ``_init_args`` / ``_init_kwargs``; filters of one tap are stored as None buffers)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from facestudio.generator.networks.layers import FullyConnected
from facestudio.generator.networks.sg3_config import StyleGAN3Config
from facestudio.generator.networks.stylegan2 import MappingNetwork
from facestudio.generator.networks.stylegan3 import (
    StyleGAN3Generator,
    SynthesisInput,
    SynthesisLayer,
    SynthesisNetwork,
)
from tests.generator.nvidia_fixtures import (
    DEFAULT_MODULE_SRC,
    EasyDict,
    PersistentStandIn,
    _describe_module,
    _module_state,
    _Options,
    dump_snapshot,
)

_SYNTHESIS_KEYS = ("channel_base", "channel_max", "num_layers", "num_critical", "first_cutoff",
                   "first_stopband", "last_stopband_rel", "margin_size", "output_scale")
_LAYER_KEYS = ("conv_kernel", "filter_size", "lrelu_upsampling", "use_radial_filters",
               "conv_clamp")


def synthesis_kwargs(c: StyleGAN3Config, num_fp16_res: int) -> dict:
    """The flattened synthesis kwargs the reference ``Generator`` records (layer kwargs too)."""
    kwargs = {k: getattr(c, k) for k in _SYNTHESIS_KEYS + _LAYER_KEYS}
    kwargs["num_fp16_res"] = num_fp16_res
    return kwargs


def _describe(module: nn.Module, opts: _Options) -> tuple[str, dict, tuple, dict]:
    kw = opts.kwargs_type
    if isinstance(module, StyleGAN3Generator):
        c = module.config
        dims = dict(z_dim=c.z_dim, c_dim=c.c_dim, w_dim=c.w_dim, img_resolution=c.resolution,
                    img_channels=c.img_channels)
        return "Generator", {**dims, "num_ws": module.num_ws}, (), kw(
            **dims, mapping_kwargs=kw(num_layers=c.mapping_layers),
            **synthesis_kwargs(c, opts.num_fp16_res))
    if isinstance(module, SynthesisNetwork):
        c = module.config
        attrs = dict(w_dim=c.w_dim, num_ws=c.num_ws, img_resolution=c.resolution,
                     img_channels=c.img_channels, num_layers=c.num_layers,
                     num_critical=c.num_critical, margin_size=c.margin_size,
                     output_scale=c.output_scale, num_fp16_res=opts.num_fp16_res,
                     layer_names=list(module.layer_names))
        return "SynthesisNetwork", attrs, (), kw(
            w_dim=c.w_dim, img_resolution=c.resolution, img_channels=c.img_channels,
            **synthesis_kwargs(c, opts.num_fp16_res))
    if isinstance(module, SynthesisInput):
        attrs = dict(w_dim=module.w_dim, channels=module.channels,
                     size=np.broadcast_to(np.asarray(module.size), [2]),
                     sampling_rate=np.float64(module.sampling_rate),
                     bandwidth=np.float64(module.bandwidth))
        return "SynthesisInput", attrs, (), kw(
            w_dim=module.w_dim, channels=module.channels, size=module.size,
            sampling_rate=attrs["sampling_rate"], bandwidth=attrs["bandwidth"])
    if isinstance(module, SynthesisLayer):
        spec = dataclasses.asdict(module.spec)
        name = spec.pop("name")
        attrs = {**spec, "in_size": np.broadcast_to(np.asarray(spec["in_size"]), [2]),
                 "out_size": np.broadcast_to(np.asarray(spec["out_size"]), [2]),
                 "padding": list(spec["padding"]), "use_fp16": False,
                 "conv_clamp": module.conv_clamp, "magnitude_ema_beta": 0.999}
        assert name.startswith("L")
        return "SynthesisLayer", attrs, (), kw(
            w_dim=module.affine.weight.shape[1], is_torgb=spec["is_torgb"],
            is_critically_sampled=spec["is_critically_sampled"], use_fp16=False,
            in_channels=spec["in_channels"], out_channels=spec["out_channels"],
            in_size=spec["in_size"], out_size=spec["out_size"])
    if isinstance(module, (MappingNetwork, FullyConnected)):
        return _describe_module(module, opts)
    raise TypeError(f"no reference counterpart for {type(module).__name__}")


def _record(module: nn.Module, opts: _Options) -> PersistentStandIn:
    children = {name: _record(child, opts) for name, child in module._modules.items()}
    class_name, attrs, init_args, init_kwargs = _describe(module, opts)
    return PersistentStandIn(class_name, _module_state(module, children, attrs, init_args,
                                                       init_kwargs), opts.module_src)


def sg3_generator_record(generator: StyleGAN3Generator, *, num_fp16_res: int = 4,
                         kwargs_type: type = dict,
                         module_src: str = DEFAULT_MODULE_SRC) -> PersistentStandIn:
    """Our StyleGAN3 generator as a tree of reference-style persistent records."""
    return _record(generator, _Options(module_src=module_src, num_fp16_res=num_fp16_res,
                                       fp16_resolution=0, kwargs_type=kwargs_type))


def write_sg3_pickle(generator: StyleGAN3Generator, path: str | Path, extra: dict | None = None,
                     *, protocol: int = 4, **record_options: Any) -> Path:
    """Write ``generator`` as a reference-style StyleGAN3 snapshot (``G``, ``G_ema``, ...)."""
    snapshot = {
        "training_set_kwargs": EasyDict(class_name="training.dataset.ImageFolderDataset",
                                        path="~/datasets/faces.zip", use_labels=False,
                                        resolution=generator.config.resolution),
        "G": sg3_generator_record(generator, **record_options),
        "D": None,
        "G_ema": sg3_generator_record(generator, **record_options),
        "augment_pipe": None,
    }
    snapshot.update(extra or {})
    return dump_snapshot(snapshot, path, protocol)


CONFIGS = {
    "T": dict(resolution=16, z_dim=16, w_dim=16, channel_base=256, channel_max=16,
              num_layers=4, num_critical=1, margin_size=4),
    "R": dict(resolution=16, z_dim=16, w_dim=16, channel_base=512, channel_max=16,
              num_layers=4, num_critical=1, margin_size=4, conv_kernel=1,
              use_radial_filters=True),
}


def make_sg3(kind: str = "T", seed: int = 0, **overrides) -> StyleGAN3Generator:
    """A tiny randomised StyleGAN3 whose biases, input affine, magnitudes and w_avg matter."""
    torch.manual_seed(seed)
    net = StyleGAN3Generator(StyleGAN3Config(**{**CONFIGS[kind], **overrides})).eval()
    with torch.no_grad():
        for name, p in net.named_parameters():
            if name.endswith(".bias"):
                p.add_(torch.randn_like(p) * 0.3)
        net.synthesis.input.affine.weight.normal_(0, 0.5)
        for name, b in net.named_buffers():
            if name.endswith("magnitude_ema"):
                b.fill_(float(torch.rand([])) + 0.3)
        net.mapping.w_avg.normal_(0, 0.5)
    return net.requires_grad_(False)
