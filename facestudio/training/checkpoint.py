"""Resumable training checkpoints: compact, atomic, and loaded without running code.

One file holds G, G_ema, D, both optimisers (moment estimates stored in bfloat16 to keep
the file small), the augmentation strength, images seen and the run's settings. It is a
dict of tensors and plain values, so ``torch.load(weights_only=True)`` reads it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from facestudio.errors import FacestudioError
from facestudio.fileio import atomic_write

CHECKPOINT_NAME = "checkpoint.pt"


class CheckpointError(FacestudioError):
    """A checkpoint cannot be read; the message is one sentence."""


def _cpu(state: dict) -> dict:
    return {k: v.detach().cpu() for k, v in state.items()}


def _compact_optimizer(state: dict) -> dict:
    out = {"param_groups": state["param_groups"], "state": {}}
    for k, v in state["state"].items():
        out["state"][k] = {name: (t.to(torch.bfloat16).cpu() if torch.is_tensor(t) and t.ndim > 0
                                  else t.cpu() if torch.is_tensor(t) else t)
                           for name, t in v.items()}
    return out


def _expand_optimizer(state: dict) -> dict:
    out = {"param_groups": state["param_groups"], "state": {}}
    for k, v in state["state"].items():
        out["state"][k] = {name: (t.float() if torch.is_tensor(t) and t.ndim > 0 else t)
                           for name, t in v.items()}
    return out


def save_checkpoint(path: Path, *, G, G_ema, D, opt_G, opt_D, extra: dict[str, Any]) -> None:
    """Write atomically (temp file + rename) so an interrupted save never loses the last one."""
    data = {
        "G": _cpu(G.state_dict()),
        "G_ema": _cpu(G_ema.state_dict()),
        "D": _cpu(D.state_dict()),
        "opt_G": _compact_optimizer(opt_G.state_dict()),
        "opt_D": _compact_optimizer(opt_D.state_dict()),
        **extra,
    }
    with atomic_write(Path(path), overwrite=True) as tmp:  # a failed save leaves no .part behind
        torch.save(data, tmp)


def load_checkpoint(path: Path) -> dict[str, Any]:
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
        missing = {"G", "G_ema", "D", "opt_G", "opt_D", "settings"} - set(data)
    except Exception as exc:  # torch raises many kinds for a damaged or foreign file
        raise CheckpointError(f"{path} is not a readable facestudio training checkpoint "
                              f"({type(exc).__name__})") from None
    if missing:
        raise CheckpointError(f"{path} is not a facestudio training checkpoint: it lacks {', '.join(sorted(missing))}")
    data["opt_G"] = _expand_optimizer(data["opt_G"])
    data["opt_D"] = _expand_optimizer(data["opt_D"])
    return data
