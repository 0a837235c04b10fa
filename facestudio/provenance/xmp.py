"""The XMP packet: build it from a :class:`Stamp` and a recipe, and read one back.

The packet uses the standard schemas (Dublin Core, XMP basic, XMP rights, Photoshop, IPTC
Extension, Creative Commons) plus facestudio's own namespace :data:`FACESTUDIO_NS`, which holds
the model identity and the recipe as JSON (``facestudio:Recipe``).

Every value is escaped; characters XML 1.0 cannot carry at all (most C0 controls) are dropped.
Reading refuses DTDs and entity declarations before parsing, so a hostile packet cannot
expand entities.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from facestudio.errors import FacestudioError
from facestudio.provenance.terms import Stamp

FACESTUDIO_NS = "urn:facestudio:ns:xmp:1.0/"  # a URN: no web domain is implied
NAMESPACES = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "dc": "http://purl.org/dc/elements/1.1/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "xmpRights": "http://ns.adobe.com/xap/1.0/rights/",
    "photoshop": "http://ns.adobe.com/photoshop/1.0/",
    "Iptc4xmpExt": "http://iptc.org/std/Iptc4xmpExt/2008-02-29/",
    "cc": "http://creativecommons.org/ns#",
    "facestudio": FACESTUDIO_NS,
}
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_PACKET_HEADER = '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
_PACKET_TRAILER = '<?xpacket end="w"?>'
MAX_PACKET_BYTES = 4 << 20


class XmpError(FacestudioError, ValueError):
    """An XMP packet that cannot be read; the message is one sentence."""


def clean_text(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot hold (escaping cannot save those)."""
    return _ILLEGAL_XML.sub("", str(text))


def _text(value: str) -> str:
    return escape(clean_text(value))


def _simple(name: str, value: str) -> str:
    return f"   <{name}>{_text(value)}</{name}>\n"


def _alt(name: str, value: str) -> str:
    return (f"   <{name}>\n    <rdf:Alt>\n     <rdf:li xml:lang=\"x-default\">{_text(value)}</rdf:li>\n"
            f"    </rdf:Alt>\n   </{name}>\n")


def _seq(name: str, values: list[str]) -> str:
    items = "".join(f"     <rdf:li>{_text(v)}</rdf:li>\n" for v in values)
    return f"   <{name}>\n    <rdf:Seq>\n{items}    </rdf:Seq>\n   </{name}>\n"


def _resource(name: str, url: str) -> str:
    return f"   <{name} rdf:resource={quoteattr(clean_text(url))}/>\n"


def build_xmp(stamp: Stamp, recipe: dict[str, Any] | None = None,
              extra: dict[str, str] | None = None) -> bytes:
    """The XMP packet (UTF-8 bytes) for ``stamp`` and the recipe dict (``Recipe.to_dict()``).

    ``extra`` adds simple ``facestudio:`` properties (name -> text), e.g. for contact sheets.
    """
    ns = "".join(f"\n    xmlns:{p}={quoteattr(u)}" for p, u in NAMESPACES.items() if p not in ("x", "rdf"))
    body = [
        _simple("Iptc4xmpExt:DigitalSourceType", stamp.source_type),
        _alt("dc:description", stamp.description),
        _alt("dc:rights", stamp.terms),
        _alt("xmpRights:UsageTerms", stamp.terms),
        _simple("xmpRights:Marked", "True"),
        _simple("xmp:CreatorTool", stamp.creator_tool),
        _simple("xmp:CreateDate", stamp.created),
        _simple("xmp:MetadataDate", stamp.created),
        _simple("Iptc4xmpExt:AISystemUsed", f"{stamp.creator_tool}, model {stamp.model_line}"),
    ]
    if stamp.artist:
        body.append(_seq("dc:creator", [stamp.artist]))
    if stamp.attribution:
        body.append(_simple("cc:attributionName", stamp.attribution))
        body.append(_simple("photoshop:Credit", stamp.attribution))
    if stamp.license_url:
        body.append(_simple("xmpRights:WebStatement", stamp.license_url))
        body.append(_resource("cc:license", stamp.license_url))
    if stamp.license_name:
        body.append(_simple("facestudio:License", stamp.license_name))
    body.append(_simple("facestudio:Disclosure", stamp.disclosure))
    if stamp.model_name:
        body.append(_simple("facestudio:ModelName", stamp.model_name))
    if stamp.model_sha256:
        body.append(_simple("facestudio:ModelSHA256", stamp.model_sha256))
    if recipe is not None:
        body.append(_simple("facestudio:Recipe", json.dumps(recipe, sort_keys=True, separators=(",", ":"))))
    for key, value in (extra or {}).items():
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", key):
            raise ValueError(f"{key!r} is not a valid XMP property name")
        body.append(_simple(f"facestudio:{key}", value))
    packet = (f"{_PACKET_HEADER}\n<x:xmpmeta xmlns:x=\"adobe:ns:meta/\" x:xmptk={quoteattr(stamp.creator_tool)}>\n"
              f" <rdf:RDF xmlns:rdf=\"{NAMESPACES['rdf']}\">\n  <rdf:Description rdf:about=\"\"{ns}>\n"
              f"{''.join(body)}  </rdf:Description>\n </rdf:RDF>\n</x:xmpmeta>\n{_PACKET_TRAILER}")
    return packet.encode("utf-8")


# --- reading ---------------------------------------------------------------------------

def _qualified(tag: str) -> str:
    """``{uri}Name`` -> ``prefix:Name`` for the namespaces we know, else the URI form."""
    if tag.startswith("{"):
        uri, _, local = tag[1:].partition("}")
        for prefix, known in NAMESPACES.items():
            if known == uri:
                return f"{prefix}:{local}"
    return tag


def _value(element: ET.Element) -> str:
    """A property's value: simple text, the first x-default/any item of an Alt, all items of a
    Seq/Bag joined with "; ", or an rdf:resource URL."""
    rdf = "{%s}" % NAMESPACES["rdf"]
    resource = element.get(rdf + "resource")
    if resource is not None:
        return resource
    for container in ("Alt", "Seq", "Bag"):
        holder = element.find(rdf + container)
        if holder is not None:
            items = holder.findall(rdf + "li")
            if container == "Alt":
                preferred = [li for li in items if li.get(XML_LANG) == "x-default"] or items
                return (preferred[0].text or "") if preferred else ""
            return "; ".join((li.text or "") for li in items)
    return element.text or ""


def parse_xmp(packet: bytes | str) -> dict[str, str]:
    """The properties of an XMP packet as ``{"prefix:Name": text}`` (known prefixes), both
    element and attribute forms. Raises :class:`XmpError` for a packet that is not XML or
    that declares a DTD / entities."""
    if isinstance(packet, bytes):
        packet = packet.decode("utf-8", errors="replace")
    if len(packet) > MAX_PACKET_BYTES:
        raise XmpError("the XMP packet is implausibly large")
    if "<!DOCTYPE" in packet or "<!ENTITY" in packet:
        raise XmpError("the XMP packet declares a DTD or entities, which facestudio does not read")
    start = packet.find("<x:xmpmeta")
    if start < 0:
        start = packet.find("<rdf:RDF")
    end_marker = "</x:xmpmeta>" if packet.find("</x:xmpmeta>") >= 0 else "</rdf:RDF>"
    end = packet.find(end_marker)
    if start < 0 or end < 0:
        raise XmpError("the XMP packet has no RDF content")
    try:
        root = ET.fromstring(packet[start:end + len(end_marker)])
    except ET.ParseError as exc:
        raise XmpError(f"the XMP packet is not well-formed XML ({exc})") from None
    props: dict[str, str] = {}
    for desc in root.iter("{%s}Description" % NAMESPACES["rdf"]):
        for attr, value in desc.attrib.items():
            name = _qualified(attr)
            if not name.startswith(("rdf:", "{")):
                props.setdefault(name, value)
        for child in desc:
            props.setdefault(_qualified(child.tag), _value(child))
    return props
