"""Assertions shared by the test packages."""

from __future__ import annotations


def assert_one_sentence(err: BaseException | str, *expected: str | type, full_stop: bool = True) -> str:
    """``err`` reads as one clear sentence; returns it.

    An exception: its message is one non-empty line without a traceback, ending in a full
    stop unless ``full_stop`` is False; a type in ``expected`` means the exception must be
    one of those types. A string: a command's stderr, exactly one non-empty line,
    ``facestudio: ...``. Every other string in ``expected`` must occur in the sentence.
    """
    types = tuple(e for e in expected if isinstance(e, type))
    if isinstance(err, str):
        lines = [line for line in err.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("facestudio: "), err
        message = lines[0]
    else:
        assert not types or isinstance(err, types), f"{type(err).__name__} escaped: {err}"
        message = str(err)
        assert message.strip() and "\n" not in message and "\r" not in message, f"not one line: {message!r}"
        assert not full_stop or message.rstrip().endswith("."), f"no full stop: {message!r}"
    assert "Traceback" not in message, message
    for fragment in expected:
        if isinstance(fragment, str):
            assert fragment in message, message
    return message


def change_bundle_manifest(path, entry: dict | None = None, top: dict | None = None):
    """Rewrite a direction bundle written by facestudio with ``entry`` fields changed in its
    first direction and ``top`` fields in the manifest itself, bypassing the writer's checks."""
    import json

    import numpy as np
    with np.load(path) as npz:
        arrays = dict(npz)
    doc = json.loads(str(arrays["manifest"]))
    doc["directions"][0].update(entry or {})
    doc.update(top or {})
    arrays["manifest"] = np.array(json.dumps(doc))
    np.savez(path, **arrays)
    return path


def as_exported(image, model_sha256: str):
    """The pixels ``export_image`` writes for ``image`` (uint8 ``[H, W, 3]``) made with the model
    ``model_sha256``: with the invisible watermark, upscaled first when too small to carry it."""
    import numpy as np

    from facestudio.provenance.export import ExportOptions, final_pixels
    return np.asarray(final_pixels(image, ExportOptions(), model_sha256))


def run(capsys, *argv):
    """``facestudio ARGV`` in this process: (exit code, stdout, stderr)."""
    from facestudio.commands.main import main
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def heavy_imports_of(module: str) -> list[str]:
    """The Qt and torch modules that importing ``module`` pulls in, in a fresh interpreter
    (an empty list for the Qt-free, torch-free parts of facestudio)."""
    import json
    import subprocess
    import sys
    code = (f"import json, sys, {module}; "
            "print(json.dumps(sorted(m for m in sys.modules if m.startswith(('PySide6', 'PyQt', 'torch')))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)
