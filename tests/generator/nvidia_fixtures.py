"""Write NVIDIA-style network pickles (stylegan2-ada-pytorch ``network-snapshot-*.pkl``) from
our own generator, with our own code.

The layout follows what the reference training loop writes: a dict with
``training_set_kwargs``, ``G``, ``D``, ``G_ema`` and ``augment_pipe``; every network module is
pickled as ``torch_utils.persistence._reconstruct_persistent_obj(meta)`` with ``meta`` =
``dict(type="class", version=6, module_src=<source text>, class_name=<name>, state=<__dict__>)``,
and ``state`` holds ``_parameters`` / ``_buffers`` / ``_modules`` (plus torch's hook dicts),
the reference's plain attributes and ``_init_args`` / ``_init_kwargs``. Tensors and parameters
go through torch's own reductions. ``dnnlib.util.EasyDict`` and the persistence hook are
written as globals of packages we do not have, by a pickler that emits those names itself.
"""

from __future__ import annotations

import pickle
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from facestudio.generator.networks.layers import Conv2d, FullyConnected, SynthesisLayer, ToRGB
from facestudio.generator.networks.stylegan2 import (
    MappingNetwork,
    StyleGAN2Generator,
    SynthesisBlock,
    SynthesisNetwork,
)

PERSISTENCE_VERSION = 6
DEFAULT_MODULE_SRC = (
    '"""Stand-in for the network module source a reference pickle embeds."""\n'
    "import torch\n\n"
    "class Generator(torch.nn.Module):\n"
    "    pass\n"
)
_HOOK_DICTS = ("_backward_pre_hooks", "_backward_hooks", "_forward_hooks",
               "_forward_hooks_with_kwargs", "_forward_hooks_always_called",
               "_forward_pre_hooks", "_forward_pre_hooks_with_kwargs", "_state_dict_hooks",
               "_state_dict_pre_hooks", "_load_state_dict_pre_hooks",
               "_load_state_dict_post_hooks")


class ForeignGlobal:
    """A function that lives in a package we do not have; pickles as ``module.name``."""

    def __init__(self, module: str, name: str):
        self.module, self.name = module, name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"{self.module}.{self.name} is a pickling stand-in only")


RECONSTRUCT_PERSISTENT_OBJ = ForeignGlobal("torch_utils.persistence", "_reconstruct_persistent_obj")


class EasyDict(dict):
    """Pickles as ``dnnlib.util.EasyDict`` (a dict subclass, written with NEWOBJ + SETITEMS)."""


_FOREIGN_CLASSES = {EasyDict: ("dnnlib.util", "EasyDict")}


@dataclass(eq=False)
class PersistentStandIn:
    """One persistent network module: pickles exactly as the reference decorator does."""

    class_name: str
    state: dict
    module_src: str = DEFAULT_MODULE_SRC
    version: int = PERSISTENCE_VERSION

    def __reduce__(self):
        meta = dict(type="class", version=self.version, module_src=self.module_src,
                    class_name=self.class_name, state=self.state)
        return RECONSTRUCT_PERSISTENT_OBJ, (meta,), None


class SnapshotPickler(pickle._Pickler):
    """The pure-Python pickler, writing our foreign stand-ins as their reference globals."""

    dispatch = dict(pickle._Pickler.dispatch)

    def _write_global(self, obj: Any, module: str, name: str) -> None:
        if self.proto >= 4:
            self.save(module)
            self.save(name)
            self.write(pickle.STACK_GLOBAL)
        else:
            self.write(pickle.GLOBAL + f"{module}\n{name}\n".encode("utf-8"))
        self.memoize(obj)

    def save_global(self, obj: Any, name: str | None = None) -> None:
        if obj in _FOREIGN_CLASSES:
            self._write_global(obj, *_FOREIGN_CLASSES[obj])
        else:
            super().save_global(obj, name)

    def _save_foreign_global(self, obj: ForeignGlobal) -> None:
        self._write_global(obj, obj.module, obj.name)

    dispatch[ForeignGlobal] = _save_foreign_global


# ------------------------------------------------------------------ module state stand-ins

def _module_state(module: nn.Module, children: dict[str, Any], attributes: dict[str, Any],
                  init_args: tuple, init_kwargs: dict) -> dict:
    """A reference-like ``__dict__``: parameters (as frozen Parameters), all buffers (the
    reference keeps ``resample_filter`` persistent), child records, attributes, init args."""
    state: dict[str, Any] = {"training": False}
    state["_parameters"] = OrderedDict(
        (k, None if p is None else nn.Parameter(p.detach().clone(), requires_grad=False))
        for k, p in module._parameters.items())
    state["_buffers"] = OrderedDict((k, None if b is None else b.detach().clone())
                                    for k, b in module._buffers.items())
    state["_non_persistent_buffers_set"] = set()
    for hooks in _HOOK_DICTS:
        state[hooks] = OrderedDict()
    state["_is_full_backward_hook"] = None
    state["_modules"] = OrderedDict(children)
    state.update(attributes)
    state["_init_args"] = init_args
    state["_init_kwargs"] = init_kwargs
    return state


@dataclass
class _Options:
    module_src: str
    num_fp16_res: int
    fp16_resolution: int
    kwargs_type: type = dict


def _describe_module(module: nn.Module, opts: _Options) -> tuple[str, dict, tuple, dict]:
    """(reference class name, attributes, init args, init kwargs) of one of our modules."""
    kw = opts.kwargs_type
    if isinstance(module, StyleGAN2Generator):
        c = module.config
        mapping_kwargs = kw(num_layers=c.mapping_layers, lr_multiplier=c.mapping_lr_multiplier)
        if c.layer_features:
            mapping_kwargs["layer_features"] = c.layer_features
        if c.embed_features:
            mapping_kwargs["embed_features"] = c.embed_features
        synthesis_kwargs = kw(architecture=c.architecture, conv_clamp=c.conv_clamp,
                              num_fp16_res=opts.num_fp16_res)
        dims = dict(z_dim=c.z_dim, c_dim=c.c_dim, w_dim=c.w_dim, img_resolution=c.resolution,
                    img_channels=c.img_channels)
        return "Generator", {**dims, "num_ws": module.num_ws}, (), kw(
            **dims, mapping_kwargs=mapping_kwargs, synthesis_kwargs=synthesis_kwargs)
    if isinstance(module, MappingNetwork):
        attrs = dict(z_dim=module.z_dim, c_dim=module.c_dim, w_dim=module.w_dim,
                     num_ws=module.num_ws, num_layers=module.num_layers,
                     w_avg_beta=module.w_avg_beta)
        return "MappingNetwork", attrs, (), kw(attrs)
    if isinstance(module, FullyConnected):
        out_features, in_features = module.weight.shape
        attrs = dict(activation=module.activation,
                     weight_gain=np.float64(module.weight_gain), bias_gain=module.bias_gain)
        return "FullyConnectedLayer", attrs, (in_features, out_features), kw(
            activation=module.activation, lr_multiplier=module.bias_gain)
    if isinstance(module, SynthesisNetwork):
        c = module.config
        attrs = dict(w_dim=c.w_dim, img_resolution=c.resolution,
                     img_resolution_log2=int(np.log2(c.resolution)),
                     img_channels=c.img_channels, block_resolutions=list(c.block_resolutions),
                     num_ws=module.num_ws)
        return "SynthesisNetwork", attrs, (), kw(
            w_dim=c.w_dim, img_resolution=c.resolution, img_channels=c.img_channels,
            num_fp16_res=opts.num_fp16_res, architecture=c.architecture, conv_clamp=c.conv_clamp)
    if isinstance(module, SynthesisBlock):
        fp16 = opts.num_fp16_res > 0 and module.resolution >= opts.fp16_resolution
        out_channels = module.conv1.weight.shape[0]
        attrs = dict(in_channels=module.in_channels, resolution=module.resolution,
                     is_last=module.is_last, architecture=module.architecture, use_fp16=fp16,
                     channels_last=False, num_conv=module.num_conv, num_torgb=module.num_torgb)
        return "SynthesisBlock", attrs, (module.in_channels, out_channels), kw(
            resolution=module.resolution, is_last=module.is_last, use_fp16=fp16,
            architecture=module.architecture)
    if isinstance(module, SynthesisLayer):
        out_channels, in_channels, k, _ = module.weight.shape
        attrs = dict(resolution=module.resolution, up=2 if module.up else 1,
                     use_noise=module.use_noise, activation="lrelu",
                     conv_clamp=module.conv_clamp, padding=k // 2, act_gain=float(np.sqrt(2)))
        return "SynthesisLayer", attrs, (in_channels, out_channels), kw(
            resolution=module.resolution, up=attrs["up"], use_noise=module.use_noise,
            conv_clamp=module.conv_clamp)
    if isinstance(module, ToRGB):
        out_channels, in_channels = module.weight.shape[:2]
        attrs = dict(conv_clamp=module.conv_clamp, weight_gain=np.float64(module.weight_gain))
        return "ToRGBLayer", attrs, (in_channels, out_channels), kw(conv_clamp=module.conv_clamp)
    if isinstance(module, Conv2d):
        out_channels, in_channels, k, _ = module.weight.shape
        attrs = dict(activation=module.activation, up=2 if module.up else 1,
                     down=2 if module.down else 1, conv_clamp=module.conv_clamp,
                     padding=k // 2, weight_gain=np.float64(module.weight_gain), act_gain=1.0)
        return "Conv2dLayer", attrs, (in_channels, out_channels, k), kw(
            bias=module.bias is not None, up=attrs["up"])
    raise TypeError(f"no reference counterpart for {type(module).__name__}")


def _record(module: nn.Module, opts: _Options) -> PersistentStandIn:
    children = {name: _record(child, opts) for name, child in module._modules.items()}
    class_name, attrs, init_args, init_kwargs = _describe_module(module, opts)
    record = PersistentStandIn(class_name, _module_state(module, children, attrs, init_args,
                                                          init_kwargs), opts.module_src)
    return record


def generator_record(generator: StyleGAN2Generator, *, module_src: str = DEFAULT_MODULE_SRC,
                     num_fp16_res: int = 0, kwargs_type: type = dict) -> PersistentStandIn:
    """Our generator as a tree of reference-style persistent records (``Generator`` at the
    root, ``mapping`` / ``synthesis`` / ``b{res}`` / ``conv0`` ... below it)."""
    log2 = int(np.log2(generator.config.resolution))
    opts = _Options(module_src=module_src, num_fp16_res=num_fp16_res,
                    fp16_resolution=max(2 ** (log2 + 1 - num_fp16_res), 8),  # as the reference
                    kwargs_type=kwargs_type)
    return _record(generator, opts)


def build_snapshot(generator: StyleGAN2Generator, extra: dict | None = None,
                   **record_options: Any) -> dict:
    """The dict a reference ``network-snapshot-*.pkl`` holds; ``extra`` entries replace or
    add top-level entries. ``G`` is a separate copy of the same weights."""
    snapshot = {
        "training_set_kwargs": EasyDict(class_name="training.dataset.ImageFolderDataset",
                                        path="~/datasets/faces.zip", use_labels=False,
                                        max_size=70000, xflip=True,
                                        resolution=generator.config.resolution),
        "G": generator_record(generator, **record_options),
        "D": None,
        "G_ema": generator_record(generator, **record_options),
        "augment_pipe": None,
    }
    snapshot.update(extra or {})
    return snapshot


def dump_snapshot(snapshot: Any, path: str | Path, protocol: int = 4) -> Path:
    """Pickle ``snapshot`` to ``path`` with :class:`SnapshotPickler`."""
    path = Path(path)
    with path.open("wb") as f:
        SnapshotPickler(f, protocol=protocol).dump(snapshot)
    return path


def write_nvidia_style_pickle(generator: StyleGAN2Generator, path: str | Path,
                              extra: dict | None = None, *, protocol: int = 4,
                              **record_options: Any) -> Path:
    """Write ``generator`` as a reference-style network pickle; returns ``path``.

    record_options: ``module_src`` (the embedded source text), ``num_fp16_res`` (how many of
    the highest resolutions are marked fp16), ``kwargs_type`` (``EasyDict`` to store the
    constructor kwargs as ``dnnlib.util.EasyDict``).
    """
    return dump_snapshot(build_snapshot(generator, extra, **record_options), path, protocol)
