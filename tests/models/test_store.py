"""The catalog's entries, the user's model store, and a downloaded model's licence in the
export terms (end to end: served, installed, loaded, stamped)."""

import json
import subprocess
import sys
from dataclasses import replace

import pytest

from facestudio.models.catalog import CATALOG, NO_CHECKSUM, check_entry, entry
from facestudio.models.download import ChecksumError, part_path
from facestudio.models.store import CARD_FILE, RECORD_FILE, ModelStore
from tests.models.served_models import ATTRIBUTION, LICENSE, LICENSE_URL, serve_test_net


def test_catalog_entries_are_well_formed_and_never_invent_checksums():
    assert len({e.id for e in CATALOG}) == len(CATALOG)
    for e in CATALOG:
        check_entry(e)
        assert not e.commercial_use and "non-commercial" in e.license_name
        assert e.url.endswith(e.filename) and e.resolution in (256, 512, 1024)
        assert e.verifiable == (e.sha256 is not None)
        if not e.verifiable:
            assert e.checksum_note == NO_CHECKSUM
    verified = entry("stylegan3-r-ffhq-1024")
    assert verified.size == 237_040_112 and verified.sha256.startswith("ffe2233f")
    with pytest.raises(KeyError, match="no model called"):
        entry("nope")


@pytest.fixture
def served_model(server, tmp_path):
    return serve_test_net(server, tmp_path)


def test_install_writes_weights_card_and_record(served_model, tmp_path):
    e, data = served_model
    store = ModelStore(tmp_path / "store")
    assert store.installed(e.id) is None and store.installed_models() == []
    model = store.install(e)
    assert model.path == tmp_path / "store" / "test-net" / "net.pkl" and model.path.read_bytes() == data
    assert model.verified and model.sha256 == e.sha256 and model.license == LICENSE
    record = json.loads((model.folder / RECORD_FILE).read_text())
    assert record["source_url"] == e.url and record["verified"] is True and record["size"] == len(data)
    assert [m.id for m in store.installed_models()] == ["test-net"]
    store.remove(e.id)
    assert store.installed_models() == [] and not model.folder.exists()


def test_unverifiable_download_is_recorded_as_unverified(served_model, tmp_path):
    e, _ = served_model
    model = ModelStore(tmp_path / "store").install(replace(e, sha256=None, checksum_note=NO_CHECKSUM))
    assert not model.verified and len(model.sha256) == 64
    assert "sha256_verified: false" in (model.folder / CARD_FILE).read_text()


def test_a_wrong_checksum_installs_nothing(served_model, tmp_path):
    e, _ = served_model
    store = ModelStore(tmp_path / "store")
    with pytest.raises(ChecksumError):
        store.install(replace(e, sha256="0" * 64))
    assert store.installed(e.id) is None
    assert not store.weights_path(e).exists() and not part_path(store.weights_path(e)).exists()
    assert not (store.folder(e) / CARD_FILE).exists()


def test_the_licence_of_a_downloaded_model_reaches_the_export_terms(served_model, tmp_path):
    from facestudio.generator import load_generator
    from facestudio.provenance import make_stamp
    from facestudio.provenance.terms import RESEARCH_TEMPLATE, load_templates

    e, _ = served_model
    model = ModelStore(tmp_path / "store").install(e)
    g = load_generator(model.path)
    assert g.sha256 == model.sha256  # the model's identity is the downloaded file's hash
    assert g.name == "Test net 32" and g.card.license == LICENSE
    stamp = make_stamp(g.card.meta, g.name, g.sha256)
    assert stamp.license_name == LICENSE and stamp.license_url == LICENSE_URL
    assert stamp.attribution == ATTRIBUTION
    assert LICENSE in stamp.terms and "non-commercial research use only" in stamp.terms
    assert stamp.terms.startswith(load_templates()[RESEARCH_TEMPLATE].text.split(" Credit")[0])


def test_the_model_library_needs_neither_torch_nor_qt():
    code = ("import sys, facestudio.models, facestudio.models.store; "
            "print(sorted(m for m in ('torch', 'PySide6', 'numpy') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stderr
