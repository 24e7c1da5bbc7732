"""core.parts: a long benchmark's results saved one part at a time, read back only under the same key."""

from __future__ import annotations

import pytest

from vae_demo.core.parts import file_sha256, load_part, save_part


def test_a_part_is_read_back_under_its_key_and_refused_under_another(tmp_path):
    key = {"weights_sha256": "abc", "k": 1000}
    assert load_part(tmp_path, "chunk_00000", key) is None, "nothing saved yet"
    save_part(tmp_path / "parts", "chunk_00000", key, {"nll_nats": 80.5})
    assert [p.name for p in (tmp_path / "parts").iterdir()] == ["chunk_00000.json"], "no temporary file left"
    assert load_part(tmp_path / "parts", "chunk_00000", dict(key)) == {"nll_nats": 80.5}
    with pytest.raises(SystemExit, match="other settings, weights or inputs"):
        load_part(tmp_path / "parts", "chunk_00000", {**key, "k": 10})


def test_without_a_folder_nothing_is_saved_or_read(tmp_path):
    save_part(None, "x", {}, {"a": 1})
    assert load_part(None, "x", {}) is None


def test_file_sha256_changes_with_the_bytes(tmp_path):
    a, b = tmp_path / "a.bin", tmp_path / "b.bin"
    a.write_bytes(b"weights")
    b.write_bytes(b"weights!")
    assert file_sha256(a) != file_sha256(b) and len(file_sha256(a)) == 64
