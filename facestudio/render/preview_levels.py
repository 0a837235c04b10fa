"""Which preview level a drag renders at, chosen by the model's cost and the measured speed.

A fixed 1/4 preview is far too slow for an FFHQ-size 1024 px network on a laptop CPU (its
blocks up to 256 px are 37 of its 74 G multiply-adds) and needlessly blurry for a small one.
:class:`PreviewLevelChooser` counts the multiply-adds of the blocks a preview at each level runs
(:func:`block_gmacs`, from the model's channel plan), multiplies them by a time per G
multiply-add and takes the finest level whose preview fits :data:`PREVIEW_TARGET_MS`. The time
per G multiply-add starts from what the development machine measured for the preview
precision and follows what this machine measures on every preview the worker renders
(:meth:`PreviewLevelChooser.observe`), so a faster CPU or a GPU gets sharper previews.

What the user sees at each level is the running RGB image of the block at ``R / 2**level``
scaled up bilinearly: 1/16 of a 1024 px face is a 64 px face shown at 1024 px, soft but with
the pose, face shape, hair and colours of the settled frame, which replaces it
``settle_seconds`` after the slider stops.
"""

from __future__ import annotations

import threading

PREVIEW_TARGET_MS = 100.0  # per preview: 8+ frames/s, and a p95 near 200 ms with one render in flight
INITIAL_MS_PER_GMAC = {"bf16": 6.0, "fp32": 14.0}  # FFHQ-size net, 2-core development CPU, in the worker
MIN_LEVEL = 1  # a preview is always cheaper than the settled frame that follows it
SMOOTHING = 0.3  # weight of the newest measurement in the running time per G multiply-add


def block_gmacs(config) -> list[float]:
    """G multiply-adds of each synthesis block of a StyleGAN2 ``config`` for one face: its 3x3
    convolutions (the upsampling one as the stride-2 transposed convolution it is computed
    as, a quarter of a full-size convolution's taps) and its 1x1 ToRGB."""
    out = []
    for res in config.block_resolutions:
        ch = config.channels[res]
        macs = res * res * ch * ch * 9  # conv1
        if res > 4:
            macs += res * res * config.channels[res // 2] * ch * 9 / 4  # conv0 (transposed, stride 2)
        macs += res * res * ch * config.img_channels  # ToRGB
        out.append(macs / 1e9)
    return out


class PreviewLevelChooser:
    """The preview level for a renderer's model (see the module doc); thread-safe.

    block_costs: :func:`block_gmacs` of the model; max_level: the deepest level (stopping at the
    4 px block); precision: the preview precision's name, for the starting speed; target_ms:
    the time one preview may take.
    """

    def __init__(self, block_costs: list[float], max_level: int, precision: str = "fp32",
                 target_ms: float = PREVIEW_TARGET_MS):
        self.block_costs = list(block_costs)
        self.max_level = int(max_level)
        self.target_ms = float(target_ms)
        self._ms_per_gmac = INITIAL_MS_PER_GMAC.get(precision, INITIAL_MS_PER_GMAC["fp32"])
        self._lock = threading.Lock()
        self._level = self._choose()

    @classmethod
    def for_renderer(cls, renderer, target_ms: float = PREVIEW_TARGET_MS) -> "PreviewLevelChooser":
        config = renderer.generator.config
        costs = block_gmacs(config) if renderer.max_level else []
        return cls(costs, renderer.max_level, renderer.preview_precision.name, target_ms)

    @property
    def level(self) -> int:
        with self._lock:
            return self._level

    @property
    def ms_per_gmac(self) -> float:
        with self._lock:
            return self._ms_per_gmac

    def gmacs(self, level: int) -> float:
        """Multiply-adds of a preview at ``level`` rendered from the first block."""
        blocks = len(self.block_costs) - level
        return sum(self.block_costs[:max(blocks, 0)])

    def run_gmacs(self, first: int, last: int) -> float:
        """Multiply-adds of blocks ``first .. last`` (what one render really computed)."""
        return sum(self.block_costs[first:last + 1])

    def estimate_ms(self, level: int) -> float:
        return self.gmacs(level) * self.ms_per_gmac

    def observe(self, elapsed_ms: float, gmacs: float) -> int:
        """Fold one measured preview (``gmacs`` G multiply-adds computed in ``elapsed_ms``) into
        the running speed and return the level chosen from now on. A preview that computed
        under a quarter of what the current level costs from scratch (most of it served from
        the prefix cache, or one block's ToRGB) is left out: its time is mostly overhead."""
        with self._lock:
            if gmacs > 0 and elapsed_ms > 0 and gmacs >= 0.25 * self.gmacs(self._level):
                rate = elapsed_ms / gmacs
                self._ms_per_gmac += SMOOTHING * (rate - self._ms_per_gmac)
                self._level = self._choose()
            return self._level

    def _choose(self) -> int:
        if self.max_level < MIN_LEVEL:
            return 0
        for level in range(MIN_LEVEL, self.max_level + 1):
            if self.gmacs(level) * self._ms_per_gmac <= self.target_ms:
                return level
        return self.max_level
