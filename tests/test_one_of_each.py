"""The pieces that exist once: the file digest, the atomic write of a training checkpoint,
the format/version header check, the number-list grammar, the mix-grid layout, the
lookalike policy, the device choice and the time stamp."""

import hashlib
import re

import pytest
import torch

from facestudio.analysis.lookalike_guard import LookalikeVerdict, decide
from facestudio.bounded_json import HeaderError, document_version
from facestudio.commands.arguments import UserError, parse_layer_list
from facestudio.commands.arguments import parse_seeds as cli_seeds
from facestudio.fileio import file_sha256
from facestudio.generator.device import pick_device
from facestudio.generator.errors import ModelLoadError
from facestudio.latent.mixing import grid_layout
from facestudio.latent.mixing import parse_seeds as mix_seeds
from facestudio.number_lists import NumberListError
from facestudio.timestamps import now_iso
from facestudio.training.checkpoint import save_checkpoint


def test_file_sha256_is_hashlib_and_reports_progress(tmp_path):
    data = bytes(range(256)) * 5000  # 1.28 MB: several reads
    path = tmp_path / "blob"
    path.write_bytes(data)
    seen = []
    assert file_sha256(path) == hashlib.sha256(data).hexdigest()
    assert file_sha256(path, lambda done, total: seen.append((done, total))) == hashlib.sha256(data).hexdigest()
    assert len(seen) > 1 and seen[-1] == (len(data), len(data))
    assert all(a[0] < b[0] for a, b in zip(seen, seen[1:]))


def test_a_failed_checkpoint_save_leaves_no_part_file_and_keeps_the_old_one(tmp_path):
    net = torch.nn.Linear(2, 2)
    opt = torch.optim.Adam(net.parameters())
    target = tmp_path / "checkpoint.pt"
    save_checkpoint(target, G=net, G_ema=net, D=net, opt_G=opt, opt_D=opt, extra={"settings": {}})
    before = target.read_bytes()
    with pytest.raises(Exception):  # an object torch cannot pickle fails midway
        save_checkpoint(target, G=net, G_ema=net, D=net, opt_G=opt, opt_D=opt,
                        extra={"settings": {}, "bad": lambda: None})
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pt"]


@pytest.mark.parametrize("doc, clause", [
    ([], "is not a facestudio thing"),
    ({"format": "other", "version": 1}, "is not a facestudio thing"),
    ({"format": "f", "version": "1"}, "its version must be a whole number from 1, got '1'"),
    ({"format": "f", "version": True}, "its version must be a whole number"),
    ({"format": "f", "version": 0}, "its version must be a whole number from 1, got 0"),
    ({"format": "f"}, "got None"),
    ({"format": "f", "version": 3}, r"newer facestudio \(thing version 3; this one reads up to 2\)"),
])
def test_the_header_check(doc, clause):
    with pytest.raises(HeaderError, match=clause):
        document_version(doc, "f", 2, "thing")


def test_the_header_check_accepts_what_it_reads():
    assert document_version({"format": "f", "version": 2}, "f", 2, "thing") == 2
    assert document_version({}, None, 2, "recipe", default=1) == 1


def test_the_cli_and_the_mix_tab_read_seeds_alike():
    for text in ("1, 2, 5-7", "3;4", "9\n10", "0-3,10-11"):
        assert cli_seeds(text) == mix_seeds(text)
    for text in ("x", "7-5", "-3", str(2 ** 32), "0-4294967296"):
        with pytest.raises(NumberListError) as mix_error:
            mix_seeds(text)
        with pytest.raises(UserError) as cli_error:
            cli_seeds(text)
        assert str(mix_error.value) == str(cli_error.value)  # the same sentence
    assert mix_seeds("") == []  # an empty side of the grid is not an error in the tab


def test_layer_lists_share_the_grammar():
    assert parse_layer_list("8-", 10) == [8, 9]
    assert parse_layer_list("-2,5", 10) == [0, 1, 2, 5]
    assert parse_layer_list("3,1-2,3", 10) == [1, 2, 3]
    with pytest.raises(UserError, match="reversed: write the lower layer first, as in 2-5"):
        parse_layer_list("5-2", 10)
    with pytest.raises(UserError, match="outside this model's 0-9"):
        parse_layer_list("0-99999999999999", 10)


def test_the_mix_grid_layout():
    assert grid_layout(["r0", "r1"], ["c0", "c1", "c2"], ["a", "b", "c", "d", "e", "f"]) == [
        None, "c0", "c1", "c2",
        "r0", "a", "b", "c",
        "r1", "d", "e", "f"]


def test_the_lookalike_policy():
    clear = LookalikeVerdict(True, 0.5, 1, 1, 0.8, "a.jpg")
    close = LookalikeVerdict(True, 0.5, 1, 1, 0.2, "b.jpg")
    unchecked = LookalikeVerdict(False, reason="dlib is not installed")
    assert decide(clear, False) == clear.xmp_fields(False)
    assert decide(close, False) is None
    assert decide(close, True)["LookalikeOverride"].startswith("written anyway")
    assert decide(unchecked, False) == {"LookalikeCheck": "not checked: dlib is not installed"}


def test_the_device_choice_names_the_setting_it_was_given(monkeypatch):
    import facestudio.generator.device as device_mod
    monkeypatch.setattr(device_mod, "cuda_usable", lambda: False)
    with pytest.raises(ModelLoadError, match="^--device cuda asks for a CUDA GPU.*no usable CUDA GPU"):
        pick_device("cuda", named="--device")
    with pytest.raises(ModelLoadError, match="^FACESTUDIO_DEVICE=tpu is not a device"):
        pick_device("tpu")


def test_now_iso_is_utc_to_the_second():
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", now_iso())
