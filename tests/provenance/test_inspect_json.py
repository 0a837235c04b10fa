"""``inspect --json`` prints strict JSON even when the file's recipe holds numbers JSON has not."""

from __future__ import annotations

import pytest
import json

from PIL import Image, PngImagePlugin

from facestudio.commands.main import main


def refuse_constant(name: str):
    raise AssertionError(f"{name} is not JSON")


@pytest.mark.slow
def test_inspect_json_maps_non_finite_numbers_to_null(capsys, tmp_path, native_model):
    face = tmp_path / "face.png"
    assert main(["render", "--model", str(native_model), "--seed", "5", "--out", str(face)]) == 0
    with Image.open(face) as im:
        info = PngImagePlugin.PngInfo()
        for key, value in im.info.items():
            if isinstance(value, str):
                if key == "XML:com.adobe.xmp":  # the recipe as a hostile editor leaves it
                    assert '"psi":0.7' in value  # the default psi
                    value = value.replace('"psi":0.7', '"psi":1e999')
                info.add_itxt(key, value) if key == "XML:com.adobe.xmp" else info.add_text(key, value)
        im.save(tmp_path / "hostile.png", pnginfo=info)
    capsys.readouterr()
    main(["inspect", str(tmp_path / "hostile.png"), "--json"])  # exit status: the reader's verdict
    out = capsys.readouterr().out
    doc = json.loads(out, parse_constant=refuse_constant)  # Infinity, -Infinity, NaN refused
    assert doc["file"] == str(tmp_path / "hostile.png")
    assert not doc["recipe"] or doc["recipe"]["psi"] is None  # kept (as null) or refused by the reader
