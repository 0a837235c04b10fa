"""Write a StyleGAN2 model of the FFHQ config-f size (1024 px, 512 channels up to 32 px,
8-layer mapping, conv clamp 256) with random weights, for ``facestudio bench`` and other
timings on a network as large as the ones people open.

Run: ``.venv/bin/python tests/benchmarks/ffhq_size_model.py FOLDER [--resolution 1024]``
then ``facestudio bench --model FOLDER``. Not part of the test suite.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from facestudio.generator.networks.config import GeneratorConfig, default_channels
from facestudio.generator.formats.native import write_native
from facestudio.generator.networks.stylegan2 import StyleGAN2Generator


def ffhq_size_config(resolution: int = 1024) -> GeneratorConfig:
    return GeneratorConfig(resolution=resolution, channels=default_channels(resolution), conv_clamp=256.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--resolution", type=int, default=1024)
    args = parser.parse_args()
    torch.manual_seed(0)
    config = ffhq_size_config(args.resolution)
    network = StyleGAN2Generator(config).eval()
    write_native(args.folder, config, network.state_dict())
    print(f"wrote {args.folder} ({args.resolution} px, random weights)")


if __name__ == "__main__":
    main()
