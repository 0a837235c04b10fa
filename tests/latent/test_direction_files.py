"""Direction files: .npy vectors and bases, native bundles, Z-space refusal and bad input."""

from pathlib import Path

import numpy as np
import pytest

from facestudio.latent.direction_files import (
    adopt,
    latent_space_of,
    pretty_name,
    read_directions,
    write_bundle,
    write_directions,
    write_npy,
)
from facestudio.latent.directions import Direction, DirectionError

W, NWS = 8, 6
SHA, OTHER = "a" * 64, "b" * 64
PUBLISHED = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "directions"


def save(tmp_path, name, arr):
    path = tmp_path / name
    np.save(path, arr)
    return path


def some_directions():
    rng = np.random.RandomState(0)
    return [
        Direction("pca0", "PC 1", rng.randn(W), (0, NWS), scale=2.5, source="pca", model_sha256=SHA,
                  meta={"variance_ratio": 0.3}),
        Direction("user-x", "Smile", rng.randn(NWS, W), (2, 5), scale=0.7, source="user", model_sha256=SHA),
    ]


@pytest.mark.parametrize("shape", [(W,), (1, W)])
def test_one_vector_is_one_whole_w_direction(tmp_path, shape):
    v = np.random.RandomState(1).randn(*shape) * 3
    res = read_directions(save(tmp_path, "boundary_Smiling.npy", v), W, NWS, model_sha256=SHA)
    (d,) = res.directions
    assert d.vector.shape == (W,) and d.layers == (0, NWS) and d.source == "imported"
    assert d.name == "Smiling" and d.model_sha256 == SHA and d.scale == 1.0
    assert np.linalg.norm(d.vector) == pytest.approx(1.0)
    np.testing.assert_allclose(d.vector, v.reshape(-1) / np.linalg.norm(v), rtol=1e-6)


def test_per_layer_rows_keep_their_relative_weights(tmp_path):
    v = np.random.RandomState(2).randn(NWS, W)
    v[0] = 0
    (d,) = read_directions(save(tmp_path, "edit.npy", v), W, NWS).directions
    assert d.vector.shape == (NWS, W) and d.layers == (1, NWS)
    n = np.linalg.norm(v, axis=1)
    np.testing.assert_allclose(np.linalg.norm(d.vector, axis=1), n / n.max(), rtol=1e-5)
    (d3,) = read_directions(save(tmp_path, "edit3.npy", v[None]), W, NWS).directions
    np.testing.assert_allclose(d3.vector, d.vector)


def test_a_pca_basis_is_several_directions_even_with_num_ws_rows(tmp_path):
    q, _ = np.linalg.qr(np.random.RandomState(3).randn(W, W))
    res = read_directions(save(tmp_path, "pcs.npy", q[:3].T.T), W, NWS)
    assert [d.name for d in res.directions] == ["pcs 1", "pcs 2", "pcs 3"]
    res = read_directions(save(tmp_path, "six.npy", q[:NWS]), W, NWS)  # orthonormal rows: a basis
    assert len(res.directions) == NWS and all(d.vector.ndim == 1 for d in res.directions)
    res = read_directions(save(tmp_path, "six.npy", q[:NWS]), W, NWS, layout="per-layer")
    assert len(res.directions) == 1 and res.directions[0].vector.shape == (NWS, W)


def test_bundle_round_trip(tmp_path):
    dirs = some_directions()
    path = write_bundle(dirs, tmp_path / "mine.npz")
    res = read_directions(path, W, NWS, model_sha256=SHA)
    assert res.other_model is None
    for a, b in zip(res.directions, dirs):
        assert (a.id, a.name, a.layers, a.scale, a.source, a.model_sha256, a.meta) == \
               (b.id, b.name, b.layers, b.scale, b.source, b.model_sha256, b.meta)
        np.testing.assert_array_equal(a.vector, b.vector)
    with pytest.raises(DirectionError, match="already exists"):
        write_bundle(dirs, path)
    write_directions(dirs, path, overwrite=True)


def test_npy_export_round_trip(tmp_path):
    d = some_directions()[0]
    path = write_npy([d], tmp_path / "one.npy")
    assert np.load(path).shape == (1, W)
    np.testing.assert_allclose(read_directions(path, W, NWS).directions[0].vector,
                               d.vector / np.linalg.norm(d.vector), rtol=1e-6)
    pcs = [Direction(f"p{i}", f"p{i}", np.eye(W)[i], (0, NWS)) for i in range(3)]
    assert np.load(write_npy(pcs, tmp_path / "basis.npy")).shape == (3, W)
    assert np.load(write_npy([some_directions()[1]], tmp_path / "layer.npy")).shape == (NWS, W)
    with pytest.raises(DirectionError, match="bundle"):
        write_npy(some_directions(), tmp_path / "mixed.npy")
    with pytest.raises(DirectionError, match="extension"):
        write_directions(pcs, tmp_path / "x.txt")
    with pytest.raises(DirectionError, match="does not exist"):
        write_directions(pcs, tmp_path / "nope" / "x.npy")


def test_bundle_from_another_model_is_flagged_then_adopted(tmp_path):
    path = write_bundle(some_directions(), tmp_path / "theirs.npz")
    res = read_directions(path, W, NWS, model_sha256=OTHER)
    assert res.other_model == SHA
    mine = adopt(res.directions, OTHER)
    assert all(d.model_sha256 == OTHER and d.meta["made_for"] == SHA for d in mine)


def test_z_space_files_are_recognised_and_refused(tmp_path):
    assert latent_space_of("x/stylegan_ffhq_age_boundary.npy") == "z"
    assert latent_space_of("x/stylegan_ffhq_age_c_gender_boundary.npy") == "z"
    assert latent_space_of("x/stylegan_ffhq_age_w_boundary.npy") == "w"
    assert latent_space_of("x/age_z_boundary.npy") == "z"
    assert latent_space_of("interfacegan_stylegan2_ffhq_w/boundary_Male.npy") == "w"
    assert latent_space_of("mine/smile.npy") is None
    assert pretty_name("stylegan_ffhq_age_w_boundary") == "stylegan ffhq age w"
    path = save(tmp_path, "age_boundary.npy", np.ones((1, W)))
    with pytest.raises(DirectionError, match="Z-space boundary"):
        read_directions(path, W, NWS)
    assert len(read_directions(path, W, NWS, space="w").directions) == 1


@pytest.mark.parametrize("arr, message", [
    (np.ones((1, W + 1)), "length 9, but this model's W has 8"),
    (np.full((1, W), np.nan), "NaN or infinite"),
    (np.r_[np.full(W - 1, 1.0), np.inf][None], "NaN or infinite"),
    (np.zeros((1, W)), "zero vector"),
    (np.zeros((NWS, W)), "zero vector"),
    (np.r_[np.eye(W)[:2], np.zeros((1, W))], "row 2 of .* zero vector"),
    (np.ones((2, 3, W)), "has shape \\[2, 3, 8\\]"),
    (np.ones((2, 2, 2, W)), "has shape"),
    (np.array([1 + 2j] * W), "not real numbers"),
    (np.array(["a"] * W), "not real numbers"),
])
def test_bad_npy_files_are_one_sentence(tmp_path, arr, message):
    with pytest.raises(DirectionError, match=message) as exc:
        read_directions(save(tmp_path, "bad.npy", arr), W, NWS)
    assert "\n" not in str(exc.value)


def test_bad_files_of_every_other_kind(tmp_path):
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    cases = {
        tmp_path / "missing.npy": "no direction file",
        tmp_path / "obj.npy": "does not unpickle",
        tmp_path / "text.npy": "not a readable",
        tmp_path / "plain.npz": "without a facestudio manifest",
        tmp_path / "junk.npz": "not a readable .npz",
        tmp_path / "v.txt": "not a direction file",
    }
    (tmp_path / "text.npy").write_text("hello")
    np.savez(tmp_path / "plain.npz", a=np.ones(W))
    (tmp_path / "junk.npz").write_bytes(b"PK\x03\x04 broken")
    (tmp_path / "v.txt").write_text("1 2 3")
    for path, message in cases.items():
        with pytest.raises(DirectionError, match=message):
            read_directions(path, W, NWS)


def test_bad_bundles(tmp_path):
    path = write_bundle(some_directions(), tmp_path / "b.npz")
    with pytest.raises(DirectionError, match="w_dim 8, but this model's W has 16"):
        read_directions(path, 16, NWS)
    with pytest.raises(DirectionError, match="layers but this model has 4|edits layers up to"):
        read_directions(path, W, 4)
    with np.load(path) as npz:
        arrays = dict(npz)
    arrays["d0"] = np.full(W, np.nan, np.float32)
    np.savez(tmp_path / "nan.npz", **arrays)
    with pytest.raises(DirectionError, match="NaN"):
        read_directions(tmp_path / "nan.npz", W, NWS)
    arrays["manifest"] = np.array("{not json")
    np.savez(tmp_path / "json.npz", **arrays)
    with pytest.raises(DirectionError, match="not valid JSON"):
        read_directions(tmp_path / "json.npz", W, NWS)


@pytest.mark.skipif(not PUBLISHED.is_dir(), reason=f"published direction files not found at {PUBLISHED}")
def test_published_files_shapes_and_w_dim_mismatch():
    """InterFaceGAN / GANSpace files for NVIDIA's FFHQ models (w_dim 512, 18 ws rows)."""
    files = sorted(PUBLISHED.glob("*/*.npy"))
    assert len(files) >= 50
    kinds = {"z": 0, "w": 0, "per-layer": 0}
    for path in files:
        if latent_space_of(path) == "z":
            with pytest.raises(DirectionError, match="Z-space"):
                read_directions(path, 512, 18)
            kinds["z"] += 1
            continue
        (d,) = read_directions(path, 512, 18).directions
        if path.parent.name.startswith("ganspace"):
            assert d.vector.shape == (18, 512)
            kinds["per-layer"] += 1
        else:
            assert d.vector.shape == (512,) and np.linalg.norm(d.vector) == pytest.approx(1, abs=1e-5)
            kinds["w"] += 1
        with pytest.raises(DirectionError, match="length 512, but this model's W has 32"):
            read_directions(path, 32, 8)
    assert kinds == {"z": 9, "w": 44, "per-layer": 3}
