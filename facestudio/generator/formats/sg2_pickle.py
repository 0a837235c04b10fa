"""The StyleGAN2 side of NVIDIA network pickles: a ``Generator``'s records to a config.

:class:`GeneratorReader` walks the :class:`~facestudio.generator.formats.safe_pickle.PersistentRecord`
tree that the allow-list unpickler made of a stylegan2-ada-pytorch ``Generator`` and turns it
into a :class:`GeneratorConfig` and a float32 state dict named like
:class:`StyleGAN2Generator`, taking every size from the stored tensors and checking the result
against the network the config builds. :mod:`~facestudio.generator.formats.sg3_pickle` builds its
StyleGAN3 reader on it, and :mod:`~facestudio.generator.formats.nvidia_pickle` picks between the two.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import torch

from facestudio.generator.errors import ModelLoadError
from facestudio.generator.formats.safe_pickle import DICT_TYPES, PersistentRecord, TorchModuleRecord
from facestudio.generator.formats.safe_pickle_tensors import one_line
from facestudio.generator.networks.config import GeneratorConfig
from facestudio.generator.networks.ops import make_filter
from facestudio.generator.networks.stylegan2 import StyleGAN2Generator

GENERATOR_ARGS = ("z_dim", "c_dim", "w_dim", "img_resolution", "img_channels")
_BLOCK_NAME = re.compile(r"b(\d+)")
FC_NAME = re.compile(r"fc(\d+)")
_STYLEGAN3_LAYER = re.compile(r"L\d+_\d+_\d+")
_DEFAULT_TAPS = (1.0, 3.0, 3.0, 1.0)
_MISSING = object()
ModuleRecord = PersistentRecord | TorchModuleRecord


def _few(names: list[str]) -> str:
    shown = ", ".join(names[:3])
    return shown + (f" and {len(names) - 3} more" if len(names) > 3 else "")



class GeneratorReader:
    """Turns the record tree of a StyleGAN2 ``Generator`` into a config and a state dict.

    Every failure is a :class:`ModelLoadError` whose message names the file (``name``).
    """

    def __init__(self, name: str):
        self.name = name

    def fail(self, reason: str) -> ModelLoadError:
        return ModelLoadError(f"cannot load {self.name}: {reason}.")

    def mismatch(self, problems: list[str]) -> ModelLoadError:
        return self.fail("the network's shapes do not match its config: " + "; ".join(problems))

    # --- record access
    def mapping(self, value: Any, what: str) -> dict:
        if value is None:
            return {}
        if type(value) not in DICT_TYPES or not all(type(k) is str for k in value):
            raise self.fail(f"the {what} of its network is not a dict of named entries")
        return value

    def kwargs(self, record: ModuleRecord) -> dict:
        kwargs = record.state.get("_init_kwargs")
        return kwargs if type(kwargs) in DICT_TYPES else {}

    def modules(self, record: ModuleRecord) -> dict:
        return self.mapping(record.state.get("_modules"), f"{record.class_name} submodules")

    def child(self, record: ModuleRecord, key: str, class_name: str, path: str) -> ModuleRecord:
        child = self.modules(record).get(key)
        if not isinstance(child, ModuleRecord):
            raise self.fail(f"its generator has no {path} module")
        if child.class_name != class_name:
            raise self.fail(f"its {path} module is a {child.class_name}, not a {class_name}")
        return child

    def tensor(self, record: ModuleRecord, key: str, path: str, ndim: int) -> torch.Tensor:
        for group in ("_parameters", "_buffers"):
            value = self.mapping(record.state.get(group), group).get(key)
            if isinstance(value, torch.Tensor) and value.ndim == ndim:
                return value
        raise self.fail(f"its generator has no {ndim}-D tensor {path}.{key}")

    def hyper(self, record: ModuleRecord, key: str, positional: tuple[str, ...] = (),
              default: Any = _MISSING) -> Any:
        """An attribute of the record, else its constructor argument, else ``default``."""
        if key in record.state:
            return record.state[key]
        kwargs = self.kwargs(record)
        if key in kwargs:
            return kwargs[key]
        args = record.state.get("_init_args")
        if type(args) in (tuple, list) and key in positional and positional.index(key) < len(args):
            return args[positional.index(key)]
        if default is _MISSING:
            raise self.fail(f"its {record.class_name} does not record its {key}")
        return default

    def as_int(self, value: Any, what: str) -> int:
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            return int(value)
        raise self.fail(f"its {what} is {value!r}, not a whole number")

    def as_float(self, value: Any, what: str) -> float:
        if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
            return float(value)
        raise self.fail(f"its {what} is {value!r}, not a number")

    # --- the generator
    def check_family(self, g: PersistentRecord) -> tuple[ModuleRecord, ModuleRecord]:
        """(mapping, synthesis) of a StyleGAN2 Generator (StyleGAN3 ones go to
        :class:`~facestudio.generator.formats.sg3_pickle.StyleGAN3Reader` before this)."""
        if g.class_name != "Generator":
            raise self.fail(f"its network is a {g.class_name}, not a StyleGAN Generator")
        synthesis_names = set(self.modules(self.child(g, "synthesis", "SynthesisNetwork",
                                                       "synthesis")))
        if "input" in synthesis_names or any(map(_STYLEGAN3_LAYER.fullmatch, synthesis_names)):
            raise self.fail("it holds a StyleGAN3 generator where a StyleGAN2 one was expected")
        return (self.child(g, "mapping", "MappingNetwork", "mapping"),
                self.child(g, "synthesis", "SynthesisNetwork", "synthesis"))

    def config(self, g: PersistentRecord) -> tuple[GeneratorConfig, dict]:
        """The config, plus facts for the metadata (``num_fp16_res``)."""
        mapping, synthesis = self.check_family(g)
        dims = {key: self.as_int(self.hyper(g, key, GENERATOR_ARGS), key)
                for key in GENERATOR_ARGS}
        g_kwargs = self.kwargs(g)
        mapping_kwargs = {**self.mapping(g_kwargs.get("mapping_kwargs"), "mapping_kwargs"),
                          **self.kwargs(mapping)}
        synthesis_kwargs = {  # stylegan2-ada nests them, stylegan3's Generator flattens them
            **self.mapping(g_kwargs.get("synthesis_kwargs"), "synthesis_kwargs"),
            **{k: v for k, v in g_kwargs.items() if k not in GENERATOR_ARGS
               and k not in ("mapping_kwargs", "synthesis_kwargs")},
            **self.kwargs(synthesis)}

        # Mapping network: layer count and widths from the stored fc layers.
        fc_indices = sorted(int(m.group(1)) for key in self.modules(mapping)
                            if (m := FC_NAME.fullmatch(key)))
        if not fc_indices or fc_indices != list(range(len(fc_indices))):
            raise self.fail("its mapping network's layers are not fc0, fc1, ... in order")
        fc0 = self.child(mapping, "fc0", "FullyConnectedLayer", "mapping.fc0")
        fc0_out, fc0_in = self.tensor(fc0, "weight", "mapping.fc0", ndim=2).shape
        layer_features = fc0_out if len(fc_indices) > 1 else None
        embed_features, embed_inputs = None, 0
        if dims["c_dim"] > 0:
            embed = self.child(mapping, "embed", "FullyConnectedLayer", "mapping.embed")
            embed_features, embed_inputs = self.tensor(embed, "weight", "mapping.embed", 2).shape
        lr_multiplier = self.as_float(
            fc0.state.get("bias_gain", mapping_kwargs.get("lr_multiplier", 0.01)),
            "mapping lr_multiplier")

        # Synthesis network: one block per resolution, widths from the conv weights.
        res = dims["img_resolution"]
        if res < 4 or res & (res - 1):
            raise self.fail(f"its img_resolution {res} is not a power of two >= 4")
        expected = [2 ** i for i in range(2, int(math.log2(res)) + 1)]
        found = sorted(int(m.group(1)) for key in self.modules(synthesis)
                       if (m := _BLOCK_NAME.fullmatch(key)))
        if found != expected:
            raise self.fail(f"its synthesis blocks are {_few([f'b{r}' for r in found]) or 'none'} "
                            f"where a {res}x{res} generator has b4 to b{res}")
        blocks = {r: self.child(synthesis, f"b{r}", "SynthesisBlock", f"synthesis.b{r}")
                  for r in expected}
        channels = {}
        for r, block in blocks.items():
            conv1 = self.child(block, "conv1", "SynthesisLayer", f"synthesis.b{r}.conv1")
            channels[r] = self.tensor(conv1, "weight", f"synthesis.b{r}.conv1", ndim=4).shape[0]
        architectures = {self.hyper(b, "architecture", default=synthesis_kwargs.get(
            "architecture", "skip")) for b in blocks.values()}
        if len(architectures) != 1:
            raise self.fail(f"its blocks mix architectures {sorted(map(str, architectures))}")
        first_layer = self.child(blocks[4], "conv1", "SynthesisLayer", "synthesis.b4.conv1")
        last_fc = self.child(mapping, f"fc{fc_indices[-1]}", "FullyConnectedLayer", "mapping.fc")
        torgb = self.child(blocks[res], "torgb", "ToRGBLayer", f"synthesis.b{res}.torgb")
        self.check_dims({  # every size in the config must come from a stored tensor
            "z_dim + embed_features": (dims["z_dim"] + (embed_features or 0), fc0_in,
                                       "mapping.fc0.weight inputs"),
            "w_dim": (dims["w_dim"], self.tensor(last_fc, "weight", "mapping.fc", 2).shape[0],
                      f"mapping.fc{fc_indices[-1]}.weight outputs"),
            "c_dim": (dims["c_dim"], embed_inputs, "mapping.embed.weight inputs"),
            "img_channels": (dims["img_channels"], self.tensor(
                torgb, "weight", f"synthesis.b{res}.torgb", 4).shape[0],
                f"synthesis.b{res}.torgb.weight outputs")})
        conv_clamp = first_layer.state.get("conv_clamp", synthesis_kwargs.get("conv_clamp"))
        conv_clamp = None if conv_clamp is None else self.as_float(conv_clamp, "conv_clamp")

        try:
            config = GeneratorConfig(
                resolution=res, z_dim=dims["z_dim"], c_dim=dims["c_dim"], w_dim=dims["w_dim"],
                img_channels=dims["img_channels"], channels=channels,
                mapping_layers=len(fc_indices), mapping_lr_multiplier=lr_multiplier,
                embed_features=None if embed_features == dims["w_dim"] else embed_features,
                layer_features=None if layer_features == dims["w_dim"] else layer_features,
                architecture=architectures.pop(), conv_clamp=conv_clamp,
                use_noise=bool(first_layer.state.get("use_noise", True)),
                resample_filter=self.resample_taps(blocks[4], first_layer))
        except (TypeError, ValueError) as exc:
            raise self.fail(f"its generator settings are invalid ({one_line(exc)})") from None
        num_fp16 = sum(1 for b in blocks.values() if b.state.get("use_fp16") is True)
        return config, {"num_fp16_res": num_fp16}

    def check_dims(self, checks: dict[str, tuple[int, int, str]]) -> None:
        """``{name: (recorded value, value from a tensor, what the tensor is)}`` must agree,
        so that building the model for :meth:`verify` costs no more than the file holds."""
        wrong = [f"{name} is {claimed} but {what} is {actual}"
                 for name, (claimed, actual, what) in checks.items() if claimed != actual]
        if wrong:
            raise self.mismatch(wrong)

    def resample_taps(self, *records: ModuleRecord) -> tuple[float, ...]:
        """1-D FIR taps whose normalised outer product is the stored ``resample_filter``."""
        for record in records:
            f = self.mapping(record.state.get("_buffers"), "_buffers").get("resample_filter")
            if not isinstance(f, torch.Tensor):
                continue
            f = f.detach().to(torch.float32)
            if f.ndim != 2 or f.shape[0] != f.shape[1] or float(f.sum()) == 0:
                raise self.fail("its resample filter is not a square 2-D filter")
            if f.shape == (4, 4) and torch.allclose(f / f.sum(), make_filter(_DEFAULT_TAPS)):
                return _DEFAULT_TAPS
            taps = f.sum(dim=1)
            if not torch.allclose(make_filter(taps), f / f.sum(), atol=1e-6):
                raise self.fail("its resample filter is not separable")
            return tuple(float(t) for t in taps / taps.abs().max())
        return _DEFAULT_TAPS

    def state_dict(self, record: ModuleRecord, prefix: str, out: dict[str, torch.Tensor],
                   active: set[int]) -> dict[str, torch.Tensor]:
        """Parameters and persistent buffers under dotted names, as float32 (no FIR filters)."""
        if id(record) in active:
            raise self.fail("its module tree contains a cycle")
        active.add(id(record))
        state = record.state
        skip = state.get("_non_persistent_buffers_set") or ()
        for group in ("_parameters", "_buffers"):
            for key, value in self.mapping(state.get(group), group).items():
                if value is None or (group == "_buffers" and (key in skip
                                                             or key == "resample_filter")):
                    continue
                if not isinstance(value, torch.Tensor):
                    raise self.fail(f"its {prefix}{key} is a {type(value).__name__}, not a tensor")
                out[prefix + key] = value.detach().to(torch.float32).contiguous()
        for key, child in self.modules(record).items():
            if child is None:
                continue
            if not isinstance(child, ModuleRecord):
                raise self.fail(f"its {prefix}{key} is a {type(child).__name__}, not a module")
            self.state_dict(child, f"{prefix}{key}.", out, active)
        active.discard(id(record))
        return out

    def build_model(self, config: GeneratorConfig) -> torch.nn.Module:
        return StyleGAN2Generator(config)

    def verify(self, config: GeneratorConfig, state: dict[str, torch.Tensor]) -> None:
        """Keys and shapes must be exactly those of ``self.build_model(config)``."""
        # Built on the CPU: the "meta" device would save the random init (~0.5 s at 1024)
        # but its first use imports torch's reference ops, which takes seconds.
        with torch.no_grad():
            model = self.build_model(config)
        expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
        del model
        problems = []
        missing = [k for k in expected if k not in state]
        unexpected = [k for k in state if k not in expected]
        if missing:
            problems.append("missing " + _few(missing))
        if unexpected:
            problems.append("unexpected " + _few(unexpected))
        wrong = [f"{k} is {list(state[k].shape)} but the config needs {list(shape)}"
                 for k, shape in expected.items() if k in state and tuple(state[k].shape) != shape]
        problems.extend(wrong[:3])
        if len(wrong) > 3:
            problems.append(f"{len(wrong) - 3} more shapes differ")
        if problems:
            raise self.mismatch(problems)
