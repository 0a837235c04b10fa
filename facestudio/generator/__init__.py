"""Networks, weight loaders and the inference API (torch and numpy only; no Qt).

``networks/`` holds the StyleGAN2 and StyleGAN3 networks, their ops and configs; ``formats/``
the weight files (the loader and one reader per format); :mod:`~facestudio.generator.model`
the :class:`Generator` that the rest of facestudio uses.
"""

from facestudio.generator.errors import ModelLoadError, UnsafePickleError
from facestudio.generator.model import Generator, load_generator
from facestudio.generator.networks.config import GeneratorConfig

__all__ = ["Generator", "GeneratorConfig", "ModelLoadError", "UnsafePickleError", "load_generator"]
