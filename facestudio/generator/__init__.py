"""Networks, weight loaders and the inference API (torch and numpy only; no Qt)."""

from facestudio.generator.config import GeneratorConfig
from facestudio.generator.errors import ModelLoadError, UnsafePickleError
from facestudio.generator.model import Generator, load_generator

__all__ = ["Generator", "GeneratorConfig", "ModelLoadError", "UnsafePickleError", "load_generator"]
