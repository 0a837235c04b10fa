"""The slider fit on a stand-in world whose answer is known: measures that are linear in the
group vectors (plus noise), some of them sharing directions, as attributes of faces do."""

import numpy as np
import pytest

from facestudio.latent.directions import DirectionError
from facestudio.latent.slider_fit import (conditional_direction, fit_regression, group_covariance, group_shares,
                                          layer_groups, mixed_ws, per_layer)

W_DIM = 16


def world(n=3000, seed=0):
    """Group W [n, 3, W_DIM] and three measures: 'pose' reads the coarse group only; 'colour'
    the fine group only; 'smile' reads the middle group and leans on pose's own direction."""
    rng = np.random.default_rng(seed)
    group_ws = rng.normal(size=(n, 3, W_DIM)) * np.linspace(0.5, 2.0, W_DIM)  # W is not isotropic
    a, b, c = (rng.normal(size=W_DIM) for _ in range(3))
    truth = {"pose": np.concatenate([a, 0 * a, 0 * a]), "colour": np.concatenate([0 * b, 0 * b, b]),
             "smile": np.concatenate([0.8 * a, c, 0 * c])}
    x = group_ws.reshape(n, -1)
    measures = {k: x @ v + 0.05 * rng.normal(size=n) for k, v in truth.items()}
    return group_ws, measures, truth


def test_layer_groups_cover_every_layer_once():
    for num_ws in (3, 10, 12, 14, 16, 18):
        groups = layer_groups(num_ws)
        assert groups[0][0] == 0 and groups[-1][1] == num_ws
        assert all(g[1] == h[0] and g[0] < g[1] for g, h in zip(groups, groups[1:]))
    assert layer_groups(12) == [(0, 3), (3, 7), (7, 12)]  # the studio's split
    with pytest.raises(DirectionError):
        layer_groups(2)


def test_mixed_ws_puts_each_group_vector_on_its_layers():
    g = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    ws = mixed_ws(g, 12)
    assert ws.shape == (2, 12, 4)
    assert (ws[:, 0:3] == g[:, None, 0]).all() and (ws[:, 3:7] == g[:, None, 1]).all()
    assert (ws[:, 7:] == g[:, None, 2]).all()


@pytest.mark.slow
def test_regression_recovers_the_true_jacobian():
    group_ws, measures, truth = world()
    x = group_ws.reshape(len(group_ws), -1)
    for k, v in truth.items():
        r = fit_regression(x, measures[k], x.mean(0))
        assert r.r2 > 0.99
        assert np.abs(r.jacobian - v).max() < 0.05 * np.abs(v).max()


def test_nan_measurements_are_left_out_and_too_few_refused():
    group_ws, measures, truth = world(400)
    x = group_ws.reshape(len(group_ws), -1)
    y = measures["pose"].copy()
    y[::3] = np.nan
    r = fit_regression(x, y, x.mean(0))
    assert np.abs(r.jacobian - truth["pose"]).max() < 0.1 * np.abs(truth["pose"]).max()
    with pytest.raises(DirectionError, match="measured"):
        fit_regression(x[:5], y[:5], x.mean(0))


@pytest.mark.slow
def test_the_conditional_step_moves_its_own_measure_and_holds_the_others():
    group_ws, measures, truth = world()
    x = group_ws.reshape(len(group_ws), -1)
    jac = {k: fit_regression(x, measures[k], x.mean(0)).jacobian for k in truth}
    cov = group_covariance(group_ws)
    step = conditional_direction(jac["smile"], [jac["pose"], jac["colour"]], cov)
    # judged by the true measures, not the fitted ones
    assert truth["smile"] @ step == pytest.approx(1.0, abs=0.03)
    assert abs(truth["pose"] @ step) < 0.03 and abs(truth["colour"] @ step) < 0.03
    # smile's own part lies in the middle group: the step goes there, not to the coarse group
    shares = group_shares(step, cov)
    assert shares[1] > 0.9
    # unconditioned, the same slider drags pose along (smile's coefficient leans on pose's)
    free = conditional_direction(jac["smile"], [], cov)
    assert abs(truth["pose"] @ free) > 0.1


@pytest.mark.slow
def test_pose_goes_to_the_coarse_layers_and_colour_to_the_fine():
    group_ws, measures, truth = world()
    x = group_ws.reshape(len(group_ws), -1)
    jac = {k: fit_regression(x, measures[k], x.mean(0)).jacobian for k in truth}
    cov = group_covariance(group_ws)
    pose = per_layer(conditional_direction(jac["pose"], [jac["colour"]], cov), 12)
    colour = per_layer(conditional_direction(jac["colour"], [jac["pose"]], cov), 12)
    norms = np.linalg.norm(pose, axis=1)
    assert norms[:3].min() > 10 * norms[3:].max()
    norms = np.linalg.norm(colour, axis=1)
    assert norms[7:].min() > 10 * norms[:7].max()


def test_the_smallest_step_is_smallest_in_ws_own_metric():
    """Among steps with the same effect, the one returned is shortest in W's metric: it
    prefers the axes along which faces vary a lot (it stays where faces are)."""
    group_ws, measures, truth = world()
    cov = group_covariance(group_ws)
    own = truth["colour"]
    step = conditional_direction(own, [], cov)
    inv = np.linalg.pinv(cov)
    rng = np.random.default_rng(1)
    for _ in range(20):  # any other step with own . d = 1 is longer in that metric
        other = step + rng.normal(size=step.shape) * 0.1
        other -= own * ((own @ other - 1.0) / (own @ own))
        assert other @ inv @ other >= step @ inv @ step - 1e-9


def test_holding_a_measure_that_is_the_own_one_is_refused():
    group_ws, measures, truth = world(500)
    cov = group_covariance(group_ws)
    with pytest.raises(DirectionError, match="entangled"):
        conditional_direction(truth["pose"], [2 * truth["pose"]], cov)
