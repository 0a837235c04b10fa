"""Generator configs are checked field by field, and their network's size bounded, before any
network is allocated (issue 17: channels, latents of 10^7, 10^6 mapping layers, 2^20 px,
zero or negative channels, empty or huge filters, strings where numbers belong)."""

from __future__ import annotations

import json
import math

import pytest
import torch
from safetensors.torch import save_file

from facestudio.generator import model as model_module
from facestudio.generator.errors import ModelLoadError
from facestudio.generator.model import load_generator
from facestudio.generator.networks.config import GeneratorConfig, config_from_dict
from facestudio.generator.networks.config_checks import MAX_PARAMETERS
from facestudio.generator.networks.sg3_config import StyleGAN3Config
from facestudio.generator.networks.stylegan2 import StyleGAN2Generator
from facestudio.generator.networks.stylegan3 import StyleGAN3Generator

SMALL = {"resolution": 16, "z_dim": 8, "w_dim": 8, "channels": {"4": 8, "8": 8, "16": 8}}
SMALL_SG3 = {"family": "stylegan3", "resolution": 16, "z_dim": 8, "w_dim": 8, "channel_base": 256,
             "channel_max": 16, "num_layers": 4}
BIG = 10 ** 7


def nested(depth: int):
    value = 1
    for _ in range(depth):
        value = {"x": value}
    return value


SG2_CASES = [
    ({"channels": {"4": BIG, "8": 8, "16": 8}}, r"channels at 4 px must lie between 1 and 8192"),
    ({"w_dim": BIG}, "w_dim must lie between 1 and 4096"),
    ({"z_dim": BIG}, "z_dim must lie between 0 and 4096"),
    ({"c_dim": BIG}, "c_dim must lie between 0 and 100000"),
    ({"mapping_layers": 10 ** 6}, "mapping_layers must lie between 1 and 64"),
    ({"resolution": 2 ** 20, "channels": {}}, "resolution must lie between 4 and 4096"),
    ({"channels": {"4": 0, "8": 8, "16": 8}}, "channels at 4 px must lie between 1"),
    ({"channels": {"4": -5, "8": 8, "16": 8}}, "channels at 4 px must lie between 1"),
    ({"channels": {"4": "8", "8": 8, "16": 8}}, "channels at 4 px must be a whole number"),
    ({"channels": {"4": nested(50), "8": 8, "16": 8}}, "must be a whole number"),
    ({"channels": [8, 8, 8]}, "channels must map resolutions"),
    ({"resample_filter": []}, "resample_filter must be a list of 1 to 64 numbers"),
    ({"resample_filter": [1.0] * 10 ** 6}, "resample_filter must be a list of 1 to 64 numbers"),
    ({"resample_filter": [1, "nan", 1]}, "resample_filter must hold finite numbers"),
    ({"resample_filter": [1, math.nan, 1]}, "resample_filter must hold finite numbers"),
    ({"resample_filter": [1, -1]}, "resample_filter must sum to more than 0"),
    ({"mapping_lr_multiplier": "0.01"}, "mapping_lr_multiplier must be a finite number above 0"),
    ({"conv_clamp": -256}, "conv_clamp must be a finite number above 0"),
    ({"use_noise": "yes"}, "use_noise must be true or false"),
    ({"img_channels": 0}, "img_channels must lie between 1 and 16"),
    ({"resolution": 1024, "channels": {str(2 ** i): 8192 for i in range(2, 11)}},
     r"network of [\d,]+ parameters, more than the 200,000,000"),
]


@pytest.mark.parametrize("change, message", SG2_CASES)
def test_a_hostile_stylegan2_config_is_one_sentence(change, message):
    with pytest.raises(ValueError, match=message) as info:
        config_from_dict({**SMALL, **change})
    assert "\n" not in str(info.value) and len(str(info.value)) < 300


SG3_CASES = [
    ({"channel_max": BIG}, "channel_max must lie between 1 and 8192"),
    ({"w_dim": BIG}, "w_dim must lie between 1 and 4096"),
    ({"num_layers": 10 ** 6}, "num_layers must lie between 1 and 64"),
    ({"mapping_layers": 10 ** 6}, "mapping_layers must lie between 1 and 64"),
    ({"resolution": 2 ** 20}, "resolution must lie between 4 and 4096"),
    ({"filter_size": 0}, "filter_size must lie between 1 and 16"),
    ({"mapping_lr_multiplier": "0.01"}, "mapping_lr_multiplier must be a finite number above 0"),
    ({"output_scale": math.nan}, "output_scale must be a finite number above 0"),
    ({"first_cutoff": 0}, "first_cutoff must be a finite number above 0"),
    ({"use_radial_filters": 1}, "use_radial_filters must be true or false"),
    ({"conv_clamp": -256}, "conv_clamp must be a finite number above 0"),
    ({"conv_clamp": 0}, "conv_clamp must be a finite number above 0"),
    ({"conv_clamp": math.nan}, "conv_clamp must be a finite number above 0"),
    ({"resolution": 1024, "channel_base": 1 << 24, "channel_max": 8192, "num_layers": 20},
     r"network of [\d,]+ parameters, more than the 200,000,000"),
]


@pytest.mark.parametrize("change, message", SG3_CASES)
def test_a_hostile_stylegan3_config_is_one_sentence(change, message):
    with pytest.raises(ValueError, match=message):
        config_from_dict({**SMALL_SG3, **change})


def count(net: torch.nn.Module) -> int:
    return sum(t.numel() for t in net.parameters()) + sum(t.numel() for t in net.buffers())


def test_the_size_estimate_is_the_network_size_for_real_configs():
    with torch.device("meta"):  # StyleGAN2 config-f at 1024 px, without allocating it
        config_f = GeneratorConfig(resolution=1024)
        assert config_f.size_estimate() == count(StyleGAN2Generator(config_f)) == 33_167_164
    resnet = GeneratorConfig(resolution=64, c_dim=10, architecture="resnet", use_noise=False)
    assert resnet.size_estimate() == count(StyleGAN2Generator(resnet))
    r_config = StyleGAN3Config(resolution=256, conv_kernel=1, use_radial_filters=True,
                               channel_base=65536, channel_max=1024, c_dim=3)
    assert r_config.size_estimate() == count(StyleGAN3Generator(r_config))
    assert StyleGAN3Config(resolution=1024, conv_kernel=1, use_radial_filters=True, channel_base=65536,
                           channel_max=1024).size_estimate() < MAX_PARAMETERS / 10


def test_the_bundled_config_is_accepted():
    from facestudio.generator.formats.loader import bundled_model_path
    doc = json.loads((bundled_model_path() / "config.json").read_text())
    config = config_from_dict(doc["generator"])
    assert config.resolution in (64, 128) and config.size_estimate() < MAX_PARAMETERS


def native_folder(tmp_path, doc_or_text):
    folder = tmp_path / "hostile"
    folder.mkdir()
    save_file({"x": torch.zeros(1)}, str(folder / "model.safetensors"))
    text = doc_or_text if isinstance(doc_or_text, str) else json.dumps(doc_or_text)
    (folder / "config.json").write_text(text)
    return folder


@pytest.mark.parametrize("doc, message", [
    ({"format": "facestudio-generator", "version": 1, "generator": {**SMALL, "w_dim": BIG}}, "w_dim must lie"),
    ({"format": "facestudio-generator", "version": 1, "generator": {"resolution": 2 ** 20}}, "resolution must lie"),
    ({"format": "facestudio-generator", "version": "1", "generator": SMALL}, "its version must be a whole number"),
    ("[" * 100_000 + "]" * 100_000, "nested more than 32 levels deep"),
    # JSON's NaN literal, as Python writes it: a NaN filter would make every image one colour
    ('{"format": "facestudio-generator", "version": 1, "generator": '
     + json.dumps({**SMALL, "resample_filter": [1, math.nan, 3, 1]}) + "}", "resample_filter must hold finite"),
    ({"format": "facestudio-generator", "version": 1, "generator": {**SMALL, "conv_clamp": -256}},
     "conv_clamp must be a finite number above 0, got -256"),
    ({"format": "facestudio-generator", "version": 1, "generator": {**SMALL_SG3, "conv_clamp": -1}},
     "conv_clamp must be a finite number above 0, got -1"),
    ('{"format": "facestudio-generator", "pad": "' + " " * (2 << 20) + '"}', "too large to be a generator config"),
])
def test_a_hostile_native_folder_is_refused_before_any_network_exists(tmp_path, monkeypatch, doc, message):
    def no_network(config):
        raise AssertionError("a network was allocated for a hostile config")
    monkeypatch.setattr(model_module, "network_for", no_network)
    with pytest.raises(ModelLoadError, match=message):
        load_generator(native_folder(tmp_path, doc))
