"""``cp --resume``: a killed copy of a store is taken up, never trusted unread.

A real ``cp`` process is killed (SIGKILL) half-way through a store; then one file it had
copied is damaged and a stray file put beside them. ``cp --resume`` keeps what equals the
source, copies the damaged file and the rest again, drops the stray, and the result is the
source byte for byte.
"""

from __future__ import annotations

import os
import re

from polystore_gui.model import transfer_journal as journal

from .test_transfer_safety import _kill_mid_copy, _partials, _store, cli


def _files(root):
    found = {}
    for folder, _dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            with open(path, "rb") as fh:
                found[os.path.relpath(path, root)] = fh.read()
    return found


def test_a_killed_copy_of_a_store_is_resumed_and_verified(tmp_path):
    src = _store(tmp_path / "big.zarr", mib=40)
    dst = tmp_path / "dst"
    dst.mkdir()

    def some_chunks_copied(folder):  # the folders are all made first, then the files copied
        for name in _partials(folder):
            chunks = os.path.join(folder, name, "c")
            if os.path.isdir(chunks) and sum(os.path.exists(os.path.join(chunks, n, "0", "0"))
                                             for n in os.listdir(chunks)) > 6:
                return name
        return None

    partial = _kill_mid_copy(["cp", str(src), str(dst)], str(dst), some_chunks_copied)
    assert partial, "the copy was never caught mid-way"
    chunks = dst / partial / "c"
    whole = [n for n in sorted(os.listdir(chunks), key=int)
             if (chunks / n / "0" / "0").is_file() and
             (chunks / n / "0" / "0").stat().st_size == (src / "c" / n / "0" / "0").stat().st_size]
    assert len(whole) >= 2, whole
    damaged = chunks / whole[0] / "0" / "0"
    data = bytearray(damaged.read_bytes())
    data[100] ^= 0xFF
    damaged.write_bytes(bytes(data))
    (dst / partial / "stray.bin").write_bytes(b"not in the source")

    out = cli("cp", "--resume", str(src), str(dst), timeout=300)
    assert out.returncode == 0, out.stderr
    assert "resuming the interrupted copy of disk:" in out.stderr, out.stderr
    kept = re.search(r"resumed an interrupted copy: (\d+) of (\d+) files were already there", out.stdout)
    assert kept, out.stdout
    assert 1 <= int(kept.group(1)) < int(kept.group(2)) == len(_files(src)), out.stdout
    assert _files(dst / "big.zarr") == _files(src)  # the damaged chunk was copied again, the stray dropped
    assert _partials(dst) == [] and sorted(os.listdir(dst)) == ["big.zarr"]
    assert not [r for r in journal.orphans() if r.destination.endswith(str(dst / "big.zarr"))]


def test_without_resume_an_interrupted_copy_is_removed_and_made_again(tmp_path):
    src = _store(tmp_path / "big.zarr", mib=40)
    dst = tmp_path / "dst"
    dst.mkdir()

    def started(folder):
        return next((n for n in _partials(folder) if os.path.isdir(os.path.join(folder, n, "c"))), None)

    assert _kill_mid_copy(["cp", str(src), str(dst)], str(dst), started), "the copy was never caught mid-way"
    out = cli("cp", str(src), str(dst), timeout=300)
    assert out.returncode == 0, out.stderr
    assert "unfinished copy is removed" in out.stderr and "resumed" not in out.stdout
    assert _files(dst / "big.zarr") == _files(src) and _partials(dst) == []
