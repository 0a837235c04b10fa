"""The conventions every command follows: no abbreviations, one psi default, one seeds
grammar, --json on what writes files, results on stdout and the rest on stderr, progress
bars only on a terminal, --quiet, and a description and a working example in every help."""

import argparse
import io
import json
import shlex
import sys
import time

import pytest

from facestudio.commands.arguments import DEFAULT_PSI, UserError, parse_seeds
from facestudio.commands.main import build_parser, main
from facestudio.commands import progress


def leaf_parsers(parser=None, path=()):
    """(command path, parser) of every command that runs (``library build``, not ``library``)."""
    parser = parser or build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                inner = list(leaf_parsers(sub, path + (name,)))
                yield from inner or [(" ".join(path + (name,)), sub)]


def options_of(parser) -> dict[str, argparse.Action]:
    return {opt: a for a in parser._actions for opt in a.option_strings}


# Commands that write files but report them otherwise: train keeps its own run log (see the report).
WRITES_WITHOUT_JSON = {"train", "gui"}


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_every_command_has_a_description_and_an_example_that_parses():
    parser = build_parser()
    for path, sub in leaf_parsers(parser):
        assert sub.description and len(sub.description) > 20, path
        assert sub.epilog and sub.epilog.startswith("example:"), path
        example = shlex.split(sub.epilog.split("\n", 1)[1])
        assert example[0] == "facestudio" and " ".join(example[1:1 + len(path.split())]) == path, example
        parser.parse_args(example[1:])  # exits 2 on an option the command does not have


def test_abbreviated_options_are_refused(capsys):
    with pytest.raises(SystemExit) as stop:
        build_parser().parse_args(["grid", "--seeds", "1", "--seed", "1", "--out", "g.png"])
    assert stop.value.code == 2 and "unrecognized arguments: --seed" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        build_parser().parse_args(["grid", "--seed", "1", "--out", "g.png"])
    with pytest.raises(SystemExit):
        build_parser().parse_args(["render", "--see", "1", "--out", "f.png"])
    for path, sub in leaf_parsers():
        assert sub.allow_abbrev is False, path


def test_one_psi_default_everywhere():
    for path, sub in leaf_parsers():
        psi = options_of(sub).get("--psi")
        if psi is not None:
            assert psi.default in (DEFAULT_PSI, None) and f"default {DEFAULT_PSI:g}" in psi.help, path


def test_every_command_that_writes_files_has_json_and_quiet():
    for path, sub in leaf_parsers():
        opts = options_of(sub)
        assert "--quiet" in opts, path
        writes = any(o in opts for o in ("--out", "--parquet", "--out-dir")) or path == "convert"
        if writes and path not in WRITES_WITHOUT_JSON:
            assert "--json" in opts, path


def test_every_seeds_option_speaks_the_one_grammar():
    for path, sub in leaf_parsers():
        for opt in ("--seeds", "--rows", "--cols"):
            action = options_of(sub).get(opt)
            if action is not None and action.type is not int:
                assert action.metavar == "SEEDS" and "0-63" in action.help, (path, opt)


def test_the_seeds_grammar(tmp_path):
    assert parse_seeds("7") == [7]
    assert parse_seeds("1,5, 9") == [1, 5, 9]
    assert parse_seeds("0-3,10-11") == [0, 1, 2, 3, 10, 11]
    listed = tmp_path / "seeds.txt"
    listed.write_text("# lucky ones\n42\n3-4, 100 # and this\n")
    assert parse_seeds(f"@{listed}") == [42, 3, 4, 100]
    for text, fragment in [("9-2", "reversed"), ("x", "cannot read seeds"), ("-1", "cannot read"),
                           ("0-4294967296", "are outside the seeds"), ("0-5000", "more than 4096"), (",", "name no seed"),
                           (f"@{tmp_path / 'nope.txt'}", "cannot read the seeds file")]:
        with pytest.raises(UserError, match=fragment):
            parse_seeds(text)


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_bars_show_rate_and_time_left_on_a_terminal_only(monkeypatch):
    progress.set_quiet(False)
    for stream, drawn in ((FakeTerminal(), True), (io.StringIO(), False)):
        monkeypatch.setattr(sys, "stderr", stream)
        with progress.face_progress("grid", 4) as advance:
            for _ in range(4):
                time.sleep(0.12)  # past tqdm's 0.1 s between redraws
                advance(1)
        text = stream.getvalue()
        assert ("3/4" in text and "face/s" in text and "<00:00" in text) == drawn, text  # rate, time left
        assert bool(text) == drawn
    monkeypatch.setattr(sys, "stderr", FakeTerminal())
    progress.set_quiet(True)
    try:
        with progress.face_progress("grid", 4) as advance:
            advance(4)
        progress.message("a message")
        assert sys.stderr.getvalue() == ""
    finally:
        progress.set_quiet(False)


@pytest.mark.slow
def test_render_and_grid_print_json_results_and_quiet_prints_nothing(capsys, tmp_path, native_model):
    code, out, err = run(capsys, "render", "--model", str(native_model), "--seed", "3", "--out",
                         str(tmp_path / "f.png"), "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["written"] == [str(tmp_path / "f.png")] and doc["psi"] == DEFAULT_PSI
    assert doc["stamp"]["ai_generated"] is True and doc["stamp"]["model_sha256"]
    assert "check" in doc["lookalike"]
    code, out, err = run(capsys, "grid", "--model", str(native_model), "--seeds", "0-2", "--out",
                         str(tmp_path / "g.png"), "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["faces"] == 3 and doc["rows"] == 1 and doc["cols"] == 3 and doc["written"] == [str(tmp_path / "g.png")]
    code, out, err = run(capsys, "grid", "--model", str(native_model), "--seeds", "4", "--out",
                         str(tmp_path / "h.png"))
    assert code == 0 and out.strip() == f"wrote {tmp_path / 'h.png'} (1 face, 1 x 1)"
    code, out, err = run(capsys, "-q", "grid", "--model", str(native_model), "--seeds", "5", "--out",
                         str(tmp_path / "i.png"))
    assert code == 0 and out == "" and err == "" and (tmp_path / "i.png").is_file()
    code, out, err = run(capsys, "render", "--model", str(native_model), "--seed", "5", "--out",
                         str(tmp_path / "j.png"), "--quiet")
    assert code == 0 and out == "" and err == ""
