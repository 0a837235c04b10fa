"""The recipe: what a face is made of, independent of pixels.

Rendering a recipe with the same model is deterministic (noise ``const``). Recipes are
immutable; changing one makes a new one (``dataclasses.replace``), which is what history,
undo and the render worker's latest-wins logic rely on.

A recipe is validated when it is made, so one read from an image, a session or a gallery
face is refused with :class:`RecipeError` (one sentence) before it reaches the renderer or
the undo stack: seeds are whole numbers in ``0..MAX_SEED``, ``|psi| <= MAX_PSI`` and edit
amounts ``|amount| <= MAX_AMOUNT``, StyleGAN3 shifts ``|t| <= MAX_SHIFT`` and rotations
``|angle| <= MAX_ANGLE``, all finite; layer ranges are two non-negative whole numbers.
Whether a recipe fits one model (layer ranges within its ``num_ws``, a class within its
``c_dim``, edits along directions it has) is :func:`check_fits`, asked before a recipe from a
file reaches that model's window or renderer.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass
from typing import Any

from facestudio.bounded_json import HeaderError, document_version
from facestudio.errors import FacestudioError
from facestudio.latent.noise import NOISE_MODES
from facestudio.latent.seeds import check_seed

# Version 2: the bundled model's named sliders were refitted (direction bundle version 2);
# the Age and Gender a version-1 recipe used are the retired ``age@1`` / ``gender@1``.
# Version 3: Head nod refitted on a nod read from a 3-D fit of the landmarks (measures version 2;
# the 2-D ratio it replaces moved with the jaw): a version-2 recipe's ``pitch`` is ``pitch@2``.
# Version 4: Head nod given a second pass that stops it closing open mouths: a version-3 recipe's
# ``pitch`` is ``pitch@3``.
# Version 5: that second pass cancels the forehead's darkening instead of the smile: a version-4
# recipe's ``pitch`` is ``pitch@4``.
# Version 6: Smile, Mouth open and Hair refitted so that they no longer move the light across the
# face, and Gender so that it no longer takes glasses off (measures version 3): a version-5
# recipe's ``smile``, ``mouth_open``, ``hair`` and ``gender`` are ``smile@5`` ... ``gender@5``.
RECIPE_VERSION = 6
NAMED_AT = {1: ("age", "gender"),  # recipe version -> the bundled model's named sliders then
            2: ("smile", "mouth_open", "eyes_open", "yaw", "pitch", "hair", "age", "gender"),
            3: ("smile", "mouth_open", "eyes_open", "yaw", "pitch", "hair", "age", "gender"),
            4: ("smile", "mouth_open", "eyes_open", "yaw", "pitch", "hair", "age", "gender"),
            5: ("smile", "mouth_open", "eyes_open", "yaw", "pitch", "hair", "age", "gender")}
RETIRED_NAMES = {1: ("age", "gender"), 2: ("pitch",), 3: ("pitch",), 4: ("pitch",),
                 5: ("smile", "mouth_open", "hair", "gender")}  # recipe version -> named ids whose vectors changed after it
# The studio's psi control spans -1..2; past +-10 a face is noise, and past about 1e30 the
# network's float32 arithmetic overflows.
MAX_PSI = 10.0
# Edit sliders span +-3 units (standard deviations of the direction); +-100 leaves room for
# scripted extremes while keeping float32 far from overflow.
MAX_AMOUNT = 100.0
# A StyleGAN3 face shifted by a hundred image widths, or turned ten times round, is already
# past any use; far larger numbers reach float32 overflow inside the network.
MAX_SHIFT = 100.0
MAX_ANGLE = 3600.0


class RecipeError(FacestudioError, ValueError):
    """A recipe facestudio refuses (malformed, or a number out of range); one sentence."""


def _finite(value: Any, what: str, limit: float) -> float:
    """``value`` as a float when it is a real number with ``|value| <= limit``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise RecipeError(f"{what} must be a number, got {value!r}")
    try:
        value = float(value)
    except OverflowError:  # an int past float range, e.g. 10**400 in JSON
        value = math.inf if value > 0 else -math.inf
    if not math.isfinite(value) or abs(value) > limit:
        raise RecipeError(f"{what} {value:g} is out of range: it must lie between {-limit:g} and {limit:g}")
    return value


def _whole(value: Any, what: str) -> int:
    """``value`` as an int when it is a non-negative whole number (``3`` or ``3.0``)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise RecipeError(f"{what} must be a whole number of 0 or more, got {value!r}")
    return int(value)


def check_layers(layers: Any, what: str) -> tuple[int, int]:
    """``(start, stop)`` as two non-negative ints (``3.0`` is 3, ``2.9`` and ``"3"`` are
    refused); ``what`` names their owner in the message. Whether they fit a model is the
    caller's to check."""
    return _layers(layers, what)


def _layers(layers: Any, what: str) -> tuple[int, int]:
    """``(start, stop)`` as two non-negative ints."""
    if isinstance(layers, (str, bytes)) or not hasattr(layers, "__len__") or len(layers) != 2:
        raise RecipeError(f"the layers of {what} must be two whole numbers (start, stop), got {layers!r}")
    return tuple(_whole(i, f"a layer of {what}") for i in layers)


def check_psi(psi: Any) -> float:
    """``psi`` as a float, or :class:`RecipeError` unless it is finite with ``|psi| <= MAX_PSI``."""
    return _finite(psi, "truncation psi", MAX_PSI)


def check_amount(amount: Any, what: str = "the edit amount") -> float:
    """``amount`` as a float, or :class:`RecipeError` unless it is finite with
    ``|amount| <= MAX_AMOUNT``; ``what`` names it in the message."""
    return _finite(amount, what, MAX_AMOUNT)


def _seed(value: Any, what: str = "the seed") -> int:
    try:
        return check_seed(_whole(value, what))
    except RecipeError:
        raise
    except ValueError as exc:
        raise RecipeError(str(exc)) from None


@dataclass(frozen=True)
class Edit:
    """Move ``amount`` units along direction ``direction_id`` on ws rows ``[start, stop)``."""

    direction_id: str
    amount: float
    layers: tuple[int, int]

    def __post_init__(self):
        if not isinstance(self.direction_id, str) or not self.direction_id:
            raise RecipeError(f"an edit names its direction with text, got {self.direction_id!r}")
        what = f"the amount of the edit {self.direction_id!r}"
        object.__setattr__(self, "amount", check_amount(self.amount, what))
        object.__setattr__(self, "layers", _layers(self.layers, f"the edit {self.direction_id!r}"))

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

    def __post_init__(self):
        object.__setattr__(self, "seed", _seed(self.seed, "the mix seed"))
        object.__setattr__(self, "layers", _layers(self.layers, "the mix"))
        _check_edits(self.edits)


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
        if not isinstance(self.model_sha256, str) or not isinstance(self.model_name, str):
            raise RecipeError("the model of a recipe is named by text (sha256 and name)")
        object.__setattr__(self, "seed", _seed(self.seed))
        object.__setattr__(self, "psi", check_psi(self.psi))
        for name in ("cutoff", "class_idx"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, _whole(getattr(self, name), name.replace("_idx", "")))
        if self.transform is not None:
            object.__setattr__(self, "transform", check_transform(self.transform))
        if self.noise not in NOISE_MODES:
            raise RecipeError(f"noise mode must be one of {', '.join(NOISE_MODES)}, got {self.noise!r}")
        _check_edits(self.edits)
        if self.mix is not None and not isinstance(self.mix, Mix):
            raise RecipeError(f"the mix of a recipe is malformed: {self.mix!r}")

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
        """The recipe a JSON object describes; :class:`RecipeError` (one sentence) otherwise."""
        if not isinstance(d, dict):
            raise RecipeError(f"a recipe is a JSON object, not {type(d).__name__}")
        try:
            version = document_version(d, None, RECIPE_VERSION, "recipe", default=1)
        except HeaderError as exc:
            raise RecipeError(f"the recipe {exc}") from None
        model = d.get("model")
        if not isinstance(model, dict) or not isinstance(model.get("sha256"), str) \
                or not isinstance(model.get("name", ""), str):
            got = "missing" if model is None else f"a {type(model).__name__}" if not isinstance(model, dict) else \
                "an object without a text sha256 and name"
            raise RecipeError(f"not a facestudio recipe: its model must be an object naming the model's sha256, "
                              f"not {got}")
        try:
            mix = d.get("mix")
            return cls(
                model_sha256=model["sha256"], model_name=model.get("name", ""),
                seed=d["seed"], psi=d.get("psi", 1.0), cutoff=d.get("cutoff"),
                noise=d.get("noise", "const"), class_idx=d.get("class"),
                edits=_edits_from(d.get("edits", []), version),
                mix=None if not mix else Mix(mix["seed"], mix["layers"], _edits_from(mix.get("edits", []), version)),
                transform=None if d.get("transform") is None else d["transform"],
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise RecipeError(f"not a facestudio recipe: missing or malformed {exc}") from None


def check_transform(transform) -> tuple[float, float, float]:
    """``(tx, ty, angle)`` as three finite floats: the StyleGAN3 input's translation (the
    image spans about one unit), ``|t| <= MAX_SHIFT``, and rotation in degrees,
    ``|angle| <= MAX_ANGLE``; :class:`RecipeError` otherwise."""
    if isinstance(transform, (str, bytes)) or not hasattr(transform, "__len__") or len(transform) != 3:
        raise RecipeError(f"a transform is three finite numbers (tx, ty, angle), got {transform!r}")
    tx, ty, angle = transform
    return (_finite(tx, "the transform's x shift", MAX_SHIFT),
            _finite(ty, "the transform's y shift", MAX_SHIFT),
            _finite(angle, "the transform's rotation", MAX_ANGLE))


def check_layer_range(layers, num_ws: int, what: str) -> tuple[int, int]:
    """A half-open ws row range ``(start, stop)`` with ``0 <= start <= stop <= num_ws``;
    :class:`RecipeError` otherwise."""
    start, stop = _layers(layers, what)
    if start > stop:
        raise RecipeError(f"{what} has a reversed layer range ({start}, {stop})")
    if not 0 <= start <= stop <= num_ws:
        raise RecipeError(f"{what} uses layers {start} to {stop - 1}, but this model has "
                          f"layers 0 to {num_ws - 1}")
    return start, stop


def check_fits(recipe: Recipe, num_ws: int, c_dim: int = 0, direction_ids=None,
               transform: bool = False) -> Recipe:
    """``recipe`` when a model with ``num_ws`` ws rows and ``c_dim`` classes can render it:
    every layer range (edits, mix, the mix's edits) within ``0..num_ws``, a cutoff of at most
    ``num_ws``, a class index below ``c_dim`` (none for an unconditional model), edits only
    along ``direction_ids`` (when given) and a transform only where ``transform`` is
    supported (StyleGAN3). :class:`RecipeError` (one sentence) otherwise."""
    edits = list(recipe.edits)
    if recipe.mix is not None:
        check_layer_range(recipe.mix.layers, num_ws, "the style mix")
        edits += recipe.mix.edits
    for e in edits:
        check_layer_range(e.layers, num_ws, f"the edit along {e.direction_id!r}")
        if direction_ids is not None and e.direction_id not in direction_ids:
            raise RecipeError(f"the recipe uses the direction {e.direction_id!r}, which this model does not have")
    if recipe.cutoff is not None and recipe.cutoff > num_ws:
        raise RecipeError(f"the truncation cutoff {recipe.cutoff} is past this model's {num_ws} layers")
    if c_dim and (recipe.class_idx is None or recipe.class_idx >= c_dim):
        raise RecipeError(f"the class {recipe.class_idx} is not one of this model's classes 0 to {c_dim - 1}")
    if not c_dim and recipe.class_idx is not None:
        raise RecipeError(f"the recipe asks for class {recipe.class_idx}, but this model is not conditional")
    if recipe.transform is not None and not transform:
        raise RecipeError("the recipe moves or rotates the face, which only StyleGAN3 models can do")
    return recipe


def _edits_list(edits: tuple[Edit, ...]) -> list[dict[str, Any]]:
    return [{"direction": e.direction_id, "amount": e.amount, "layers": list(e.layers)} for e in edits]


def retired_id(direction_id: str, version: int) -> str:
    """The id under which a recipe of ``version`` finds ``direction_id`` today: ``age@1`` for
    the Age of a version-1 recipe, ``pitch@2`` for the head nod of a version-2 one (vectors
    replaced later); else ``direction_id``. A name that was not a named slider at the recipe's
    version (a version-1 recipe's ``smile`` came from elsewhere) is left alone."""
    for old in range(version, RECIPE_VERSION):
        if direction_id in RETIRED_NAMES.get(old, ()):
            return f"{direction_id}@{old}"
        if direction_id not in NAMED_AT.get(old, ()):
            break
    return direction_id


def _edits_from(items, version: int = RECIPE_VERSION) -> tuple[Edit, ...]:
    if not isinstance(items, list):
        raise RecipeError("the edits of a recipe must be a list")
    return tuple(Edit(retired_id(e["direction"], version) if isinstance(e["direction"], str) else e["direction"],
                      e["amount"], e["layers"]) for e in items)


def _check_edits(edits) -> None:
    if not isinstance(edits, tuple) or not all(isinstance(e, Edit) for e in edits):
        raise RecipeError("the edits of a recipe must be a tuple of Edit")


def _mix_dict(mix: Mix) -> dict[str, Any]:
    """The mix as JSON; ``edits`` only when the donor has any (older readers stay happy)."""
    d: dict[str, Any] = {"seed": mix.seed, "layers": list(mix.layers)}
    if mix.edits:
        d["edits"] = _edits_list(mix.edits)
    return d
