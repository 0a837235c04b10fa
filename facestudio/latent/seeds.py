"""Seeds to z, following the reference convention so seed 42 here is seed 42 there."""

from __future__ import annotations

import numpy as np

from facestudio.errors import InvalidValueError
from facestudio.number_lists import NumberGrammar

MAX_SEED = 2**32 - 1
SEED_FORMS = "use forms like 7, 1,5,9, 0-63 or 0-9,20-29 (ranges inclusive)"


def seed_grammar(what: str = "seeds") -> NumberGrammar:
    """Seeds in the one number-list grammar (:mod:`facestudio.number_lists`): whole numbers
    from 0 to :data:`MAX_SEED`; ``what`` names the list in messages ("row seeds")."""
    return NumberGrammar(what, "seed", 0, MAX_SEED, f"the seeds, which run from 0 to {MAX_SEED}", SEED_FORMS,
                         counted="faces")


def check_seed(seed: int) -> int:
    """Return ``seed`` as an int or raise :class:`InvalidValueError` (a ValueError) with one
    sentence if it is out of range."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise InvalidValueError(f"a seed must be a whole number, got {seed!r}")
    if not 0 <= int(seed) <= MAX_SEED:
        raise InvalidValueError(f"seed {seed} is out of range: seeds run from 0 to {MAX_SEED}")
    return int(seed)


def z_from_seed(seed: int, z_dim: int) -> np.ndarray:
    """``RandomState(seed).randn(1, z_dim)`` as float64 ``[1, z_dim]``."""
    return np.random.RandomState(check_seed(seed)).randn(1, z_dim)


def z_from_seeds(seeds, z_dim: int) -> np.ndarray:
    """Stack of :func:`z_from_seed` for several seeds, ``[N, z_dim]``."""
    return np.concatenate([z_from_seed(s, z_dim) for s in seeds], axis=0)
