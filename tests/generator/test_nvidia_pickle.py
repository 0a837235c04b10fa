"""Reading NVIDIA network pickles: round trips, the allow-list, hostile and broken files."""

from __future__ import annotations

import collections
import io
import os
import pickle

import numpy as np
import pytest
import torch

from facestudio.generator.errors import ModelLoadError, UnsafePickleError
from facestudio.generator.formats.nvidia_pickle import (
    convert_nvidia_data,
    is_nvidia_pickle,
    read_nvidia_pickle,
)
from facestudio.generator.formats.safe_pickle import (
    EasyDictRecord,
    PersistentRecord,
    TorchModuleRecord,
    unpickle_restricted,
)
from facestudio.generator.networks.config import GeneratorConfig
from facestudio.generator.networks.stylegan2 import StyleGAN2Generator
from tests.conftest import network_from, randomised_network, sample_images
from tests.helpers import assert_one_sentence
from tests.generator.nvidia_fixtures import (
    EasyDict,
    PersistentStandIn,
    build_snapshot,
    dump_snapshot,
    generator_record,
    write_nvidia_style_pickle,
)

W_DIM = 16


def make_generator(architecture: str = "skip", c_dim: int = 0, conv_clamp: float | None = None,
                   resolution: int = 16, seed: int = 0, **config: object) -> StyleGAN2Generator:
    """A small random generator whose biases, noise strengths and w_avg are all non-zero."""
    channels = {4: 16, 8: 16, 16: 8, 32: 8}
    cfg = GeneratorConfig(resolution=resolution, z_dim=W_DIM, w_dim=W_DIM, c_dim=c_dim,
                          mapping_layers=config.pop("mapping_layers", 3),
                          channels={r: c for r, c in channels.items() if r <= resolution},
                          architecture=architecture, conv_clamp=conv_clamp, **config)
    return randomised_network(cfg, seed)


def load(path) -> StyleGAN2Generator:
    return network_from(read_nvidia_pickle(path))


images = sample_images


def global_call(module: str, name: str, *args: object) -> bytes:
    """A protocol-2 pickle that calls ``module.name(*args)`` (the classic hostile payload)."""
    body = pickle.dumps(args, protocol=2)[2:-1]
    return b"\x80\x02c" + f"{module}\n{name}\n".encode() + body + b"R."


class Reduces:
    """Pickles as whatever ``__reduce__`` tuple it is given."""

    def __init__(self, *reduce_value: object):
        self.reduce_value = reduce_value

    def __reduce__(self):
        return self.reduce_value


class Unknown:
    """An ordinary class the allow-list does not know."""


# ------------------------------------------------------------------------------ round trips

@pytest.mark.parametrize("architecture", ["skip", "resnet", "orig"])
def test_round_trip_reproduces_every_architecture(tmp_path, architecture):
    source = make_generator(architecture)
    path = write_nvidia_style_pickle(source, tmp_path / "network-snapshot-000000.pkl")
    config, state, meta = read_nvidia_pickle(path)
    assert config == source.config
    assert all(t.dtype == torch.float32 for t in state.values())
    assert not any(k.endswith("resample_filter") for k in state)
    loaded = StyleGAN2Generator(config).eval()
    loaded.load_state_dict(state, strict=True)
    assert torch.equal(images(loaded), images(source))
    assert meta["format"] == "nvidia-pickle" and meta["source_key"] == "G_ema"
    assert meta["source_class"] == "Generator"


def test_round_trip_conditional_with_clamp_and_custom_mapping(tmp_path):
    source = make_generator("resnet", c_dim=5, conv_clamp=256, resolution=32, mapping_layers=2,
                            embed_features=12, layer_features=24, mapping_lr_multiplier=0.02)
    config, _, _ = read_nvidia_pickle(write_nvidia_style_pickle(source, tmp_path / "c.pkl"))
    assert config == source.config
    assert (config.c_dim, config.conv_clamp, config.embed_features) == (5, 256.0, 12)
    assert (config.layer_features, config.mapping_lr_multiplier) == (24, 0.02)
    assert torch.equal(images(load(tmp_path / "c.pkl")), images(source))


def test_tight_conv_clamp_changes_the_image_and_survives(tmp_path):
    source = make_generator("orig", conv_clamp=0.25)
    loaded = load(write_nvidia_style_pickle(source, tmp_path / "clamp.pkl"))
    assert loaded.config.conv_clamp == 0.25
    assert torch.equal(images(loaded), images(source))
    assert not torch.allclose(images(loaded), images(make_generator("orig")))  # same weights


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_every_pickle_protocol_reads_the_same(tmp_path, protocol):
    source = make_generator("skip", c_dim=3)
    path = write_nvidia_style_pickle(source, tmp_path / f"p{protocol}.pkl", protocol=protocol)
    _, state, _ = read_nvidia_pickle(path)
    for key, value in source.state_dict().items():
        assert torch.equal(state[key], value), key


def test_easydict_kwargs_fp16_flags_and_metadata(tmp_path):
    source = make_generator("skip", resolution=32)
    path = write_nvidia_style_pickle(source, tmp_path / "e.pkl", kwargs_type=EasyDict,
                                     num_fp16_res=2)
    config, _, meta = read_nvidia_pickle(path)
    assert config == source.config
    assert meta["num_fp16_res"] == 2
    assert meta["init_kwargs"]["mapping_kwargs"] == {"num_layers": 3, "lr_multiplier": 0.01}
    assert type(meta["init_kwargs"]["synthesis_kwargs"]) is dict
    assert meta["training_set_kwargs"]["resolution"] == 32
    assert meta["entries"] == ["D", "G", "G_ema", "augment_pipe", "training_set_kwargs"]
    raw = unpickle_restricted(path)
    assert type(raw["training_set_kwargs"]) is EasyDictRecord
    assert type(raw["G_ema"].state["_init_kwargs"]["mapping_kwargs"]) is EasyDictRecord


def test_falls_back_to_g_and_reads_file_objects(tmp_path):
    source = make_generator()
    snapshot = build_snapshot(source)
    del snapshot["G_ema"]
    data = io.BytesIO()
    dump_snapshot(snapshot, tmp_path / "g.pkl")
    data.write((tmp_path / "g.pkl").read_bytes())
    data.seek(0)
    config, state, meta = read_nvidia_pickle(data)
    assert meta["source_key"] == "G" and config == source.config
    with open(tmp_path / "g.pkl", "rb") as f:
        assert read_nvidia_pickle(f)[0] == config


def test_bare_generator_pickle_is_accepted(tmp_path):
    source = make_generator()
    dump_snapshot(generator_record(source), tmp_path / "bare.pkl")
    config, _, meta = read_nvidia_pickle(tmp_path / "bare.pkl")
    assert config == source.config and meta["source_key"] is None


def test_storages_are_read_with_torch_weights_only_loader(tmp_path, monkeypatch):
    calls = []
    real_load = torch.load

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    read_nvidia_pickle(write_nvidia_style_pickle(make_generator(), tmp_path / "s.pkl"))
    assert calls and all(c.get("weights_only") is True for c in calls)


def test_is_nvidia_pickle_sniffs_headers(tmp_path):
    path = write_nvidia_style_pickle(make_generator(), tmp_path / "n.pkl")
    assert is_nvidia_pickle(path.read_bytes()[:16])
    for protocol in (2, 3, 4, 5):
        assert is_nvidia_pickle(pickle.dumps({"G_ema": 1}, protocol=protocol))
    legacy = io.BytesIO()
    torch.save({"a": torch.ones(1)}, legacy, _use_new_zipfile_serialization=False)
    zipped = io.BytesIO()
    torch.save({"a": torch.ones(1)}, zipped)
    for head in (b"", b"\x80", b"PK\x03\x04", legacy.getvalue()[:16], zipped.getvalue()[:16],
                 pickle.dumps({}, protocol=0), b"\x80\x06abc", b"hello world"):
        assert not is_nvidia_pickle(head), head


# ---------------------------------------------------------------------- the allow-list

def test_plain_values_tensors_and_numpy_come_back():
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    annotated = torch.nn.Parameter(torch.ones(2))
    annotated.note = "pickled through _rebuild_parameter_with_state"
    values = {
        "view": base[1:, ::2], "half": torch.tensor([1.5, -2.0], dtype=torch.float16),
        "array": np.arange(12.0).reshape(3, 4), "fortran": np.asfortranarray(np.eye(3, 2)),
        "big_endian": np.arange(5, dtype=">i4"), "scalar": np.float64(0.25),
        "flag": np.bool_(True), "sets": ({1, 2}, frozenset({"a"})), "bytes": b"\x00\xff",
        "size": torch.Size([2, 3]), "dtype": torch.float16, "complex": 1 + 2j,
        "ordered": collections.OrderedDict(a=1),
        "modules": torch.nn.ModuleList([torch.nn.Identity()]), "annotated": annotated,
    }
    for protocol in (2, 3, 4, 5):
        blob = pickle.dumps(values, protocol=protocol)
        got = unpickle_restricted(io.BytesIO(blob))
        assert torch.equal(got["view"], base[1:, ::2]) and got["half"].dtype == torch.float16
        standard = pickle.loads(blob)  # our own values: numpy's own unpickling is the yardstick
        for key in ("array", "fortran", "big_endian"):
            assert np.array_equal(got[key], values[key]) and got[key].dtype == standard[key].dtype
            assert got[key].flags.f_contiguous == standard[key].flags.f_contiguous
        assert got["scalar"] == 0.25 and got["flag"] == np.True_
        assert got["sets"] == values["sets"] and got["bytes"] == b"\x00\xff"
        assert got["size"] == (2, 3) and got["dtype"] is torch.float16 and got["complex"] == 1 + 2j
        assert got["ordered"] == {"a": 1} and torch.equal(got["annotated"], torch.ones(2))
        modules = got["modules"]
        assert isinstance(modules, TorchModuleRecord) and modules.class_name == "ModuleList"
        assert modules.state["_modules"]["0"].class_name == "Identity"


@pytest.mark.parametrize("module, name, args, fragment", [
    ("os", "system", ("touch {marker}",), "os.system"),
    ("posix", "system", ("touch {marker}",), "posix.system"),
    ("builtins", "eval", ("open({marker!r}, 'w').close()",), "builtins.eval"),
    ("builtins", "exec", ("open({marker!r}, 'w').close()",), "builtins.exec"),
    ("__builtin__", "eval", ("open({marker!r}, 'w').close()",), "builtins.eval"),
    ("builtins", "__import__", ("os",), "builtins.__import__"),
    ("builtins", "getattr", ("x", "upper"), "builtins.getattr"),
    ("subprocess", "Popen", (["touch", "{marker}"],), "subprocess.Popen"),
    ("torch", "load", ("{marker}",), "torch.load"),
])
def test_hostile_globals_are_refused_without_running(tmp_path, module, name, args, fragment):
    marker = str(tmp_path / "marker")

    def fill(value):
        if isinstance(value, list):
            return [fill(v) for v in value]
        return value.format(marker=marker)

    path = tmp_path / "evil.pkl"
    path.write_bytes(global_call(module, name, *[fill(a) for a in args]))
    for reader in (read_nvidia_pickle, unpickle_restricted):
        with pytest.raises(UnsafePickleError) as err:
            reader(path)
        assert_one_sentence(err.value, "refusing to load evil.pkl", fragment,
                            "nothing from the file was run")
    assert not os.path.exists(marker)


def test_rmtree_payload_leaves_the_folder_alone(tmp_path):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("precious")
    path = tmp_path / "evil.pkl"
    path.write_bytes(global_call("shutil", "rmtree", str(victim)))
    with pytest.raises(UnsafePickleError) as err:
        read_nvidia_pickle(path)
    assert_one_sentence(err.value, "shutil.rmtree")
    assert (victim / "keep.txt").read_text() == "precious"


def test_hostile_object_inside_a_valid_snapshot_is_refused(tmp_path):
    marker = tmp_path / "marker"
    evil = Reduces(os.system, (f"touch {marker}",))
    path = write_nvidia_style_pickle(make_generator(), tmp_path / "s.pkl",
                                     extra={"training_set_kwargs": {"hook": evil}})
    with pytest.raises(UnsafePickleError) as err:
        read_nvidia_pickle(path)
    assert_one_sentence(err.value, "system", "not an allowed type")
    assert not marker.exists()


def test_embedded_module_source_is_never_run(tmp_path):
    marker = tmp_path / "marker"
    src = (f"open({str(marker)!r}, 'w').write('ran')\n"
           "import os\nos.system('touch ' + " + repr(str(marker)) + ")\n"
           "class Generator:\n    pass\n")
    source = make_generator()
    path = write_nvidia_style_pickle(source, tmp_path / "src.pkl", module_src=src)
    config, _, _ = read_nvidia_pickle(path)
    assert config == source.config
    record = unpickle_restricted(path)["G_ema"]
    assert isinstance(record, PersistentRecord) and record.module_src == src
    assert not marker.exists()


def test_copyreg_reconstructor_with_foreign_classes_is_refused(tmp_path):
    with pytest.raises(UnsafePickleError) as err:
        unpickle_restricted(io.BytesIO(pickle.dumps(Unknown(), protocol=1)))
    assert_one_sentence(err.value, "Unknown", "not an allowed type")
    crafted = (b"\x80\x02ccopyreg\n_reconstructor\ncsubprocess\nPopen\nc__builtin__\nobject\nN"
               b"\x87R.")
    with pytest.raises(UnsafePickleError) as err:
        unpickle_restricted(io.BytesIO(crafted))
    assert_one_sentence(err.value, "subprocess.Popen")
    allowed_but_wrong = (b"\x80\x02ccopyreg\n_reconstructor\nccollections\nOrderedDict\n"
                         b"c__builtin__\nobject\nN\x87R.")
    with pytest.raises(UnsafePickleError) as err:
        unpickle_restricted(io.BytesIO(allowed_but_wrong))
    assert_one_sentence(err.value, "copyreg._reconstructor")


@pytest.mark.parametrize("payload, fragment", [
    (global_call("torch._utils", "_rebuild_tensor_v2", "x", 0, (1,), (1,)), "_rebuild_tensor_v2"),
    (global_call("collections", "OrderedDict", 5), "OrderedDict"),
    (global_call("numpy", "dtype", "O8", False, True), "numpy dtype"),
    (global_call("numpy._core.multiarray", "scalar", "f8", b"\x00"), "scalar"),
    (global_call("torch_utils.persistence", "_reconstruct_persistent_obj", {"type": "x"}),
     "persistent object"),
    (b"\x80\x02cnumpy\nndarray\n)R.", "numpy.ndarray"),
    (b"\x80\x02ccollections\nOrderedDict\n)\x81.", "create"),
    (b"\x80\x02}}X\x01\x00\x00\x00aK\x01sb.", "set the state of an object of type dict"),
    (b"\x80\x02ccollections\nOrderedDict\n)R}X\x01\x00\x00\x00aK\x01sb.", "set the state"),
    (b"\x80\x02ctorch\nfloat32\n(K\x01K\x02u.", "add items to"),
    (b"\x80\x02X\x01\x00\x00\x00aQ.", "persistent id"),
    (b"(icollections\nOrderedDict\n.", "INST/OBJ"),
])
def test_allowed_names_used_in_unusual_ways_are_refused(payload, fragment):
    with pytest.raises(UnsafePickleError) as err:
        unpickle_restricted(io.BytesIO(payload))
    assert_one_sentence(err.value, fragment, "nothing from the file was run")


def test_tensor_reaching_past_its_storage_is_refused():
    storage = torch.arange(4.0).untyped_storage()
    typed = torch.storage.TypedStorage(wrap_storage=storage, dtype=torch.float32, _internal=True)
    evil = Reduces(torch._utils._rebuild_tensor_v2,
                   (typed, 0, (1000,), (1,), False, collections.OrderedDict()))
    with pytest.raises(UnsafePickleError) as err:
        unpickle_restricted(io.BytesIO(pickle.dumps(evil, protocol=4)))
    assert_one_sentence(err.value, "past its storage")
    broadcast = Reduces(torch._utils._rebuild_tensor_v2,
                        (typed, 0, (1000, 1000), (0, 0), False, collections.OrderedDict()))
    with pytest.raises(UnsafePickleError) as err:
        unpickle_restricted(io.BytesIO(pickle.dumps(broadcast, protocol=4)))
    assert_one_sentence(err.value, "more elements than its storage")


def test_hostile_storage_stream_is_refused(tmp_path):
    marker = tmp_path / "marker"
    inner = global_call("os", "system", f"touch {marker}")
    evil = Reduces(torch.storage._load_from_bytes, (inner,))
    with pytest.raises(UnsafePickleError) as err:
        unpickle_restricted(io.BytesIO(pickle.dumps(evil, protocol=4)))
    assert_one_sentence(err.value, "tensor storage", "os.system")
    assert not marker.exists()


# ------------------------------------------------------------------------ broken files

def test_truncated_files_are_reported_as_truncated(tmp_path):
    data = write_nvidia_style_pickle(make_generator(), tmp_path / "full.pkl").read_bytes()
    for cut in (3, 40, len(data) // 3, len(data) // 2, len(data) - 200, len(data) - 1):
        path = tmp_path / "cut.pkl"
        path.write_bytes(data[:cut])
        with pytest.raises(ModelLoadError) as err:
            read_nvidia_pickle(path)
        assert not isinstance(err.value, UnsafePickleError)
        assert_one_sentence(err.value, "cut.pkl", "truncated")


@pytest.mark.parametrize("content", [
    b"", b"just some text\n", os.urandom(256), b"PK\x03\x04" + b"\x00" * 60,
    b"\x80\x04\x95\xff\xff\xff\x00garbage", b"\x80\x02\xfe\xfe\xfe.",
])
def test_non_pickles_and_garbage_give_one_sentence(tmp_path, content):
    path = tmp_path / "weird.pkl"
    path.write_bytes(content)
    with pytest.raises(ModelLoadError) as err:
        read_nvidia_pickle(path)
    assert_one_sentence(err.value, "weird.pkl")


def test_missing_file_and_legacy_torch_file(tmp_path):
    with pytest.raises(ModelLoadError) as err:
        read_nvidia_pickle(tmp_path / "absent.pkl")
    assert_one_sentence(err.value, "absent.pkl")
    torch.save({"g_ema": {}}, tmp_path / "old.pt", _use_new_zipfile_serialization=False)
    with pytest.raises(ModelLoadError) as err:
        read_nvidia_pickle(tmp_path / "old.pt")
    assert_one_sentence(err.value, "not an NVIDIA StyleGAN network pickle")


def test_shape_mismatch_against_config(tmp_path):
    snapshot = build_snapshot(make_generator())
    for record in (snapshot["G_ema"], snapshot["G"]):
        record.state["z_dim"] = 2 * W_DIM
        record.state["_init_kwargs"]["z_dim"] = 2 * W_DIM
    dump_snapshot(snapshot, tmp_path / "lie.pkl")
    with pytest.raises(ModelLoadError) as err:
        read_nvidia_pickle(tmp_path / "lie.pkl")
    assert_one_sentence(err.value, "the network's shapes do not match its config",
                        "mapping.fc0.weight")


def test_claimed_sizes_must_match_the_tensors(tmp_path):
    snapshot = build_snapshot(make_generator(c_dim=2))
    g = snapshot["G_ema"]
    g.state["img_channels"] = 4
    g.state["w_dim"] = 1 << 30  # would be gigabytes if the model were built from it
    dump_snapshot(snapshot, tmp_path / "huge.pkl")
    with pytest.raises(ModelLoadError) as err:
        read_nvidia_pickle(tmp_path / "huge.pkl")
    assert_one_sentence(err.value, "the network's shapes do not match its config",
                        "w_dim is 1073741824 but mapping.fc2.weight outputs is 16",
                        "img_channels is 4")


def test_missing_weight_is_reported(tmp_path):
    snapshot = build_snapshot(make_generator())
    torgb = snapshot["G_ema"].state["_modules"]["synthesis"].state["_modules"]["b8"]
    del torgb.state["_modules"]["torgb"].state["_parameters"]["bias"]
    dump_snapshot(snapshot, tmp_path / "hole.pkl")
    with pytest.raises(ModelLoadError) as err:
        read_nvidia_pickle(tmp_path / "hole.pkl")
    assert_one_sentence(err.value, "missing synthesis.b8.torgb.bias")


def test_pickle_without_generator(tmp_path):
    dump_snapshot({"D": None, "training_set_kwargs": {}}, tmp_path / "nog.pkl")
    with pytest.raises(ModelLoadError) as err:
        read_nvidia_pickle(tmp_path / "nog.pkl")
    assert_one_sentence(err.value, "no G_ema or G")
    dump_snapshot({"G_ema": [1, 2]}, tmp_path / "list.pkl")
    with pytest.raises(ModelLoadError) as err:
        read_nvidia_pickle(tmp_path / "list.pkl")
    assert_one_sentence(err.value, "not a network")


def test_malformed_stylegan3_generators_are_refused(tmp_path):
    snapshot = build_snapshot(make_generator())
    synthesis = snapshot["G_ema"].state["_modules"]["synthesis"]
    synthesis.state["_modules"] = {
        "input": PersistentStandIn("SynthesisInput", {"_modules": {}}),
        "L0_36_512": PersistentStandIn("SynthesisLayer", {"_modules": {}}),
    }
    dump_snapshot(snapshot, tmp_path / "sg3.pkl")
    with pytest.raises(ModelLoadError) as err:
        read_nvidia_pickle(tmp_path / "sg3.pkl")
    assert_one_sentence(err.value, "sg3.pkl", "synthesis layers")


def test_convert_rejects_non_snapshots():
    with pytest.raises(ModelLoadError) as err:
        convert_nvidia_data([1, 2, 3], "x.pkl")
    assert_one_sentence(err.value, "x.pkl", "instead of a dict of networks")
