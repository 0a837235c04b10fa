"""Every stamped field, read back by an independent reader (exiftool) in every format."""

import json

import pytest

from facestudio import __version__
from facestudio.provenance import AI_DISCLOSURE, ExportOptions, export_image, read_provenance
from facestudio.provenance.xmp import XmpError, build_xmp, parse_xmp

from .helpers import AI_TYPE, CARD_META, SHA, exiftool, noise_image, sample_recipe, sample_stamp

FORMATS = [("png", {}), ("jpg", {}), ("webp", {}), ("webp", {"lossless": True})]


def check_xmp(meta: dict, stamp, recipe) -> None:
    assert meta["XMP-iptcExt:DigitalSourceType"] == AI_TYPE
    assert meta["XMP-dc:Creator"] == stamp.artist
    assert meta["XMP-dc:Rights"] == stamp.terms
    assert meta["XMP-xmpRights:UsageTerms"] == stamp.terms
    assert str(meta["XMP-xmpRights:Marked"]).lower() in ("true", "1")
    assert meta["XMP-xmpRights:WebStatement"] == CARD_META["license_url"]
    assert meta["XMP-cc:License"] == CARD_META["license_url"]
    assert meta["XMP-cc:AttributionName"] == CARD_META["attribution"]
    assert meta["XMP-photoshop:Credit"] == CARD_META["attribution"]
    assert meta["XMP-xmp:CreatorTool"] == f"facestudio {__version__}"
    assert meta["XMP-dc:Description"].startswith(AI_DISCLOSURE)
    assert "does not exist" in meta["XMP-dc:Description"]
    assert SHA in meta["XMP-dc:Description"]
    assert meta["XMP-facestudio:ModelName"] == "Test faces"
    assert meta["XMP-facestudio:ModelSHA256"] == SHA
    assert json.loads(meta["XMP-facestudio:Recipe"]) == recipe.to_dict()


@pytest.mark.parametrize("ext, extra", FORMATS)
@pytest.mark.slow
def test_every_field_reads_back_with_exiftool(tmp_path, ext, extra):
    stamp, recipe = sample_stamp(), sample_recipe()
    path = tmp_path / f"face.{ext}"
    export_image(noise_image(), path, stamp, recipe, ExportOptions(**extra))
    meta = exiftool(path)
    check_xmp(meta, stamp, recipe)
    terms = meta["XMP-dc:Rights"]
    for promise in ("non-commercial", "facestudio test suite", "impersonate", "identity documents",
                    CARD_META["license_url"]):
        assert promise in terms
    if ext == "png":
        assert meta["PNG:Author"] == stamp.artist
        assert meta["PNG:Copyright"] == stamp.terms
        assert meta["PNG:Description"] == stamp.description
        assert meta["PNG:Software"] == f"facestudio {__version__}"
        assert meta["PNG:Disclaimer"] == AI_DISCLOSURE
        assert "Test faces" in meta["PNG:Source"] and SHA in meta["PNG:Source"]
    else:
        assert meta["IFD0:Artist"] == stamp.artist
        assert meta["IFD0:Copyright"] == stamp.terms
        assert meta["IFD0:ImageDescription"] == stamp.description
        assert meta["IFD0:Software"] == f"facestudio {__version__}"
        assert meta["ExifIFD:UserComment"].startswith(AI_DISCLOSURE)
        assert CARD_META["attribution"] in meta["ExifIFD:UserComment"]
    # our own reader agrees with exiftool
    prov = read_provenance(path)
    assert prov.source_type == AI_TYPE and prov.creator == stamp.artist and prov.terms == stamp.terms
    assert prov.license_url == CARD_META["license_url"] and prov.attribution == CARD_META["attribution"]
    assert prov.to_recipe() == recipe and prov.recipe_source == "xmp"


def test_the_disclosure_stays_whatever_the_user_adds(tmp_path):
    stamp = sample_stamp(attribution="Studio X", additional_terms="Also: no <script>alert(1)</script> & no NFTs.",
                         note="Portrait for a novel cover.")
    path = tmp_path / "f.jpg"
    export_image(noise_image(), path, stamp, sample_recipe())
    meta = exiftool(path)
    assert meta["XMP-iptcExt:DigitalSourceType"] == AI_TYPE
    assert meta["XMP-dc:Description"].startswith(AI_DISCLOSURE)
    assert meta["XMP-dc:Description"].endswith("Portrait for a novel cover.")
    assert meta["XMP-cc:AttributionName"] == "Studio X"
    assert meta["XMP-dc:Rights"].endswith("Also: no <script>alert(1)</script> & no NFTs.")
    assert 'Credit "Studio X"' in meta["XMP-dc:Rights"]


def test_xml_special_and_illegal_characters_are_escaped_or_dropped():
    stamp = sample_stamp(artist="A </dc:creator><evil/> & \x00\x07B ]]> \U0001F600")
    fields = parse_xmp(build_xmp(stamp, {"seed": 1, "note": "<&>\"'"}))
    assert fields["dc:creator"] == "A </dc:creator><evil/> & B ]]> \U0001F600"
    assert json.loads(fields["facestudio:Recipe"]) == {"seed": 1, "note": "<&>\"'"}


def test_hostile_xmp_is_refused_without_expanding_entities():
    bomb = ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
            '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            '<rdf:Description>&b;</rdf:Description></rdf:RDF></x:xmpmeta>')
    with pytest.raises(XmpError, match="DTD"):
        parse_xmp(bomb)
    with pytest.raises(XmpError, match="well-formed"):
        parse_xmp('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF></x:xmpmeta>')
