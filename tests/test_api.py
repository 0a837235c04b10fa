"""The public Python API (docs/api.md): the snippet as documented, light imports, typed names,
and the one checked export path under it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import facestudio
from facestudio.analysis.lookalike_guard import LookalikeVerdict
from facestudio.latent.directions import DirectionError
from facestudio.provenance import make_stamp, read_provenance
from facestudio.provenance.guarded import LookalikeRefused, export_face

ROOT = Path(__file__).resolve().parents[1]
SNIPPET = '''import facestudio
model = facestudio.load_model()            # the bundled model, or load_model(path)
recipe = model.recipe(seed=42, psi=0.7).edit("age", 1.5)
pixels = model.render(recipe)              # uint8 [H, W, 3]
model.export(recipe, "face.png", artist="Ann")   # the CLI's stamp, watermark and lookalike check
'''


def _env():
    return {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}


def test_the_documented_snippet_is_the_one_in_docs_api_md():
    assert SNIPPET.splitlines()[0] in (ROOT / "docs" / "api.md").read_text()
    for line in SNIPPET.splitlines()[1:]:
        assert line.split("#")[0].strip() in (ROOT / "docs" / "api.md").read_text()


@pytest.mark.slow
def test_the_snippet_runs_and_inspect_shows_stamp_watermark_and_verdict(tmp_path):
    subprocess.run([sys.executable, "-c", SNIPPET], cwd=tmp_path, env=_env(), check=True, timeout=300)
    shown = subprocess.run([sys.executable, "-m", "facestudio", "inspect", "--json", "face.png"], cwd=tmp_path,
                           env=_env(), capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    facts = json.loads(shown.stdout)
    assert facts["creator"] == "Ann" and facts["digital_source_type"].endswith("trainedAlgorithmicMedia")
    assert facts["recipe"]["seed"] == 42 and facts["recipe"]["edits"][0]["direction"] == "age"
    assert facts["watermark"]["found"] is True
    assert facts["lookalike"]["Check"]  # the verdict, or why it could not be checked


@pytest.mark.slow
def test_import_facestudio_stays_light():
    code = "import sys, facestudio; print(sorted(m for m in ('torch', 'numpy', 'PySide6') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], env=_env(), capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "[]", done.stderr


def test_public_names_are_listed_typed_and_importable():
    import re
    assert (ROOT / "facestudio" / "py.typed").is_file()
    stub = (ROOT / "facestudio" / "__init__.pyi").read_text()
    assert set(re.findall(r" as (\w+)$", stub, re.M)) == set(facestudio.__all__) - {"__version__"}
    for name in facestudio.__all__:
        assert getattr(facestudio, name) is not None
    assert {"load_model", "Model", "FaceRecipe", "Recipe", "LookalikeRefused"} <= set(facestudio.__all__)
    with pytest.raises(AttributeError):
        facestudio.no_such_name  # noqa: B018


@pytest.fixture(scope="module")
def model():
    return facestudio.load_model()


def test_recipes_edit_render_and_round_trip(model):
    base = model.recipe(seed=7, psi=0.5)
    aged = base.edit("Age", 2.0)  # a name finds the direction too
    assert aged.recipe.edits[0].direction_id == "age" and base.recipe.edits == ()
    assert aged.edit("age", 0).recipe.edits == ()  # amount 0 removes the edit
    a, b = model.render(base), model.render(aged)
    assert a.dtype == np.uint8 and a.shape == (model.resolution, model.resolution, 3)
    assert not np.array_equal(a, b)
    again = model.recipe_from(json.loads(json.dumps(aged.to_dict())))
    assert np.array_equal(model.render(again), b)
    with pytest.raises(DirectionError, match="unknown direction 'nose length'"):
        base.edit("nose length", 1.0)


def test_a_lookalike_is_refused_and_nothing_is_written(model, tmp_path):
    close = LookalikeVerdict(True, 0.4, 1, 1, 0.1, "real.jpg")
    stamp = make_stamp({}, model.name, model.sha256)
    pixels = model.render(model.recipe(seed=1))
    with pytest.raises(LookalikeRefused, match="not writing face.png: the face resembles the training photo real.jpg"):
        export_face(pixels, tmp_path / "face.png", stamp, verdict=close)
    assert list(tmp_path.iterdir()) == []
    done = export_face(pixels, tmp_path / "face.png", stamp, verdict=close, allowed=True)
    assert read_provenance(done.paths[0]).lookalike["Override"].startswith("written anyway")


def test_model_export_goes_through_the_guard(model, tmp_path, monkeypatch):
    import facestudio.provenance.guarded as guarded

    class Resembling:
        def check(self, faces):
            return LookalikeVerdict(True, 0.4, len(faces), len(faces), 0.2, "someone.jpg")

    monkeypatch.setattr(guarded, "default_guard", lambda sha: Resembling())
    recipe = model.recipe(seed=3)
    with pytest.raises(LookalikeRefused, match="allow_lookalike=True"):
        model.export(recipe, tmp_path / "f.png")
    assert not (tmp_path / "f.png").exists()
    written = model.export(recipe, tmp_path / "f.png", artist="Ann", allow_lookalike=True)
    prov = read_provenance(written[0])
    assert prov.lookalike["Verdict"] == "resembles a real photo" and prov.creator == "Ann"
