"""Downloads against a local server: good, interrupted and resumed, Range ignored, wrong
checksum, cancel and resume, and refusals in one sentence."""

import hashlib
import os
import threading

import pytest

from facestudio.models.download import (
    CHUNK,
    ChecksumError,
    DownloadCancelled,
    DownloadError,
    download,
    part_path,
)

DATA = os.urandom(5 * CHUNK + 1234)  # several chunks, the last one short
SHA = hashlib.sha256(DATA).hexdigest()


@pytest.fixture
def served(server):
    server.files["/model.pkl"] = DATA
    return server


def test_good_download_is_verified_and_reports_progress(served, tmp_path):
    dest = tmp_path / "models" / "model.pkl"
    seen = []
    result = download(served.url("/model.pkl"), dest, sha256=SHA, size=len(DATA),
                      progress=lambda done, total: seen.append((done, total)))
    assert dest.read_bytes() == DATA
    assert result.verified and result.sha256 == SHA and result.size == len(DATA)
    assert not part_path(dest).exists()
    assert seen[0] == (0, len(DATA)) and seen[-1] == (len(DATA), len(DATA))
    assert all(a[0] <= b[0] for a, b in zip(seen, seen[1:]))
    assert served.requests == [("/model.pkl", None)]


def test_without_a_known_checksum_the_file_is_kept_but_unverified(served, tmp_path):
    result = download(served.url("/model.pkl"), tmp_path / "m.pkl")
    assert not result.verified and result.sha256 == SHA
    assert (tmp_path / "m.pkl").read_bytes() == DATA


def test_a_dropped_connection_resumes_with_a_range_request(served, tmp_path):
    served.drop_after = 2 * CHUNK + 100
    dest = tmp_path / "m.pkl"
    result = download(served.url("/model.pkl"), dest, sha256=SHA, size=len(DATA))
    assert result.verified and dest.read_bytes() == DATA
    assert served.requests == [("/model.pkl", None), ("/model.pkl", f"bytes={2 * CHUNK + 100}-")]


def test_an_interrupted_download_keeps_its_part_and_resumes_later(served, tmp_path):
    served.drop_after = 3 * CHUNK
    dest = tmp_path / "m.pkl"
    with pytest.raises(DownloadError, match="interrupted.*resumes") as info:
        download(served.url("/model.pkl"), dest, sha256=SHA, retries=0)
    assert "\n" not in str(info.value)
    assert part_path(dest).read_bytes() == DATA[:3 * CHUNK] and not dest.exists()
    result = download(served.url("/model.pkl"), dest, sha256=SHA, retries=0)
    assert result.verified and dest.read_bytes() == DATA
    assert served.requests[-1] == ("/model.pkl", f"bytes={3 * CHUNK}-")


def test_a_server_that_ignores_range_restarts_from_zero(served, tmp_path):
    served.ignore_range = True
    dest = tmp_path / "m.pkl"
    part_path(dest).write_bytes(b"x" * 1000)  # a stale prefix that must not survive
    result = download(served.url("/model.pkl"), dest, sha256=SHA, size=len(DATA))
    assert result.verified and dest.read_bytes() == DATA
    assert served.requests == [("/model.pkl", "bytes=1000-")]


def test_a_complete_part_is_only_verified(served, tmp_path):
    dest = tmp_path / "m.pkl"
    part_path(dest).write_bytes(DATA)
    assert download(served.url("/model.pkl"), dest, sha256=SHA, size=len(DATA)).verified
    assert served.requests == []  # nothing left to fetch
    part_path(dest).write_bytes(DATA)  # size unknown: the server answers 416, the hash decides
    dest.unlink()
    assert download(served.url("/model.pkl"), dest, sha256=SHA).verified
    assert served.requests == [("/model.pkl", f"bytes={len(DATA)}-")]


def test_wrong_checksum_is_refused_and_the_file_deleted(served, tmp_path):
    dest = tmp_path / "m.pkl"
    wrong = hashlib.sha256(b"another file").hexdigest()
    with pytest.raises(ChecksumError, match="does not match its published sha256.*deleted"):
        download(served.url("/model.pkl"), dest, sha256=wrong, size=len(DATA))
    assert not dest.exists() and not part_path(dest).exists()
    assert list(tmp_path.iterdir()) == []


def test_a_file_of_another_size_is_refused_before_it_is_fetched(served, tmp_path):
    dest = tmp_path / "m.pkl"
    with pytest.raises(DownloadError, match="catalog expects"):
        download(served.url("/model.pkl"), dest, sha256=SHA, size=len(DATA) + 1)
    assert not dest.exists() and not part_path(dest).exists()


def test_cancel_keeps_a_resumable_part(served, tmp_path):
    dest = tmp_path / "m.pkl"
    cancel = threading.Event()

    def progress(done, total):
        if done >= 2 * CHUNK:
            cancel.set()

    with pytest.raises(DownloadCancelled, match="cancelled"):
        download(served.url("/model.pkl"), dest, sha256=SHA, progress=progress, cancel=cancel)
    kept = part_path(dest).stat().st_size
    assert 0 < kept < len(DATA) and not dest.exists()
    assert part_path(dest).read_bytes() == DATA[:kept]
    assert download(served.url("/model.pkl"), dest, sha256=SHA).verified
    assert served.requests[-1] == ("/model.pkl", f"bytes={kept}-")


def test_http_errors_and_bad_addresses_are_one_sentence(served, tmp_path):
    with pytest.raises(DownloadError, match="404"):
        download(served.url("/missing.pkl"), tmp_path / "m.pkl")
    with pytest.raises(DownloadError, match="only http and https"):
        download("file:///etc/passwd", tmp_path / "m.pkl")
    port = served.server_address[1]
    served.shutdown()
    served.server_close()
    with pytest.raises(DownloadError, match="interrupted"):
        download(f"http://127.0.0.1:{port}/model.pkl", tmp_path / "m.pkl", retries=0, timeout=2)
    assert not (tmp_path / "m.pkl").exists()
