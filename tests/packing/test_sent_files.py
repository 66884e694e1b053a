"""The redacted copy of what was sent: one zip member per included file holding exactly
the text the model saw, readable one file at a time."""

from __future__ import annotations

import io
import zipfile

import pytest

from reviewer.packing import Budget, pack, read_sent_file, read_source, write_sent_files

from .conftest import make_tar, make_zip
from .test_secrets import AWS, PRIVATE_KEY

FILES = {
    "shop/app/main.py": "def main():\n    return 42\n",
    "shop/app/no_newline.py": "X = 1\nY = 2",
    "shop/app/blank_lines.py": "\n\nA = 1\n\n\n",
    "shop/app/empty.py": "",
    "shop/app/only_newline.py": "\n",
    "shop/app/looks_numbered.py": "1| not a number\n(empty file)\n12| x | y |\n",
    "shop/app/windows.py": "A = 1\r\nB = 'ünïcödé ✓ 🚀'\r\n",
    "shop/app/fence.md": "```\n# heading\n```\n",
    "shop/config/settings.py": f'AWS_ACCESS_KEY_ID = "{AWS}"\nDEBUG = False\n',
    "shop/config/key.pem": PRIVATE_KEY + "\n",
    "shop/node_modules/lib/index.js": "module.exports = 1\n",
    "shop/logo.png": b"\x89PNG\r\n\x1a\n" + bytes(100),
}


def _sent_zip(packed) -> bytes:
    buf = io.BytesIO()
    write_sent_files(packed, buf)
    return buf.getvalue()


def test_each_included_file_round_trips_as_the_redacted_text_the_model_saw(tmp_path, big_budget):
    archive = make_tar(tmp_path / "upload", FILES)
    packed = pack(archive, None, big_budget)
    data = _sent_zip(packed)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert sorted(zf.namelist()) == sorted(f.path for f in packed.included)
        assert {i.compress_type for i in zf.infolist()} == {zipfile.ZIP_DEFLATED}
    assert len(packed.included) == 10
    for f in packed.included:
        text = read_sent_file(io.BytesIO(data), f.path)
        assert text == read_source(archive, f.path)  # decoded and redacted, as sent
    zip_path = tmp_path / "sent.zip"
    zip_path.write_bytes(data)
    assert read_sent_file(zip_path, "app/no_newline.py") == "X = 1\nY = 2"
    assert read_sent_file(str(zip_path), "app/empty.py") == ""
    assert read_sent_file(zip_path, "app/windows.py") == "A = 1\nB = 'ünïcödé ✓ 🚀'\n"


def test_secrets_stay_redacted_in_the_sent_copy(tmp_path, big_budget):
    packed = pack(make_zip(tmp_path / "a.zip", FILES), None, big_budget)
    data = _sent_zip(packed)
    settings = read_sent_file(io.BytesIO(data), "config/settings.py")
    assert AWS not in settings and "[REDACTED:aws_access_key]" in settings
    assert "[REDACTED:" in read_sent_file(io.BytesIO(data), "config/key.pem")
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        everything = b"".join(zf.read(n) for n in zf.namelist())
    assert AWS.encode() not in everything
    assert b"MIIEvQIBADANBgkqhkiG9w0BAQEFAASC" not in everything


def test_files_that_were_not_sent_read_as_none(tmp_path):
    files = {f"shop/src/mod{i}.py": f"VALUE_{i} = {i}\n" * 400 for i in range(6)}
    files["shop/node_modules/lib/index.js"] = "module.exports = 1\n"
    packed = pack(make_zip(tmp_path / "a.zip", files), None, Budget(16_000, 2_000))
    over = [e.path for e in packed.excluded if e.reason == "over budget"]
    assert over and packed.included
    data = _sent_zip(packed)
    for path in [*over, "node_modules/lib/index.js", "src/missing.py", "", "src"]:
        assert read_sent_file(io.BytesIO(data), path) is None
    assert read_sent_file(io.BytesIO(data), packed.included[0].path) is not None


def test_hostile_member_names_are_never_written_or_read(tmp_path, big_budget):
    packed = pack(make_zip(tmp_path / "a.zip", FILES), None, big_budget)
    # A Pack altered after packing still cannot plant a name that escapes a folder.
    packed.included[0].path = "../x"
    packed.included[1].path = "/etc/passwd"
    packed.included[2].path = "C:/boot.ini"
    packed.included[3].path = "app/../../y"
    data = _sent_zip(packed)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = zf.namelist()
    assert names == [f.path for f in packed.included[4:]]
    assert not [n for n in names if n.startswith("/") or ".." in n.split("/")]
    # And a zip holding such a member (not one we wrote) is not read through it.
    crafted = io.BytesIO()
    with zipfile.ZipFile(crafted, "w") as zf:
        zf.writestr("../x", "outside")
    assert read_sent_file(io.BytesIO(crafted.getvalue()), "../x") is None


def test_an_unreadable_copy_is_a_plain_error(tmp_path):
    from reviewer.packing import PackingError

    bad = tmp_path / "sent.zip"
    bad.write_bytes(b"not a zip")
    with pytest.raises(PackingError, match="^The copy of the files sent for review"):
        read_sent_file(bad, "app/main.py")
