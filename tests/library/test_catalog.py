"""The catalogue on its own: filters and pages, positions decided, one transaction per block."""

from __future__ import annotations

import numpy as np
import pytest

from facestudio.library.catalog import Catalog, CatalogError, FaceFilter, FaceRow, SkippedRow, pixel_sha256


def _row(position, age, p_female, tone, distance):
    return FaceRow(position, position, f"faces/{position:03d}/seed-{position:010d}.png", "{}", "m" * 64, "p" * 64,
                   age, p_female, 10.0, tone, distance, None if distance is None else "x.jpg", None, 0.0)


@pytest.fixture
def catalog(tmp_path):
    with Catalog(tmp_path, create=True) as c:
        c.add_batch([_row(0, 25, 0.9, "light", 0.5), _row(1, 35, 0.1, "tan", 0.45), _row(2, 61, 0.6, "light", None)],
                    [SkippedRow(3, 3, "lookalike", "x")])
        c.add_batch([_row(4, 29.9, 0.5, "brown", 0.39)], [])
        yield c


def test_filters_by_age_gender_tone_and_lookalike_distance(catalog):
    seeds = lambda f: [r[1] for r in catalog.page(f, 0, 100)]  # noqa: E731
    assert seeds(None) == [0, 1, 2, 4] and catalog.count() == 4
    assert seeds(FaceFilter(age=(20, 30))) == [0, 4]
    assert seeds(FaceFilter(gender="female")) == [0, 2] and seeds(FaceFilter(gender="male")) == [1, 4]
    assert seeds(FaceFilter(tone="light", gender="female")) == [0, 2]
    assert seeds(FaceFilter(min_lookalike=0.4)) == [0, 1]  # never compared faces are left out
    assert catalog.count(FaceFilter(age=(20, 30), gender="male")) == 1
    assert [r[1] for r in catalog.page(None, 1, 2)] == [1, 2]


def test_positions_are_decided_in_order_and_counted(catalog):
    assert catalog.next_position() == 5
    assert catalog.skipped_counts() == {"lookalike": 1, "near-duplicate": 0, "filter": 0, "quota": 0}


def test_a_failed_block_leaves_nothing_of_it(catalog):
    with pytest.raises(CatalogError):
        catalog.add_batch([_row(5, 30, 0.5, "tan", 0.5), _row(1, 30, 0.5, "tan", 0.5)], [])  # position 1 again
    assert catalog.count() == 4 and catalog.next_position() == 5


def test_a_file_that_is_no_catalogue_is_refused_in_one_sentence(tmp_path):
    (tmp_path / "catalog.sqlite").write_bytes(b"not a database at all" * 100)
    with pytest.raises(CatalogError) as err:
        Catalog(tmp_path)
    assert "is not a facestudio library catalogue" in str(err.value)


def test_pixel_hash_depends_on_pixels_and_shape():
    a = np.zeros((2, 3, 3), np.uint8)
    assert pixel_sha256(a) == pixel_sha256(a.copy())
    assert pixel_sha256(a) != pixel_sha256(np.zeros((3, 2, 3), np.uint8))
    b = a.copy()
    b[1, 1, 1] = 1
    assert pixel_sha256(a) != pixel_sha256(b)
