"""Where a discovered direction acts, on a stand-in whose style affines are known: the coarse
rows read W's first coordinates, the fine rows its last, the middle rows all of them."""

from __future__ import annotations

import numpy as np

from facestudio.latent.directions import Direction
from facestudio.latent.discovery import layer_groups
from facestudio.latent.layer_reach import LayerReach

W = 8
NUM_WS = 10  # groups 0-2, 3-5, 6-9


def stand_in() -> LayerReach:
    groups = layer_groups(NUM_WS)
    weights = []
    for row in range(NUM_WS):
        a = np.zeros((6, W))
        if row < groups["coarse"][1]:
            a[:, :3] = np.random.default_rng(row).normal(size=(6, 3))
        elif row >= groups["fine"][0]:
            a[:, 5:] = np.random.default_rng(row).normal(size=(6, 3))
        else:
            a[:] = np.random.default_rng(row).normal(size=(6, W))
        weights.append(a * (1 + row))  # wide gains differ by row: the reach must not follow them
    weights[0] = np.zeros((0, W))  # a row no affine reads (StyleGAN3's first)
    return LayerReach(weights, np.diag(np.linspace(1.0, 2.0, W)))


def _pca(v) -> Direction:
    return Direction(id="pca0", name="PC 1", vector=np.asarray(v, np.float32), layers=(0, NUM_WS), scale=1.0,
                     source="pca")


def test_a_direction_is_put_on_the_rows_that_read_it():
    reach = stand_in()
    coarse = reach.restrict(_pca(np.eye(W)[0]))
    assert coarse.layers == layer_groups(NUM_WS)["coarse"] and coarse.meta["acts_on"] == "coarse"
    fine = reach.restrict(_pca(np.eye(W)[7]))
    assert fine.layers == layer_groups(NUM_WS)["fine"]
    assert fine.meta["layer_shares"]["coarse"] == 0.0 and sum(fine.meta["layer_shares"].values()) > 0.99
    middle = reach.restrict(_pca(np.eye(W)[4]))  # only the middle rows read coordinate 4
    assert middle.layers == layer_groups(NUM_WS)["middle"]
    assert reach.row_reach(np.eye(W)[0])[0] == 0.0  # the unread row


def test_a_direction_already_on_a_group_or_per_layer_is_kept():
    reach = stand_in()
    on_fine = Direction(id="sefa-fine0", name="SeFa fine 1", vector=np.eye(W, dtype=np.float32)[0],
                        layers=layer_groups(NUM_WS)["fine"], scale=1.0, source="sefa")
    assert reach.restrict(on_fine) is on_fine
    per_layer = Direction(id="x", name="x", vector=np.ones((NUM_WS, W), np.float32), layers=(0, NUM_WS), scale=1.0,
                          source="user")
    assert reach.restrict(per_layer) is per_layer
