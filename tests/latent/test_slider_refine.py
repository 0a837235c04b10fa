"""The slider's second pass on a stand-in world whose answer is known: measures are functions of
W+ that a slider's step leaks into, and the pass must cancel the share of the leak it is asked
to while keeping the slider's own change and the other held measures."""

import numpy as np
import pytest

from facestudio.latent.directions import DirectionError
from facestudio.latent.slider_refine import cancel_leaks, local_response, subspace_basis

NUM_WS, W_DIM = 6, 8
GROUPS = [(0, 2), (2, 4), (4, 6)]


def world(seed=0, noise=0.01):
    """Measures of W+ [N, 6, 8]: 'pose' reads the coarse layers, 'mouth' the middle ones and,
    squared, the pose (so a pose step leaks into it more the further it goes), 'colour' the fine
    ones; and a pose step that also drags the mouth."""
    rng = np.random.default_rng(seed)
    a, c, f = (rng.normal(size=W_DIM) for _ in range(3))

    def measure(ws):
        ws = np.asarray(ws, np.float64)
        pose = ws[:, 0:2].mean(axis=1) @ a
        out = {"pose": pose, "mouth": ws[:, 2:4].mean(axis=1) @ c + 0.05 * pose ** 2,
               "colour": ws[:, 4:6].mean(axis=1) @ f}
        return {k: v + noise * rng.normal(size=len(v)) for k, v in out.items()}

    step = np.zeros((NUM_WS, W_DIM))
    step[0:2] = a / (a @ a)  # one unit of pose per slider unit
    step[2:4] = 0.4 * c / (c @ c)  # and 0.4 of mouth: the leak
    samples = rng.normal(size=(4000, W_DIM)) * np.linspace(0.5, 2.0, W_DIM)
    base = rng.normal(size=(150, 1, W_DIM)).repeat(NUM_WS, axis=1) * 0.7
    return measure, step, samples, base


def change(measure, base, step):
    """Each measure's true mean change per slider unit from -2 to +2 (noise averaged out)."""
    low, high = measure(base - 2 * step), measure(base + 2 * step)
    return {k: float(np.mean(high[k] - low[k])) / 4 for k in high}


def refined(share, seed=0):
    measure, step, samples, base = world(seed)
    basis = subspace_basis(samples, step, W_DIM, GROUPS)
    response = local_response(measure, base, step, basis, np.random.default_rng(seed + 1))
    return measure, base, step, cancel_leaks(step, response, "pose", ["mouth", "colour"], {"mouth": share})


def test_the_basis_lies_on_the_layer_groups_the_slider_moves():
    measure, step, samples, base = world()
    basis = subspace_basis(samples, step, 3, GROUPS)
    assert basis.shape == (6, NUM_WS, W_DIM)  # the coarse and middle groups, 3 axes each
    assert np.abs(basis[:, 4:]).max() == 0  # the step leaves the fine layers alone, so does the basis
    assert np.abs(basis[:3, 2:]).max() == 0 and np.abs(basis[3:, :2]).max() == 0
    # the first axis is W's widest: the samples' spread grows with the coordinate
    assert np.argmax(np.abs(basis[0, 0])) == W_DIM - 1


def test_the_whole_leak_is_cancelled_and_the_slider_keeps_its_own_change():
    measure, base, step, new = refined(1.0)
    before, after = change(measure, base, step), change(measure, base, new)
    assert before["mouth"] == pytest.approx(0.4, abs=0.05)
    assert abs(after["mouth"]) < 0.1 * abs(before["mouth"])
    assert after["pose"] == pytest.approx(before["pose"], rel=0.05)
    assert abs(after["colour"]) < 0.02  # a held measure the step never moved stays still


def test_a_share_of_the_leak_is_cancelled():
    measure, base, step, new = refined(0.5)
    before, after = change(measure, base, step), change(measure, base, new)
    assert after["mouth"] == pytest.approx(0.5 * before["mouth"], abs=0.05 * abs(before["mouth"]))
    assert after["pose"] == pytest.approx(before["pose"], rel=0.05)


def test_what_cannot_be_refined_is_refused():
    measure, step, samples, base = world()
    basis = subspace_basis(samples, step, W_DIM, GROUPS)
    with pytest.raises(DirectionError, match="axes"):
        local_response(measure, base[:3], step, basis, np.random.default_rng(0))
    response = local_response(measure, base, step, basis, np.random.default_rng(0))
    with pytest.raises(DirectionError, match="held"):
        cancel_leaks(step, response, "pose", ["colour"], {"mouth": 1.0})
    with pytest.raises(DirectionError, match="no layer"):
        subspace_basis(samples, np.zeros_like(step), 3, GROUPS)
    with pytest.raises(DirectionError, match="principal"):
        subspace_basis(samples[:3], step, 3, GROUPS)
