"""Management commands take options by their exact names only, never by a prefix."""

import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "argv",
    [
        ["review", "repo.zip", "--spec", "spec.pdf", "--proj", "shop"],  # --project
        ["review", "repo.zip", "--spe", "spec.pdf", "--project", "shop"],  # --spec
        ["pack", "repo.zip", "--out", "request.json"],  # --output
        ["pack", "repo.zip", "--ign", "docs/"],  # --ignore
        ["check", "--dep"],  # Django's own commands too: --deploy
    ],
)
def test_an_abbreviated_option_is_an_error_not_another_option(argv):
    with pytest.raises(CommandError, match="unrecognized arguments"):
        call_command(*argv)


def test_the_command_line_refuses_an_option_that_only_prefixes_another():
    # argparse would otherwise read `--out` as --output (and `--mode` as --model on a
    # command that has no --mode).
    done = subprocess.run(
        [sys.executable, "manage.py", "pack", "repo.zip", "--out", "request.json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "unrecognized arguments: --out request.json" in done.stderr
