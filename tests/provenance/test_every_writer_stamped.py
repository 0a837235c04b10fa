"""Every command and every studio action that writes an image stamps it: an independent
reader (exiftool) finds DigitalSourceType = trainedAlgorithmicMedia, the terms, the licence
and the model in each file, the animations and the numbered frames included."""

from pathlib import Path

import pytest

from facestudio.commands.main import build_parser, main
from facestudio.generator import load_generator
from facestudio.provenance import read_provenance
from tests.ui.conftest import no_thread_outlives_close, window  # noqa: F401 (fixtures for the studio)
from tests.ui.window_helpers import rendered_strip
from tests.ui.window_helpers import export_and_wait
from tests.ui.window_helpers import fill_grid

from .helpers import AI_TYPE, exiftool

ARTIST = "Every Writer"
FRAMES = "frames/"

# (command line without --model/--out/--artist, the --out it writes) for every command
# that writes an image; FRAMES: a folder of numbered frames
CLI_WRITERS = [
    (["render", "--seed", "3"], "render.png"),
    (["render", "--seed", "3"], "render.jpg"),
    (["render", "--seed", "3"], "render.webp"),
    (["edit", "--seed", "3", "--direction", "pca0=1"], "edit.jpg"),
    (["mix", "--rows", "1", "--cols", "2,3"], "mix.webp"),
    (["grid", "--seeds", "1-4", "--cols", "2"], "grid.png"),
    (["sheet", "--seeds", "1", "--direction", "pca0", "--amounts=-1,0,1"], "sheet.jpg"),
    (["interpolate", "--from", "1", "--to", "2", "--frames", "3"], "strip.png"),
    (["interpolate", "--from", "1", "--to", "2", "--frames", "3"], "strip.jpg"),
    (["interpolate", "--from", "1", "--to", "2", "--frames", "3"], "strip.webp"),
    (["interpolate", "--from", "1", "--to", "2", "--frames", "3", "--layers", "0-3"], "strip.gif"),
    (["interpolate", "--from", "1", "--to", "2", "--frames", "3"], FRAMES),
    (["find", "--count", "2", "--format", "jpg"], FRAMES),  # a folder of faces (and find.json)
]
# writers that need more than a small model to run (a photo, a model that can serve them):
# their own tests check their files with assert_stamped
STAMPED_ELSEWHERE = {"anonymize": "tests/commands/test_anonymize.py"}


def assert_stamped(path: Path, sha256: str, artist: str | None = ARTIST, card_terms: str = "facestudio test suite",
                   licence_url: str = "https://creativecommons.org/licenses/by-nc/4.0/") -> None:
    """``card_terms`` and ``licence_url``: what the model card (the test model's by default) puts in the stamp."""
    meta = exiftool(path)
    assert meta.get("XMP-iptcExt:DigitalSourceType") == AI_TYPE, f"{path.name} is not stamped"
    terms = meta["XMP-dc:Rights"]
    assert terms == meta["XMP-xmpRights:UsageTerms"]
    for promise in ("non-commercial", card_terms, "impersonate", "identity documents"):
        assert promise in terms, f"{path.name}: the terms lack {promise!r}"
    assert meta["XMP-cc:License"] == licence_url
    assert meta["XMP-facestudio:ModelSHA256"] == sha256
    assert "does not exist" in meta["XMP-dc:Description"]
    if artist:
        assert meta["XMP-dc:Creator"] == artist
    assert read_provenance(path).source_type == AI_TYPE  # facestudio's own reader agrees


def written_files(out: Path, target: str) -> list[Path]:
    files = sorted(p for p in out.iterdir() if p.suffix != ".json") if target == FRAMES else [out]
    assert files, f"nothing written to {out}"
    return files


def test_every_image_command_is_listed_here():
    """A new command taking the export options must join CLI_WRITERS."""
    sub = next(a for a in build_parser()._actions if a.choices and "render" in a.choices)
    writers = {name for name, sp in sub.choices.items()
               if any("--artist" in action.option_strings for action in sp._actions)}
    assert writers == {argv[0] for argv, _ in CLI_WRITERS} | set(STAMPED_ELSEWHERE)


@pytest.mark.parametrize("argv, target", CLI_WRITERS, ids=[f"{a[0]}-{t.strip('/')}" for a, t in CLI_WRITERS])
@pytest.mark.slow
def test_every_command_stamps_what_it_writes(capsys, tmp_path, native_model, argv, target):
    out = tmp_path / target
    code = main([*argv, "--model", str(native_model), "--artist", ARTIST,
                 "--out", str(out) + ("/" if target == FRAMES else "")])
    assert code == 0, capsys.readouterr().err
    sha = load_generator(native_model).sha256
    for path in written_files(out, target):
        assert_stamped(path, sha)


@pytest.mark.usefixtures("qapp")
class TestTheStudio:
    def test_the_export_dock_face_and_the_gallery_batch(self, qtbot, window, tmp_path):  # noqa: F811
        window.default_answer = False
        window.export_panel.artist_edit.setText(ARTIST)
        face = tmp_path / "face.png"
        assert export_and_wait(qtbot, window, lambda: window.exporter.export_face(face)) == [face]
        for seed in (11, 12):
            window.controls.seed_spin.setValue(seed)
            qtbot.waitUntil(lambda: window.canvas.image is not None, timeout=20_000)
            window.gallery_controller.keep_current()
        window.export_panel.sheet_check.setChecked(True)
        folder = tmp_path / "batch"
        folder.mkdir()
        written = export_and_wait(qtbot, window, lambda: window.exporter.export_gallery(folder))
        assert "contact_sheet.png" in {p.name for p in written} and len(written) == 3
        for path in [face, *written]:
            assert_stamped(path, window.state.model.sha256)

    def test_the_mix_grid_export(self, qtbot, window, tmp_path):  # noqa: F811
        window.export_panel.artist_edit.setText(ARTIST)
        fill_grid(qtbot, window)
        [path] = window.mix_controller.export_grid(tmp_path / "grid.jpg")
        assert_stamped(path, window.state.model.sha256)

    @pytest.mark.parametrize("name", ["strip.png", "strip.jpg", "strip.webp", "strip.gif", "frames"])
    def test_the_strip_export(self, qtbot, window, tmp_path, name):  # noqa: F811
        window.export_panel.artist_edit.setText(ARTIST)
        strip, *_ = rendered_strip(qtbot, window)
        written = strip.export(tmp_path / name)
        assert len(written) == (5 if name == "frames" else 1)
        for path in written:
            assert_stamped(path, window.state.model.sha256)
