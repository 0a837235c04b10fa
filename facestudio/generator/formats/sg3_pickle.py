"""Read the records of a StyleGAN3 ``Generator`` (from an NVIDIA network pickle, already
read by the allow-list unpickler) into a :class:`StyleGAN3Config` and a state dict.

Hyper-parameters come from the stored constructor kwargs (reference defaults where absent);
the geometry they imply is then checked against every layer's stored attributes (sizes,
sampling rates, cutoffs, padding) and every tensor's shape, so a file whose settings we
would misread is refused rather than rendered wrongly. Filters, frequencies, phases,
``transform`` and ``magnitude_ema`` are taken from the file as they are.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from facestudio.generator.formats.safe_pickle_tensors import one_line
from facestudio.generator.formats.sg2_pickle import FC_NAME, GENERATOR_ARGS, GeneratorReader
from facestudio.generator.networks.sg3_config import StyleGAN3Config, layer_specs
from facestudio.generator.networks.stylegan3 import StyleGAN3Generator

_LAYER_NAME = re.compile(r"L(\d+)_\d+_\d+")
# Synthesis hyper-parameters and their reference defaults.
_SYNTHESIS_DEFAULTS = dict(channel_base=32768, channel_max=512, num_layers=14, num_critical=2,
                           first_cutoff=2.0, first_stopband=2 ** 2.1,
                           last_stopband_rel=2 ** 0.3, margin_size=10, output_scale=0.25,
                           conv_kernel=3, filter_size=6, lrelu_upsampling=2,
                           use_radial_filters=False, conv_clamp=256.0)
_INT_KEYS = {"channel_base", "channel_max", "num_layers", "num_critical", "margin_size",
             "conv_kernel", "filter_size", "lrelu_upsampling"}
# Stored layer attributes checked against the schedule we compute.
_CHECKED_ATTRIBUTES = ("in_channels", "out_channels", "in_sampling_rate", "out_sampling_rate",
                       "in_cutoff", "out_cutoff", "in_half_width", "out_half_width",
                       "conv_kernel", "up_factor", "down_factor", "up_taps", "down_taps",
                       "down_radial", "is_torgb", "is_critically_sampled")


def is_stylegan3_record(reader: GeneratorReader, g: Any) -> bool:
    """Whether a ``Generator`` record has a StyleGAN3 synthesis network."""
    try:
        synthesis = reader.modules(g).get("synthesis")
        names = set(reader.modules(synthesis)) if synthesis is not None else set()
    except Exception:
        return False
    return "input" in names or any(map(_LAYER_NAME.fullmatch, names))


class StyleGAN3Reader(GeneratorReader):
    """The StyleGAN3 counterpart of the StyleGAN2 record reader."""

    def build_model(self, config):
        return StyleGAN3Generator(config)

    def config(self, g) -> tuple[StyleGAN3Config, dict]:
        if g.class_name != "Generator":
            raise self.fail(f"its network is a {g.class_name}, not a StyleGAN Generator")
        mapping = self.child(g, "mapping", "MappingNetwork", "mapping")
        synthesis = self.child(g, "synthesis", "SynthesisNetwork", "synthesis")
        dims = {key: self.as_int(self.hyper(g, key, GENERATOR_ARGS), key)
                for key in GENERATOR_ARGS}
        g_kwargs = self.kwargs(g)
        synthesis_kwargs = {**{k: v for k, v in g_kwargs.items()
                               if k not in GENERATOR_ARGS and k != "mapping_kwargs"},
                            **self.kwargs(synthesis)}
        settings = {}
        for key, default in _SYNTHESIS_DEFAULTS.items():
            value = synthesis.state.get(key, synthesis_kwargs.get(key, default))
            if key == "use_radial_filters":
                settings[key] = bool(value)
            elif key == "conv_clamp":
                settings[key] = None if value is None else self.as_float(value, key)
            elif key in _INT_KEYS:
                settings[key] = self.as_int(value, key)
            else:
                settings[key] = self.as_float(value, key)

        fc_indices = sorted(int(m.group(1)) for key in self.modules(mapping)
                            if (m := FC_NAME.fullmatch(key)))
        if not fc_indices or fc_indices != list(range(len(fc_indices))):
            raise self.fail("its mapping network's layers are not fc0, fc1, ... in order")
        fc0 = self.child(mapping, "fc0", "FullyConnectedLayer", "mapping.fc0")
        lr_multiplier = self.as_float(fc0.state.get("bias_gain", 0.01), "mapping lr_multiplier")
        fc0_in = self.tensor(fc0, "weight", "mapping.fc0", ndim=2).shape[1]
        embed = dims["w_dim"] if dims["c_dim"] > 0 else 0
        self.check_dims({"z_dim + embed": (dims["z_dim"] + embed, fc0_in,
                                           "mapping.fc0.weight inputs")})
        try:
            config = StyleGAN3Config(
                resolution=dims["img_resolution"], z_dim=dims["z_dim"], c_dim=dims["c_dim"],
                w_dim=dims["w_dim"], img_channels=dims["img_channels"],
                mapping_layers=len(fc_indices), mapping_lr_multiplier=lr_multiplier, **settings)
            specs = layer_specs(config)
        except (TypeError, ValueError) as exc:
            raise self.fail(f"its generator settings are invalid ({one_line(exc)})") from None
        self.check_layers(synthesis, specs, config.conv_clamp)
        num_fp16 = synthesis.state.get("num_fp16_res", synthesis_kwargs.get("num_fp16_res"))
        return config, {"num_fp16_res": num_fp16 if isinstance(num_fp16, int) else None}

    def check_layers(self, synthesis, specs, conv_clamp: float | None) -> None:
        """The stored layers must be exactly the ones the settings imply."""
        stored = sorted((k for k in self.modules(synthesis) if _LAYER_NAME.fullmatch(k)),
                        key=lambda k: int(_LAYER_NAME.fullmatch(k).group(1)))
        wanted = [s.name for s in specs]
        if stored != wanted:
            raise self.fail(f"its synthesis layers are {stored[:3]}... where its settings give "
                            f"{wanted[:3]}...")
        for spec in specs:
            record = self.child(synthesis, spec.name, "SynthesisLayer", f"synthesis.{spec.name}")
            for key in _CHECKED_ATTRIBUTES + ("padding", "in_size", "out_size"):
                if key not in record.state:
                    continue
                if not self.same(record.state[key], getattr(spec, key), key):
                    raise self.fail(f"its layer {spec.name} has {key} {record.state[key]!r} "
                                    f"where its settings give {getattr(spec, key)!r}")
            stored_clamp = record.state.get("conv_clamp", conv_clamp)
            if (stored_clamp is None) != (conv_clamp is None) or (
                    conv_clamp is not None and not self.same(stored_clamp, conv_clamp, "conv_clamp")):
                raise self.fail(f"its layer {spec.name} clamps at {stored_clamp!r} where its "
                                f"settings give {conv_clamp!r}")

    @staticmethod
    def same(stored: Any, expected: Any, key: str) -> bool:
        try:
            a = np.asarray(stored, dtype=np.float64).reshape(-1)
            b = np.asarray(expected, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            return False
        if key in ("in_size", "out_size"):
            b = np.broadcast_to(b, a.shape)
        return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-9, atol=1e-9))
