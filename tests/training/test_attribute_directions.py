"""Per-layer slider offsets optimised so that the end stops span the attribute."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from facestudio.training.attribute_directions import SpanGoal, face_tone_tensor, optimise_span, span_loss


class _PaintWorld:
    """A differentiable stand-in for generator and classifier: W+ ``[N, 4, 16]`` paints 8 x 8
    faces through a fixed random map, where layer 0 reaches only the red and blue channels;
    the "classifier" reads redder-than-blue as female (log-odds) and greener as older."""

    num_ws, w_dim = 4, 16

    def __init__(self, seed=0):
        gen = torch.Generator().manual_seed(seed)
        self.paint = 0.15 * torch.randn(self.num_ws, self.w_dim, 3, 8, 8, generator=gen)
        self.paint[1:, :, 0] *= 0.2  # the later layers barely reach red: layer 0 must carry most of it
        self.pool = torch.randn(64, self.num_ws, self.w_dim, generator=gen).numpy()
        self.w_samples = torch.randn(400, self.w_dim, generator=gen).numpy()

    def synthesis(self, ws):
        return torch.tanh(torch.einsum("nlw,lwchx->nchx", torch.as_tensor(ws), self.paint))

    @staticmethod
    def readout(images):
        means = images.mean(dim=(2, 3))
        return 8.0 * (means[:, 0] - means[:, 2]), 30.0 + 100.0 * means[:, 1]

    def read_at(self, offset, amount):
        with torch.no_grad():
            images = self.synthesis(torch.from_numpy(self.pool + amount * offset))
            gender, age = self.readout(images)
        return gender.numpy(), age.numpy(), face_tone_tensor(images).numpy()


def test_the_optimised_end_stops_carry_faces_past_the_margin_and_hold_the_rest():
    world = _PaintWorld()
    init = np.zeros(world.w_dim, np.float32)
    init[0] = 0.01  # a direction that barely moves
    before = [world.read_at(np.broadcast_to(init, (world.num_ws, world.w_dim)), a)[0] for a in (-3.0, 3.0)]
    assert ((before[0] < -2) & (before[1] > 2)).mean() < 0.2
    goal = SpanGoal("gender", amount=3.0, gender_margin=2.0, steps=400, batch=16, lr=0.05)
    offset, losses = optimise_span(world.synthesis, world.readout, world.pool, world.w_samples, init, goal,
                                   log=lambda *_: None)
    assert offset.shape == (world.num_ws, world.w_dim) and np.isfinite(offset).all()
    rows = np.linalg.norm(offset, axis=1)
    assert rows[0] > rows[1:].max()  # the layer that reaches red carries most of the edit
    low, base, high = (world.read_at(offset, a) for a in (-3.0, 0.0, 3.0))
    carried = (low[0] < -1.4) & (high[0] > 1.4)  # P(female) below 0.2 and above 0.8
    assert carried.mean() >= 0.9, carried.mean()
    for end in (low, high):  # the held attribute's mean and the tone stay where they were
        assert abs(end[1].mean() - base[1].mean()) < 1.0 and abs(end[2].mean() - base[2].mean()) < 2.0
    assert set(losses) == {"goal", "hold", "size", "realism"} and losses["goal"] < 1.5  # from about 4.3 at the start


def test_span_loss_is_zero_past_the_bar_and_counts_what_moved():
    far = torch.tensor([10.0, 12.0])
    same = (torch.tensor([30.0, 40.0]), torch.tensor([120.0, 130.0]))
    gender = SpanGoal("gender")
    main, hold = span_loss(gender, (-far, *same), (far, *same), (torch.zeros(2), *same))
    assert float(main) < 1e-3 and float(hold) == 0.0
    main, _ = span_loss(gender, (torch.zeros(2), *same), (torch.zeros(2), *same), (torch.zeros(2), *same))
    assert float(main) >= 2 * gender.gender_margin  # neither end stop past its margin: the whole shortfall
    older = torch.tensor([40.0, 50.0])
    _, hold = span_loss(gender, (-far, older, same[1]), (far, *same), (torch.zeros(2), *same))
    assert float(hold) > 50  # ten years of age leaked at one end stop
    age = SpanGoal("age", age_years=40.0)
    young, old = torch.tensor([5.0, 10.0]), torch.tensor([50.0, 60.0])
    main, hold = span_loss(age, (torch.zeros(2), young, same[1]), (torch.zeros(2), old, same[1]),
                           (torch.zeros(2), *same))
    assert float(main) < 0.5 and float(hold) == 0.0
    with pytest.raises(ValueError):
        SpanGoal("smile")
    with pytest.raises(ValueError):
        SpanGoal("age", average_share=1.5)


def test_averaging_the_last_steps_keeps_the_slider_from_ending_on_one_noisy_step():
    # four faces a step: each step's offset jumps with the faces it drew, and the last one
    # held the other attribute and the tone worse over all faces than the mean of the last steps
    world = _PaintWorld()
    init = np.zeros((world.num_ws, world.w_dim), np.float32)

    def whole_pool_loss(goal, offset):
        reads = [tuple(map(torch.from_numpy, world.read_at(offset, amount)))
                 for amount in (-goal.amount, goal.amount, 0.0)]
        main, hold = span_loss(goal, *reads)
        return float(main), float(hold)

    for seed in (0, 1, 2):
        losses = {}
        for share in (0.0, 0.3):
            goal = SpanGoal("gender", steps=120, batch=4, lr=0.05, seed=seed, average_share=share)
            offset, _ = optimise_span(world.synthesis, world.readout, world.pool, world.w_samples, init, goal,
                                      log=lambda *_: None)
            losses[share] = whole_pool_loss(goal, offset)
        assert sum(losses[0.3]) < sum(losses[0.0]), losses
        assert losses[0.3][1] < losses[0.0][1], losses  # what moved that should have held


def test_the_realism_check_is_the_trained_discriminator_and_refuses_another_size(tmp_path, tiny_images):
    from facestudio.commands.main import main
    from facestudio.training.attribute_directions import discriminator_from_checkpoint
    from facestudio.training.checkpoint import CheckpointError, load_checkpoint
    from facestudio.training.loop import TrainSettings
    run = tmp_path / "run"
    assert main(["train", "--data", str(tiny_images), "--run", str(run), "--resolution", "16", "--tiny",
                 "--batch", "4", "--cache", str(tmp_path / "cache"), "--precision", "fp32", "--kimg", "0.02"]) == 0
    realism = discriminator_from_checkpoint(run / "checkpoint.pt", 16)
    faces = (torch.rand(4, 3, 16, 16) * 2 - 1).requires_grad_()
    scores = realism(faces)
    ckpt = load_checkpoint(run / "checkpoint.pt")
    d = TrainSettings.of_checkpoint(ckpt).discriminator()
    d.load_state_dict(ckpt["D"])
    with torch.no_grad():
        assert torch.allclose(scores, d.eval()(faces)[:, 0])  # the trained one, not a fresh one
    scores.sum().backward()  # the gradient reaches the faces
    assert faces.grad is not None and faces.grad.abs().sum() > 0
    with pytest.raises(CheckpointError, match="16 px"):
        discriminator_from_checkpoint(run / "checkpoint.pt", 32)
