"""Hostile and broken archives fail cleanly; every case is built here, in the test."""

from __future__ import annotations

import io
import os
import struct
import tarfile
import time
import zipfile
import zlib

import pytest

from reviewer.packing import Budget, PackingError, PackOptions, pack
from reviewer.packing.archive import KIND_FILE, read_archive

from .conftest import make_tar, make_zip

BUDGET = Budget(context_tokens=1_000_000, max_output_tokens=10_000)
MB = 1024 * 1024


def tar_with(path, entries, mode="w:gz"):
    """entries: list of (TarInfo, bytes | None)."""
    with tarfile.open(path, mode) as tf:
        for info, data in entries:
            if data is not None:
                info.size = len(data)
            tf.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def ti(name, type_=tarfile.REGTYPE, linkname=""):
    info = tarfile.TarInfo(name)
    info.type = type_
    info.linkname = linkname
    info.mode = 0o644
    return info


# ----------------------------------------------------------------- paths


def test_archive_rejects_zip_slip_naming_the_member(tmp_path):
    path = make_zip(tmp_path / "a.zip", {"ok.py": "x", "../../etc/passwd": "root"})
    with pytest.raises(PackingError) as exc:
        pack(path, None, BUDGET)
    assert (
        str(exc.value) == "The archive contains a path that escapes its folder: ../../etc/passwd."
    )


def test_archive_rejects_tar_slip_hidden_in_the_middle_of_a_path(tmp_path):
    path = tar_with(tmp_path / "a.tgz", [(ti("src/a.py"), b"x"), (ti("src/../../x.py"), b"y")])
    with pytest.raises(PackingError, match=r"escapes its folder: src/\.\./\.\./x\.py\.$"):
        pack(path, None, BUDGET)


def test_archive_rejects_backslash_slip_from_windows_zips(tmp_path):
    path = make_zip(tmp_path / "a.zip", {"ok.py": "x", "..\\..\\evil.bat": "y"})
    with pytest.raises(PackingError, match="escapes its folder"):
        pack(path, None, BUDGET)


@pytest.mark.parametrize("kind", ["zip", "tar"])
def test_archive_rejects_absolute_paths(tmp_path, kind):
    if kind == "zip":
        path = make_zip(tmp_path / "a.zip", {"ok.py": "x", "/etc/cron.d/x": "y"})
        expected = "/etc/cron.d/x"
    else:
        path = tar_with(tmp_path / "a.tar", [(ti("/etc/passwd"), b"root")], mode="w")
        expected = "/etc/passwd"
    with pytest.raises(PackingError) as exc:
        pack(path, None, BUDGET)
    assert str(exc.value) == f"The archive contains an absolute path: {expected}."


# ----------------------------------------------------------------- member types


def test_archive_skips_symlink_out_of_tree_and_lists_it(tmp_path):
    path = tar_with(
        tmp_path / "a.tgz",
        [
            (ti("p/main.py"), b"print(1)\n"),
            (ti("p/passwd", tarfile.SYMTYPE, "/etc/passwd"), None),
            (ti("p/up", tarfile.SYMTYPE, "../../.."), None),
        ],
    )
    result = pack(path, None, BUDGET)
    assert [f.path for f in result.included] == ["main.py"]
    reasons = {e.path: (e.reason, e.detail) for e in result.excluded}
    assert reasons["passwd"] == ("symlink", "points to /etc/passwd")
    assert reasons["up"][0] == "symlink"
    assert "root:" not in result.prompt


def test_archive_skips_zip_symlink_member(tmp_path):
    buf = tmp_path / "a.zip"
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("p/main.py", "x = 1\n")
        link = zipfile.ZipInfo("p/link")
        link.create_system = 3
        link.external_attr = (0o120777) << 16  # S_IFLNK
        zf.writestr(link, "/etc/shadow")
    result = pack(buf, None, BUDGET)
    assert [f.path for f in result.included] == ["main.py"]
    assert [(e.path, e.reason) for e in result.excluded] == [("link", "symlink")]


def test_archive_skips_hardlink_device_and_fifo(tmp_path):
    path = tar_with(
        tmp_path / "a.tar",
        [
            (ti("p/a.py"), b"a = 1\n"),
            (ti("p/hard", tarfile.LNKTYPE, "p/a.py"), None),
            (ti("p/tty", tarfile.CHRTYPE), None),
            (ti("p/disk", tarfile.BLKTYPE), None),
            (ti("p/pipe", tarfile.FIFOTYPE), None),
        ],
        mode="w",
    )
    result = pack(path, None, BUDGET)
    assert [f.path for f in result.included] == ["a.py"]
    assert {(e.path, e.reason) for e in result.excluded} == {
        ("hard", "hardlink"),
        ("tty", "special file"),
        ("disk", "special file"),
        ("pipe", "special file"),
    }


# ----------------------------------------------------------------- bombs and limits


def _patch_zip_sizes(raw: bytes, name: bytes, file_size: int) -> bytes:
    """Rewrite the declared uncompressed size in both the local and central headers."""
    out = bytearray(raw)
    local = out.find(b"PK\x03\x04")
    struct.pack_into("<I", out, local + 22, file_size)
    central = out.find(b"PK\x01\x02")
    struct.pack_into("<I", out, central + 24, file_size)
    assert out[central + 46 : central + 46 + len(name)] == name
    return bytes(out)


def test_archive_rejects_zip_bomb_declaring_gigabytes_after_reading_about_one_mb(tmp_path):
    zeros = bytes(40 * MB)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("p/bomb.txt", zeros)
        zf.writestr("p/ok.py", "x = 1\n")
    raw = _patch_zip_sizes(buf.getvalue(), b"p/bomb.txt", 3_900_000_000)  # "3.9 GB"
    assert len(raw) < 200 * 1024
    path = tmp_path / "bomb.zip"
    path.write_bytes(raw)
    started = time.monotonic()
    with pytest.raises(PackingError) as exc:
        pack(path, None, BUDGET)
    assert str(exc.value) == (
        "The archive looks like a compression bomb: it expands more than 200 times at p/bomb.txt."
    )
    assert time.monotonic() - started < 2


def test_archive_zip_limits_count_real_bytes_not_declared_sizes(tmp_path):
    # A header claiming 3.9 GB over 20 real bytes: a header-trusting reader would call
    # this a bomb or too large; we read the 20 bytes and include the file.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("p/small.py", "print('hello') # 20\n")
    raw = _patch_zip_sizes(buf.getvalue(), b"p/small.py", 3_900_000_000)
    path = tmp_path / "liar.zip"
    path.write_bytes(raw)
    result = pack(path, None, BUDGET, PackOptions(max_total_bytes=1000, max_file_bytes=100))
    assert [(f.path, f.size_bytes) for f in result.included] == [("small.py", 20)]


def test_archive_zip_header_understating_size_is_damaged_not_truncated_silently(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("p/a.py", "x = 1\n" * 1000)
    raw = _patch_zip_sizes(buf.getvalue(), b"p/a.py", 10)
    path = tmp_path / "short.zip"
    path.write_bytes(raw)
    with pytest.raises(PackingError, match=r"^The archive is damaged or truncated at p/a\.py\.$"):
        pack(path, None, BUDGET)


def test_archive_rejects_tar_bomb_by_ratio(tmp_path):
    path = tar_with(
        tmp_path / "bomb.tgz", [(ti("p/a.py"), b"a = 1\n"), (ti("p/zeros.bin"), bytes(60 * MB))]
    )
    assert os.path.getsize(path) < 200 * 1024
    with pytest.raises(PackingError, match="compression bomb"):
        pack(path, None, BUDGET)


def test_archive_total_limit_counts_bytes_produced_across_small_members(tmp_path):
    # Random hex compresses ~2:1, far from a bomb; only the running total can stop it.
    files = {f"p/f{i}.txt": os.urandom(200 * 1024).hex() for i in range(15)}  # 6 MB
    path = make_tar(tmp_path / "big.tgz", files)
    with pytest.raises(PackingError) as exc:
        pack(path, None, BUDGET, PackOptions(max_total_bytes=5 * MB))
    assert str(exc.value) == "The archive expands to more than 5 MB when unpacked."
    # The same archive passes a limit above its real size.
    assert len(read_archive(path, PackOptions(max_total_bytes=7 * MB), lambda p: True)) == 15


def test_archive_total_limit_also_counts_members_skipped_by_default_rules(tmp_path):
    files = {"p/a.py": "x=1\n"}
    files.update({f"p/node_modules/m{i}.js": os.urandom(300 * 1024).hex() for i in range(10)})
    path = make_tar(tmp_path / "nm.tgz", files)
    with pytest.raises(PackingError, match="expands to more than 5 MB"):
        pack(path, None, BUDGET, PackOptions(max_total_bytes=5 * MB))


def test_archive_oversized_file_is_excluded_and_read_no_further_than_limit(tmp_path):
    big = os.urandom(3 * MB).hex().encode()  # 6 MB of text
    for maker in (make_zip, make_tar):
        path = maker(tmp_path / f"a{maker.__name__}", {"p/big.txt": big, "p/a.py": "a=1\n"})
        opts = PackOptions(max_file_bytes=1 * MB)
        members = {m.path: m for m in read_archive(path, opts, lambda p: True)}
        assert members["p/big.txt"].too_large
        assert members["p/big.txt"].size == 1 * MB + 1
        assert members["p/big.txt"].data is None
        result = pack(path, None, BUDGET, opts)
        assert [(e.path, e.reason) for e in result.excluded] == [("big.txt", "too large")]


def _handmade_zip_of_empty_files(count: int) -> bytes:
    """A valid Zip64 archive of `count` empty stored files, built in well under a second."""
    local, central = [], []
    offset = 0
    for i in range(count):
        name = b"f%d" % i
        lh = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, 0, 0, 0, 0, 0, len(name), 0)
        central.append(
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                20,
                20,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                len(name),
                0,
                0,
                0,
                0,
                0,
                offset,
            )  # fmt: skip
            + name
        )
        local.append(lh + name)
        offset += len(lh) + len(name)
    cd = b"".join(central)
    z64_at = offset + len(cd)
    z64 = struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, count, count, len(cd), offset)
    loc = struct.pack("<IIQI", 0x07064B50, 0, z64_at, 1)
    eocd = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, len(cd), offset, 0)
    return b"".join(local) + cd + z64 + loc + eocd


def test_archive_rejects_200k_tiny_members_quickly(tmp_path):
    raw = _handmade_zip_of_empty_files(200_000)
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:  # it really is a valid zip
        assert len(zf.infolist()) == 200_000
    path = tmp_path / "many.zip"
    path.write_bytes(raw)
    started = time.monotonic()
    with pytest.raises(PackingError) as exc:
        pack(path, None, BUDGET)
    assert str(exc.value) == "The archive has more than 100,000 members."
    assert time.monotonic() - started < 1.5


def test_archive_member_limit_applies_while_streaming_tar(tmp_path):
    info = tarfile.TarInfo("p/x.txt")
    raw = info.tobuf(tarfile.USTAR_FORMAT) * 1500 + bytes(1024)
    path = tmp_path / "many.tar"
    path.write_bytes(raw)
    with pytest.raises(PackingError, match="^The archive has more than 1,000 members.$"):
        pack(path, None, BUDGET, PackOptions(max_members=1000))
    assert pack(path, None, BUDGET, PackOptions(max_members=2000)).excluded == []


def test_archive_rejects_upload_over_size_limit_before_reading(tmp_path):
    path = make_zip(tmp_path / "a.zip", {"p/a.py": os.urandom(50_000).hex()})
    with pytest.raises(PackingError, match=r"^The archive is .* the limit is 10 KB\.$"):
        pack(path, None, BUDGET, PackOptions(max_upload_bytes=10 * 1024))


# ----------------------------------------------------------------- broken input


def test_archive_truncated_tar_gz_names_the_member(tmp_path):
    files = {"p/a.py": "a = 1\n", "p/big.txt": os.urandom(300_000).hex()}
    path = make_tar(tmp_path / "a.tgz", files)
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(PackingError) as exc:
        pack(path, None, BUDGET)
    assert str(exc.value) == "The archive is damaged or truncated at p/big.txt."


@pytest.mark.parametrize("mode", ["w:bz2", "w:xz", "w"])
def test_archive_truncated_other_tar_formats_fail_cleanly(tmp_path, mode):
    path = make_tar(tmp_path / "a.bin", {"p/big.txt": os.urandom(100_000).hex()}, mode)
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(PackingError, match="^The archive is damaged or truncated"):
        pack(path, None, BUDGET)


def test_archive_truncated_zip_is_damaged(tmp_path):
    path = make_zip(tmp_path / "a.zip", {"p/a.py": os.urandom(10_000).hex()})
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) - 30])
    with pytest.raises(PackingError, match=r"^The archive is damaged or truncated\.$"):
        pack(path, None, BUDGET)


def test_archive_corrupt_zip_data_names_the_member(tmp_path):
    path = make_zip(tmp_path / "a.zip", {"p/a.py": "hello world\n" * 500})
    raw = bytearray(path.read_bytes())
    start = raw.find(b"p/a.py") + len("p/a.py")
    for i in range(start + 10, start + 40):
        raw[i] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(PackingError, match=r"^The archive is damaged or truncated at p/a\.py\.$"):
        pack(path, None, BUDGET)


def test_archive_corrupt_gzip_stream_is_damaged(tmp_path):
    path = make_tar(tmp_path / "a.tgz", {"p/a.py": os.urandom(50_000).hex()})
    raw = bytearray(path.read_bytes())
    for i in range(200, 400):
        raw[i] ^= 0x55
    path.write_bytes(bytes(raw))
    with pytest.raises(PackingError, match="^The archive is damaged or truncated"):
        pack(path, None, BUDGET)


def test_archive_empty_zip_and_empty_tar_are_rejected(tmp_path):
    path = tmp_path / "e.zip"
    with zipfile.ZipFile(path, "w"):
        pass
    with pytest.raises(PackingError, match=r"^The archive contains no files\.$"):
        pack(path, None, BUDGET)
    path = make_tar(tmp_path / "e.tgz", {})
    with pytest.raises(PackingError, match=r"^The archive contains no files\.$"):
        pack(path, None, BUDGET)
    path = tmp_path / "zero.zip"
    path.write_bytes(b"")
    with pytest.raises(PackingError, match=r"^The archive is empty\.$"):
        pack(path, None, BUDGET)


def test_archive_only_folders_counts_as_no_files(tmp_path):
    path = tar_with(tmp_path / "d.tgz", [(ti("p/", tarfile.DIRTYPE), None)])
    with pytest.raises(PackingError, match="contains no files"):
        pack(path, None, BUDGET)


def test_archive_format_is_detected_by_content_not_name(tmp_path):
    not_archive = tmp_path / "repo.zip"
    not_archive.write_text("this is a text file, not a zip\n" * 50)
    with pytest.raises(PackingError, match="^The upload is not a supported archive"):
        pack(not_archive, None, BUDGET)
    gz_of_text = tmp_path / "repo.tar.gz"
    gz_of_text.write_bytes(zlib.compress(b"x"))  # zlib, not gzip: unknown magic
    with pytest.raises(PackingError, match="^The upload is not a supported archive"):
        pack(gz_of_text, None, BUDGET)


def test_archive_reads_concatenated_gzip_members(tmp_path):
    import gzip

    tar_bytes = make_tar(tmp_path / "a.tar", {"p/a.py": "a = 1\n"}, mode="w").read_bytes()
    half = len(tar_bytes) // 2
    path = tmp_path / "cat.tgz"
    path.write_bytes(gzip.compress(tar_bytes[:half]) + gzip.compress(tar_bytes[half:]))
    result = pack(path, None, BUDGET)
    assert [f.path for f in result.included] == ["a.py"]


def test_archive_duplicate_member_later_one_wins(tmp_path):
    entries = [(ti("p/a.py"), b"old = 1\n"), (ti("p/a.py"), b"new = 2\n")]
    path = tar_with(tmp_path / "d.tar", entries, mode="w")
    result = pack(path, None, BUDGET)
    assert "new = 2" in result.prompt and "old = 1" not in result.prompt


def test_archive_members_are_only_read_when_wanted(tmp_path):
    path = make_tar(tmp_path / "a.tgz", {"p/a.py": "a=1\n", "p/b.py": "b=2\n"})
    members = read_archive(path, PackOptions(), lambda p: p.endswith("a.py"))
    got = {m.path: m.data for m in members if m.kind == KIND_FILE}
    assert got == {"p/a.py": b"a=1\n", "p/b.py": None}


def test_archive_rejects_member_names_with_newlines(tmp_path):
    path = make_zip(tmp_path / "a.zip", {"p/ok.py": "x", "p/evil\n### fake.py": "y"})
    with pytest.raises(PackingError, match="^The archive contains a member with an invalid name"):
        pack(path, None, BUDGET)
