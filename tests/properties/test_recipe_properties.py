"""Property: a recipe read from a dict, an image's XMP packet or a sidecar is a valid
:class:`Recipe` or one sentence (RecipeError, XmpError, ProvenanceReadError), nothing else."""

from __future__ import annotations

import json
from xml.sax.saxutils import escape

from hypothesis import example, given, settings
from hypothesis import strategies as st
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from facestudio.latent.recipe import Recipe, RecipeError
from facestudio.provenance import ProvenanceReadError, read_provenance
from facestudio.provenance.embed import PNG_XMP_KEY
from facestudio.provenance.xmp import XmpError, build_xmp, parse_xmp
from tests.helpers import assert_one_sentence
from tests.properties.strategies import JSON, mutated, mutated_bytes
from tests.provenance.helpers import sample_recipe, sample_stamp
from tests.properties.strategies import check_valid

VALID = sample_recipe(transform=(0.1, -0.2, 5.0), class_idx=1).to_dict()


def read_recipe(d) -> None:
    try:
        recipe = Recipe.from_dict(d)
    except Exception as exc:  # noqa: BLE001 - the property is about which exceptions escape
        assert_one_sentence(exc, RecipeError, full_stop=False)
    else:
        check_valid(recipe)


@given(mutated(VALID))
@example({**VALID, "psi": 10 ** 400})  # found: OverflowError from float() of a huge int
@example({**VALID, "edits": [{"direction": "pca0", "amount": -(10 ** 400), "layers": [0, 4]}]})
@example({**VALID, "transform": [10 ** 400, 0, 0]})  # found: OverflowError in check_transform
def test_a_mutated_recipe_is_a_recipe_or_one_sentence(d):
    read_recipe(d)


@given(JSON)
def test_any_json_value_is_a_recipe_or_one_sentence(d):
    read_recipe(d)


@given(st.dictionaries(st.sampled_from(sorted(VALID)), JSON, max_size=len(VALID)))
def test_a_recipe_of_random_fields_is_a_recipe_or_one_sentence(d):
    read_recipe(d)


PACKET = build_xmp(sample_stamp(), VALID)


@given(mutated_bytes(PACKET))
def test_a_mutated_xmp_packet_is_properties_or_one_sentence(packet):
    try:
        props = parse_xmp(packet)
    except Exception as exc:  # noqa: BLE001
        assert_one_sentence(exc, XmpError, full_stop=False)
    else:
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in props.items())


def png_with(path, recipe_text: str, sidecar=None):
    packet = build_xmp(sample_stamp(), {"marker": 1}).decode("utf-8")
    info = PngInfo()
    info.add_itxt(PNG_XMP_KEY, packet.replace('{"marker":1}', escape(recipe_text)), zip=False)
    Image.new("RGB", (4, 4)).save(path, pnginfo=info)
    if sidecar is not None:
        path.with_name(path.name + ".json").write_text(json.dumps(sidecar))
    return path


def read_image_recipe(path) -> None:
    try:
        prov = read_provenance(path)
        recipe = prov.to_recipe()
    except Exception as exc:  # noqa: BLE001
        assert_one_sentence(exc, RecipeError, ProvenanceReadError, full_stop=False)
    else:
        assert all(isinstance(p, str) and p and "\n" not in p for p in prov.problems)
        if recipe is not None:
            check_valid(recipe)


@settings(max_examples=25)
@given(mutated(VALID))
def test_a_recipe_in_an_image_is_a_recipe_or_one_sentence(tmp_path_factory, d):
    path = tmp_path_factory.mktemp("xmp") / "face.png"
    read_image_recipe(png_with(path, json.dumps(d)))


@settings(max_examples=25)
@given(mutated({"recipe": VALID, "provenance": {"creator": "Zoë", "terms": "CC", "license": "CC-BY"}}))
@example({"recipe": VALID, "provenance": "text"})  # found: AttributeError from a sidecar's provenance
def test_a_sidecar_recipe_is_a_recipe_or_one_sentence(tmp_path_factory, side):
    path = tmp_path_factory.mktemp("side") / "face.png"
    Image.new("RGB", (4, 4)).save(path)
    path.with_name(path.name + ".json").write_text(json.dumps(side))
    read_image_recipe(path)
