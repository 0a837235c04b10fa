"""An independent estimator of P(female) for judging the Gender slider: it never sees colour or
the eye region, so a slider that only paints eye make-up (or tints the face) cannot move it.

It is the attribute classifier's small network trained afresh on UTKFace photos made grey, with
the band from the brows to below the eyes blanked (:func:`blind`); it is not shipped and takes
no part in fitting any slider. Trained once (a few minutes on 2 cores) and kept in the work
folder: ``python -m tests.benchmarks.gender_check [--work runs/named]`` trains it and prints its
held-out accuracy.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

EYE_BAND = (0.22, 0.58)  # rows blanked, as fractions of the face's height (brows to below the eyes)
FILE = "gender-check.safetensors"


def blind(images: np.ndarray) -> np.ndarray:
    """uint8 faces ``[N, H, W, 3]`` made grey (BT.601 luma in all three channels) with the eye
    band set to mid-grey."""
    images = np.asarray(images, np.float32)
    luma = images @ np.array([0.299, 0.587, 0.114], np.float32)
    h = images.shape[1]
    luma[:, int(EYE_BAND[0] * h):int(EYE_BAND[1] * h)] = 128.0
    return np.repeat(np.clip(luma, 0, 255).astype(np.uint8)[..., None], 3, axis=-1)


def load_or_train(work: Path, data: Path = Path("../shared/data/utkface/UTKFace.tar"), epochs: int = 6):
    """The estimator kept in ``work``, else trained on ``data`` (and its held-out report printed)."""
    from facestudio.analysis.attributes import load_classifier
    from facestudio.training.attribute_classifier import parse_utkface_labels, save_classifier, train_classifier
    from facestudio.training.data import load_dataset
    path = Path(work) / FILE
    if path.is_file():
        return load_classifier(path)
    images, names = load_dataset(Path(data), 64, cache_dir=Path("data-cache"))
    ages, genders, ok = parse_utkface_labels(names)
    keep = np.flatnonzero(ok)
    net, report = train_classifier(blind(images[keep]), ages[keep], genders[keep], epochs=epochs)
    print(f"gender check (grey, eyes hidden): held-out gender accuracy {100 * report.gender_accuracy:.1f} % "
          f"on {report.val_count} photos")
    path.parent.mkdir(parents=True, exist_ok=True)
    save_classifier(net, path)
    return net


def p_female(net, images: np.ndarray) -> np.ndarray:
    from facestudio.analysis.attributes import predict
    return predict(net, blind(images))[1].astype(np.float64)


if __name__ == "__main__":
    import torch
    torch.set_num_threads(1)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", default="runs/named")
    load_or_train(Path(parser.parse_args().work))
