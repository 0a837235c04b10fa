"""The directions a model brings with it, as one immutable value.

:class:`ModelDirections` holds what a model answers to, fixed when it is opened: the named
sliders shipped beside its weights (retired versions included, which recipes made before a
refit still use), and the sliders each discovery method found (PCA, SeFa all / coarse /
middle / fine), each on the layers where it acts. The studio's
:class:`~facestudio.session.direction_catalogue.DirectionCatalogue` adds the user's own
directions to it; everything that asks "which sliders are shown" or "which direction ids
may a recipe use" asks the catalogue.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from facestudio.latent.directions import Direction
from facestudio.latent.discovery import Discovery
from facestudio.latent.layer_reach import LayerReach

SLIDER_COUNT = 12  # sliders per discovery method
PCA_ONLY = {"pca": "PCA (GANSpace)"}


def shown(directions) -> list[Direction]:
    """The directions a slider is shown for: all but the retired ones and those a tool keeps
    for itself (``meta["internal"]``: the anonymizer's skin tone), which recipes may still use."""
    return [d for d in directions if not d.meta.get("retired") and not d.meta.get("internal")]


@dataclass(frozen=True, eq=False)
class ModelDirections:
    """sha256, num_ws, w_dim: the model; named: its shipped directions, retired ones too;
    discovered: method key -> its sliders, strongest first; methods: method key -> label,
    in the picker's order."""

    sha256: str | None
    num_ws: int
    w_dim: int
    named: tuple[Direction, ...] = ()
    discovered: Mapping[str, tuple[Direction, ...]] = field(default_factory=lambda: MappingProxyType({}))
    methods: Mapping[str, str] = field(default_factory=lambda: MappingProxyType(dict(PCA_ONLY)))

    @classmethod
    def found(cls, sha256: str | None, num_ws: int, w_dim: int, named, discovery: Discovery | None,
              reach: LayerReach | None = None, count: int = SLIDER_COUNT) -> "ModelDirections":
        """``named`` plus ``count`` sliders of each of ``discovery``'s methods, each (with
        ``reach``) on the layers where it acts (:mod:`facestudio.latent.layer_reach`)."""
        if discovery is None:
            return cls(sha256, num_ws, w_dim, tuple(named))
        found = {}
        for method in discovery.methods():
            sliders = discovery.directions(method, count)
            found[method] = tuple(reach.restrict(d) for d in sliders) if reach is not None else tuple(sliders)
        return cls(sha256, num_ws, w_dim, tuple(named), MappingProxyType(found),
                   MappingProxyType(dict(discovery.methods())))

    def shown(self, method: str = "pca") -> list[Direction]:
        """The named sliders (not the retired ones), then ``method``'s (none for a method
        this model does not have)."""
        return shown(self.named) + list(self.discovered.get(method, ()))

    def every(self) -> list[Direction]:
        """Every direction a recipe of this model may use, whichever method is shown."""
        return list(self.named) + [d for sliders in self.discovered.values() for d in sliders]
