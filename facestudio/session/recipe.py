"""The recipe: what a face is made of, independent of pixels.

Rendering a recipe with the same model is deterministic (noise ``const``). Recipes are
immutable; changing one makes a new one (``dataclasses.replace``), which is what history,
undo and the render worker's latest-wins logic rely on.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from facestudio.latent.seeds import check_seed

NOISE_MODES = ("const", "random", "none")
RECIPE_VERSION = 1


@dataclass(frozen=True)
class Edit:
    """Move ``amount`` units along direction ``direction_id`` on ws rows ``[start, stop)``."""

    direction_id: str
    amount: float
    layers: tuple[int, int]

    def as_tuple(self):
        return (self.direction_id, self.amount, self.layers)


@dataclass(frozen=True)
class Mix:
    """Style mixing: ws rows ``[start, stop)`` come from ``seed`` (same psi/cutoff/class).

    edits: the donor face's own edits, applied to the donor's ws before its rows are taken
    (so a gallery face with edits can donate its final look); empty for a plain seed.
    """

    seed: int
    layers: tuple[int, int]
    edits: tuple[Edit, ...] = ()


@dataclass(frozen=True)
class Recipe:
    model_sha256: str
    seed: int
    psi: float = 0.7
    cutoff: int | None = None
    noise: str = "const"
    class_idx: int | None = None
    edits: tuple[Edit, ...] = ()
    mix: Mix | None = None
    model_name: str = ""
    transform: tuple[float, float, float] | None = None  # StyleGAN3 input (tx, ty, degrees)

    def __post_init__(self):
        check_seed(self.seed)
        if self.transform is not None:
            object.__setattr__(self, "transform", check_transform(self.transform))
        if self.noise not in NOISE_MODES:
            raise ValueError(f"noise mode must be one of {', '.join(NOISE_MODES)}, got {self.noise!r}")
        if not np.isfinite(self.psi):
            raise ValueError("truncation psi must be a finite number")

    def with_edit(self, direction_id: str, amount: float, layers: tuple[int, int]) -> "Recipe":
        """A copy with this direction's edit set (replaced, or appended; removed at amount 0)."""
        kept = [e for e in self.edits if e.direction_id != direction_id]
        if amount:
            pos = next((i for i, e in enumerate(self.edits) if e.direction_id == direction_id), len(kept))
            kept.insert(pos, Edit(direction_id, float(amount), tuple(layers)))
        return dataclasses.replace(self, edits=tuple(kept))

    def amount_of(self, direction_id: str) -> float:
        return next((e.amount for e in self.edits if e.direction_id == direction_id), 0.0)

    def replace(self, **changes) -> "Recipe":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": RECIPE_VERSION,
            "model": {"sha256": self.model_sha256, "name": self.model_name},
            "seed": self.seed, "psi": self.psi, "cutoff": self.cutoff, "noise": self.noise,
            "class": self.class_idx,
            "edits": _edits_list(self.edits),
            "mix": None if self.mix is None else _mix_dict(self.mix),
            **({} if self.transform is None else {"transform": list(self.transform)}),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Recipe":
        try:
            if d.get("version", 1) > RECIPE_VERSION:
                raise ValueError(f"recipe version {d['version']} is newer than this facestudio understands")
            mix = d.get("mix")
            return cls(
                model_sha256=d["model"]["sha256"], model_name=d["model"].get("name", ""),
                seed=int(d["seed"]), psi=float(d.get("psi", 1.0)),
                cutoff=None if d.get("cutoff") is None else int(d["cutoff"]),
                noise=d.get("noise", "const"),
                class_idx=None if d.get("class") is None else int(d["class"]),
                edits=_edits_from(d.get("edits", [])),
                mix=None if not mix else Mix(int(mix["seed"]), tuple(int(i) for i in mix["layers"]),
                                             _edits_from(mix.get("edits", []))),
                transform=None if d.get("transform") is None else tuple(d["transform"]),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a facestudio recipe: missing or malformed {exc}") from None


def check_transform(transform) -> tuple[float, float, float]:
    """``(tx, ty, angle)`` as three finite floats: the StyleGAN3 input's translation (the
    image spans about one unit) and rotation in degrees; ValueError otherwise."""
    try:
        values = tuple(float(v) for v in transform)
    except (TypeError, ValueError):
        values = ()
    if len(values) != 3 or not all(np.isfinite(values)):
        raise ValueError(f"a transform is three finite numbers (tx, ty, angle), got {transform!r}")
    return values


def _edits_list(edits: tuple[Edit, ...]) -> list[dict[str, Any]]:
    return [{"direction": e.direction_id, "amount": e.amount, "layers": list(e.layers)} for e in edits]


def _edits_from(items) -> tuple[Edit, ...]:
    return tuple(Edit(e["direction"], float(e["amount"]), tuple(int(i) for i in e["layers"])) for e in items)


def _mix_dict(mix: Mix) -> dict[str, Any]:
    """The mix as JSON; ``edits`` only when the donor has any (older readers stay happy)."""
    d: dict[str, Any] = {"seed": mix.seed, "layers": list(mix.layers)}
    if mix.edits:
        d["edits"] = _edits_list(mix.edits)
    return d
