import json

import pytest
from django.core.management import call_command

from tests.factories import SAMPLE_REPO, make_pdf, make_tar_gz, make_zip

pytestmark = pytest.mark.django_db


@pytest.fixture
def inputs(tmp_path):
    archive = tmp_path / "shop.tar.gz"
    planted = {"shop/settings.py": 'AWS_KEY = "AKIAZ7Q3LMN4P2XYRT5W"\n'}
    archive.write_bytes(make_tar_gz({**SAMPLE_REPO, **planted}))
    spec = tmp_path / "spec.pdf"
    spec.write_bytes(make_pdf())
    return archive, spec


def test_pack_prints_a_summary_and_writes_the_exact_request_body(inputs, tmp_path, capsys):
    archive, spec = inputs
    out = tmp_path / "request.json"
    call_command("pack", str(archive), spec=str(spec), model="gpt-4.1", output=str(out))
    printed = capsys.readouterr().out
    assert "Included:   5 files" in printed
    assert "gitignored: 1" in printed
    assert "settings.py:1:aws" in printed.lower()
    body = json.loads(out.read_text())
    assert body["model"] == "gpt-4.1" and body["stream"] is True
    user_parts = body["messages"][-1]["content"]
    file_part = next(p for p in user_parts if p["type"] == "file")
    assert file_part["file"]["file_data"].startswith("data:application/pdf;base64,")
    text = " ".join(p.get("text", "") for p in user_parts)
    assert "app/api.py" in text
    assert "AKIAZ7Q3LMN4P2XYRT5W" not in out.read_text()


def test_pack_exits_2_with_one_sentence_for_a_non_pdf_spec(inputs, tmp_path, capsys):
    archive, _ = inputs
    fake = tmp_path / "spec.pdf"
    fake.write_text("not a pdf")
    with pytest.raises(SystemExit) as exit_info:
        call_command("pack", str(archive), spec=str(fake))
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip() == "The specification is not a PDF."


def test_pack_exits_2_for_a_zip_slip_archive(tmp_path, capsys):
    archive = tmp_path / "evil.zip"
    archive.write_bytes(make_zip({"../../etc/evil.sh": "rm -rf /"}))
    with pytest.raises(SystemExit) as exit_info:
        call_command("pack", str(archive))
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "../../etc/evil.sh" in err and err.count(".") >= 1
    assert not (tmp_path.parent.parent / "etc" / "evil.sh").exists()


def test_a_second_pack_of_the_same_archive_counts_nothing_again(
    inputs, settings, monkeypatch, capsys
):
    from pathlib import Path

    from reviewer.packing import pipeline
    from reviewer.packing.token_cache import FILENAME

    archive, spec = inputs
    counted = []

    def counting(text):
        counted.append(text)
        return real_count(text)

    real_count = pipeline.count_tokens
    monkeypatch.setattr(pipeline, "count_tokens", counting)
    call_command("pack", str(archive), spec=str(spec), model="gpt-4.1")
    first = capsys.readouterr().out
    assert counted, "the first pack counts its blocks"
    assert (Path(settings.PACK_CACHE_DIR) / FILENAME).is_file()  # the worker's cache
    counted.clear()
    call_command("pack", str(archive), spec=str(spec), model="gpt-4.1")
    assert counted == []
    assert capsys.readouterr().out == first


def test_pack_says_how_much_of_the_repository_is_reviewed(inputs, capsys):
    archive, spec = inputs
    call_command("pack", str(archive), spec=str(spec), model="gpt-4.1")
    assert "Reviewed:   5 of 5 files, 100% of the repository's tokens" in capsys.readouterr().out
