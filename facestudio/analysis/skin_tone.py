"""Skin tone as the Individual Typology Angle (ITA) measured in CIELAB over a face's skin.

ITA (degrees) = atan2(L* - 50, b*) * 180 / pi, from the mean L* and b* of the skin pixels;
the categories are Chardon et al.'s (1991): very light > 55, light 41-55, intermediate
28-41, tan 10-28, brown -30-10, dark < -30.

The skin region: the faces this measures are aligned (the bundled generator's faces and
UTKFace chips put the eyes at about 0.3 of the height and the mouth at about 0.68), so
the skin is taken from three fixed patches, as fractions of height (rows) and width
(columns): the two cheeks (rows 0.40-0.60, columns 0.18-0.36 and 0.64-0.82) and the nose
bridge between the eyes (rows 0.34-0.50, columns 0.42-0.58). The forehead is left out:
hair covers it on too many faces. Pixels with L* below 15 (shadow, hair, a dark frame of
glasses) or above 95 (specular highlights) are excluded; when no pixel is left the whole
patch area counts. The face's landmarks (issue 18) would find the skin on faces that are
not aligned; that is not used here.

The colour conversion is written out: sRGB (IEC 61966-2-1) -> linear RGB -> CIE XYZ with
the D65 white -> CIELAB.
"""

from __future__ import annotations

import numpy as np

# (row from, row to, column from, column to) as fractions of the face's height and width
SKIN_PATCHES = ((0.40, 0.60, 0.18, 0.36), (0.40, 0.60, 0.64, 0.82), (0.34, 0.50, 0.42, 0.58))
L_RANGE = (15.0, 95.0)  # L* outside this is not skin (shadow / highlight)

# Chardon's categories, lightest first, and the ITA boundaries between them (degrees)
TONE_CATEGORIES = ("very light", "light", "intermediate", "tan", "brown", "dark")
TONE_EDGES = (55.0, 41.0, 28.0, 10.0, -30.0)  # category i holds ITA in (edge[i], edge[i - 1]]

_SRGB_TO_XYZ = np.array([[0.4124564, 0.3575761, 0.1804375],
                         [0.2126729, 0.7151522, 0.0721750],
                         [0.0193339, 0.1191920, 0.9503041]])
_WHITE_D65 = np.array([0.95047, 1.0, 1.08883])
_EPS, _KAPPA = 216 / 24389, 24389 / 27


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """uint8 sRGB ``[..., 3]`` -> CIELAB ``[..., 3]`` float64 (L* 0-100, a*, b*), D65."""
    c = np.asarray(rgb, dtype=np.float64) / 255.0
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    xyz = linear @ _SRGB_TO_XYZ.T / _WHITE_D65
    f = np.where(xyz > _EPS, np.cbrt(xyz), (_KAPPA * xyz + 16) / 116)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


def lab_to_srgb(lab: np.ndarray) -> np.ndarray:
    """CIELAB ``[..., 3]`` -> uint8 sRGB ``[..., 3]`` (clipped to the gamut); the inverse of
    :func:`srgb_to_lab` up to rounding, for making faces of a known colour."""
    lab = np.asarray(lab, dtype=np.float64)
    fy = (lab[..., 0] + 16) / 116
    f = np.stack([fy + lab[..., 1] / 500, fy, fy - lab[..., 2] / 200], axis=-1)
    xyz = np.where(f ** 3 > _EPS, f ** 3, (116 * f - 16) / _KAPPA) * _WHITE_D65
    linear = np.clip(xyz @ np.linalg.inv(_SRGB_TO_XYZ).T, 0, 1)
    c = np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)
    return np.round(c * 255).astype(np.uint8)


def ita_degrees(l_star: np.ndarray, b_star: np.ndarray) -> np.ndarray:
    """ITA in degrees from L* and b* (any matching shapes)."""
    return np.degrees(np.arctan2(np.asarray(l_star, np.float64) - 50.0, np.asarray(b_star, np.float64)))


def skin_mask(height: int, width: int) -> np.ndarray:
    """bool ``[height, width]``: the pixels of :data:`SKIN_PATCHES`."""
    mask = np.zeros((height, width), dtype=bool)
    for r0, r1, c0, c1 in SKIN_PATCHES:
        mask[int(round(r0 * height)):max(int(round(r1 * height)), int(round(r0 * height)) + 1),
             int(round(c0 * width)):max(int(round(c1 * width)), int(round(c0 * width)) + 1)] = True
    return mask


def skin_ita(images: np.ndarray, batch: int = 256) -> np.ndarray:
    """ITA in degrees ``[N]`` (float64) of aligned uint8 faces ``[N, H, W, 3]``: from the
    mean L* and b* of each face's skin pixels (see the module's docstring)."""
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"faces must be uint8 [N, H, W, 3], got shape {images.shape}")
    mask = skin_mask(*images.shape[1:3])
    out = np.zeros(len(images), dtype=np.float64)
    for start in range(0, len(images), batch):
        lab = srgb_to_lab(images[start:start + batch][:, mask])  # [n, P, 3]
        keep = (lab[..., 0] >= L_RANGE[0]) & (lab[..., 0] <= L_RANGE[1])
        keep[~keep.any(axis=1)] = True  # nothing left: the whole region counts
        count = keep.sum(axis=1)
        l_mean = (lab[..., 0] * keep).sum(axis=1) / count
        b_mean = (lab[..., 2] * keep).sum(axis=1) / count
        out[start:start + len(lab)] = ita_degrees(l_mean, b_mean)
    return out


def tone_category(ita: np.ndarray) -> np.ndarray:
    """Index ``[N]`` into :data:`TONE_CATEGORIES` of ITA angles in degrees ``[N]``; each
    category holds the angles above its lower edge, so a value on a boundary goes to the
    darker category (ITA 55 is "light", -30 is "dark")."""
    ita = np.asarray(ita, dtype=np.float64)
    return np.searchsorted(-np.asarray(TONE_EDGES), -ita, side="right").astype(np.int64)


def category_index(name: str) -> int:
    """The index of a category name (``"tan"``, ``"very-light"`` or ``"very light"``);
    ValueError naming the categories when it is none of them."""
    key = name.strip().lower().replace("-", " ").replace("_", " ")
    if key not in TONE_CATEGORIES:
        raise ValueError(f"{name!r} is not a skin tone category; use one of "
                         f"{', '.join(c.replace(' ', '-') for c in TONE_CATEGORIES)}")
    return TONE_CATEGORIES.index(key)
