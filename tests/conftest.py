"""Shared fixtures: alice (owner), bob (member) and charlie (outsider); the fake model
server; and whole running stacks for end-to-end tests in both profiles."""

import shutil
import subprocess

import pytest

from tests.fakes.llm_server import FakeLLMServer
from tests.stack import running_stack

PROFILES = ["embedded", "services"]


def pytest_collection_modifyitems(config, items):
    # The in-process tests run first; the slow stacks start only once those pass.
    items.sort(key=lambda item: "stack" in getattr(item, "fixturenames", ()))


# -- in-process (pytest-django) -------------------------------------------------------
@pytest.fixture
def password():
    return "correct-horse-battery-staple"


@pytest.fixture
def alice(django_user_model, password):
    return django_user_model.objects.create_user("alice", "alice@example.com", password)


@pytest.fixture
def bob(django_user_model, password):
    return django_user_model.objects.create_user("bob", "bob@example.com", password)


@pytest.fixture
def charlie(django_user_model, password):
    return django_user_model.objects.create_user("charlie", "charlie@example.com", password)


@pytest.fixture
def team(alice, bob):
    from reviewer.teams.access import personal_team
    from reviewer.teams.models import Membership, Role

    team = personal_team(alice)
    Membership.objects.create(team=team, user=bob, role=Role.MEMBER)
    return team


@pytest.fixture
def project(team, alice):
    from reviewer.reviews.models import Project

    return Project.objects.create(team=team, name="Shop", created_by=alice, model="gpt-4.1")


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


# -- real processes -------------------------------------------------------------------
@pytest.fixture(scope="session")
def fake_llm():
    with FakeLLMServer() as server:
        yield server


@pytest.fixture
def llm(fake_llm):
    fake_llm.reset()
    yield fake_llm
    fake_llm.reset()


def _services_available():
    ok = subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"], capture_output=True)
    return ok.returncode == 0 and shutil.which("redis-cli") is not None


@pytest.fixture(scope="session", params=PROFILES)
def stack(request, fake_llm, tmp_path_factory):
    if request.param == "services" and not _services_available():
        pytest.fail(
            "the services profile needs PostgreSQL and Redis on 127.0.0.1 (.ci/run starts them)"
        )
    with running_stack(request.param, tmp_path_factory.mktemp(request.param), fake_llm.url) as s:
        yield s


# -- teams, sharing and the API (issue 5) ------------------------------------------------
@pytest.fixture
def victor(django_user_model, password, team):
    """A viewer of alice's team."""
    from reviewer.teams.models import Membership, Role

    user = django_user_model.objects.create_user("victor", "victor@example.com", password)
    Membership.objects.create(team=team, user=user, role=Role.VIEWER)
    return user


@pytest.fixture(autouse=True)
def _token_cache_per_test(settings, tmp_path):
    # The packing cache lives under var/ in real use; tests keep theirs apart.
    settings.PACK_CACHE_DIR = str(tmp_path / "token-cache")


@pytest.fixture(autouse=True)
def _pack_in_process(settings):
    # In-process runs pack on their own thread, where the tests' patches reach; the
    # packing processes have tests of their own (test_concurrent_reviews.py, e2e).
    settings.PACK_PROCESSES = 0


@pytest.fixture(autouse=True)
def _server_key(settings, monkeypatch):
    # In-process tests run models of the generic endpoint, which needs a key to start;
    # no provider's own key leaks in from the environment.
    settings.LLM_API_KEY = "sk-test-server-key-0000"
    settings.LLM_GATEWAY = False
    for provider in ("OPENAI", "GOOGLE", "ANTHROPIC", "OPENROUTER", "DEEPSEEK", "CUSTOM"):
        monkeypatch.delenv(f"LLM_{provider}_API_KEY", raising=False)
        monkeypatch.delenv(f"LLM_{provider}_BASE_URL", raising=False)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _plain_static_files(settings):
    # The manifest storage needs `collectstatic`; in-process tests use plain names.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _fresh_cache():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def make_review(project, alice, media_root):
    """A review row with real stored upload files (the usual fields overridable)."""
    from django.core.files.base import ContentFile

    from reviewer.reviews.models import Review

    def make(**fields):
        values = {
            "project": project,
            "created_by": alice,
            "archive_name": "shop.zip",
            "archive_sha256": "ab" * 32,
            "archive_size": 11,
            "spec_name": "spec.pdf",
            "spec_pages": 3,
            "model": "gpt-4.1",
            "status": "done",
            "report": "## Conformance\n\nFine.\n",
            "prompt_tokens": 1000,
            "completion_tokens": 50,
            "cost_usd": "0.0024",
        }
        values.update(fields)
        archive = values.pop("archive", None) or ContentFile(b"zip-content", name="a.zip")
        spec = values.pop("spec", None) or ContentFile(b"%PDF-1.4 spec", name="s.pdf")
        review = Review(**values)
        if isinstance(archive, str):
            review.archive.name = archive
        else:
            # The row records what was stored, as an upload does.
            review.archive_size = fields.get("archive_size", archive.size)
            review.archive.save("a", archive, save=False)
        if isinstance(spec, str):
            review.spec.name = spec
        else:
            review.spec.save("s", spec, save=False)
        review.save()
        return review

    return make


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    # A failing end-to-end test shows what the server and the workers were saying.
    if report.when == "call" and report.failed:
        running = next(
            (item.funcargs[n] for n in item.fixturenames if "stack" in n and n in item.funcargs),
            None,
        )
        if running is not None:
            for log in sorted(running.logs.glob("*.log")):
                tail = log.read_text(errors="replace").splitlines()[-40:]
                report.sections.append((f"{running.profile} {log.name}", "\n".join(tail)))
    return report


@pytest.fixture(autouse=True)
def notifications_queued(monkeypatch):
    """In-process tests publish no notification task to a broker: the ids land here."""
    queued = []
    monkeypatch.setattr("reviewer.notifications.hooks.queue", queued.append)
    return queued
