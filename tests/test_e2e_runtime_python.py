"""The services stack runs on a python with the app's requirements alone (`make test`
builds it from requirements.txt), so a runtime import that only the test tools satisfy
fails here as it would in a deployment."""

import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

TEST_TOOLS = ("pytest", "pytest_django", "playwright", "iniconfig", "pluggy")


def command_line(pid):
    return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()


@pytest.mark.skipif(
    not os.environ.get("E2E_RUNTIME_PYTHON"),
    reason="`make test` sets E2E_RUNTIME_PYTHON to a venv built from requirements.txt alone",
)
def test_services_stack_runs_on_a_python_without_the_test_tools(stack):
    if stack.profile != "services":
        pytest.skip("the embedded stack runs on the test python")
    runtime = os.environ["E2E_RUNTIME_PYTHON"]
    out = stack.shell(
        "import importlib.util, sys\n"
        "print(sys.executable)\n"
        f"print([m for m in {TEST_TOOLS!r} if importlib.util.find_spec(m)])"
    ).split("\n")
    assert out[:2] == [runtime, "[]"]
    assert command_line(stack.server.pid) == runtime
    alive = [command_line(w.pid) for w in stack.workers if w.poll() is None]
    assert alive and all(python == runtime for python in alive)
