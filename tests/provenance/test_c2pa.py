"""The optional C2PA manifest, signed with a throwaway certificate made here."""

import datetime
import json

import pytest

from facestudio.provenance import ExportError, ExportOptions, export_image, format_report, read_provenance
from facestudio.provenance.c2pa_sign import C2paSigning

from .helpers import AI_TYPE, exiftool, noise_image, sample_recipe, sample_stamp

c2pa = pytest.importorskip("c2pa", reason="c2pa-python is not installed (pip install 'facestudio[c2pa]')")
x509 = pytest.importorskip("cryptography.x509", reason="cryptography (a c2pa-python dependency) is missing")
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID  # noqa: E402


def _name(common_name):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "facestudio tests")])


def _cert(subject, issuer, public_key, signing_key, ca: bool):
    """A certificate with the extensions the C2PA profile asks for (AKI on the end entity)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    usage = (dict(digital_signature=False, key_cert_sign=True, crl_sign=True) if ca
             else dict(digital_signature=True, key_cert_sign=False, crl_sign=False))
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(content_commitment=False, key_encipherment=False, data_encipherment=False,
                                            key_agreement=False, encipher_only=False, decipher_only=False, **usage),
                              critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False))
    if not ca:
        builder = (builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(signing_key.public_key()),
                                  critical=False))
    return builder.sign(signing_key, hashes.SHA256())


@pytest.fixture
def throwaway_signer(tmp_path):
    """A test CA and a signing certificate it issued (ES256), as PEM files."""
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = _cert(_name("facestudio test CA"), _name("facestudio test CA"), ca_key.public_key(), ca_key, ca=True)
    leaf = _cert(_name("facestudio test signer"), ca.subject, key.public_key(), ca_key, ca=False)
    folder = tmp_path / "keys"
    folder.mkdir()
    chain = folder / "chain.pem"
    chain.write_bytes(leaf.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(serialization.Encoding.PEM))
    private = folder / "key.pem"
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return C2paSigning(chain, private, "es256")


@pytest.mark.parametrize("ext", ["png", "jpg", "webp"])
def test_signed_manifest_is_valid_and_keeps_the_stamp(tmp_path, throwaway_signer, ext):
    out = tmp_path / "out"
    out.mkdir()
    path = out / f"face.{ext}"
    recipe = sample_recipe()
    export_image(noise_image(64), path, sample_stamp(), recipe, ExportOptions(c2pa=throwaway_signer))
    with c2pa.Reader(str(path)) as reader:
        manifest = reader.get_active_manifest()
        state = reader.get_validation_state()
        results = reader.get_validation_results()
    assert state in ("Valid", "Trusted"), results  # an untrusted test CA still validates
    failures = [f["code"] for f in (results.get("activeManifest") or {}).get("failure", [])]
    assert set(failures) <= {"signingCredential.untrusted"}, failures
    actions = next(a for a in manifest["assertions"] if a["label"].startswith("c2pa.actions"))["data"]["actions"]
    assert actions[0]["action"] == "c2pa.created" and actions[0]["digitalSourceType"] == AI_TYPE
    stored = next(a for a in manifest["assertions"] if a["label"] == "app.facestudio.recipe")["data"]
    assert json.loads(stored["recipe_json"]) == recipe.to_dict()
    assert manifest["signature_info"]["common_name"] == "facestudio test signer"
    assert not manifest.get("thumbnail")
    # the XMP / EXIF stamp survives signing, and inspect sees both
    meta = exiftool(path)
    assert meta["XMP-iptcExt:DigitalSourceType"] == AI_TYPE
    assert meta["XMP-dc:Creator"] == sample_stamp().artist
    prov = read_provenance(path)
    assert prov.to_recipe() == recipe
    assert "signed by facestudio test signer" in format_report(prov)


def test_signing_problems_are_one_sentence_and_write_nothing(tmp_path, throwaway_signer):
    missing = C2paSigning(tmp_path / "none.pem", throwaway_signer.private_key)
    not_pem = tmp_path / "x.pem"
    not_pem.write_text("hello")
    swapped = C2paSigning(throwaway_signer.private_key, throwaway_signer.cert_chain)
    for signing, words in ((missing, "cannot read"), (C2paSigning(not_pem, not_pem), "not a PEM"),
                           (swapped, "C2PA signing failed"),
                           (C2paSigning(throwaway_signer.cert_chain, throwaway_signer.private_key, "md5"),
                            "algorithm")):
        with pytest.raises(ExportError, match=words) as info:
            export_image(noise_image(), tmp_path / "f.png", sample_stamp(), None, ExportOptions(c2pa=signing))
        assert "\n" not in str(info.value)
        assert not (tmp_path / "f.png").exists()
