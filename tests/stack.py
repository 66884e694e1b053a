"""A whole running reviewer for end-to-end tests: migrated database, ASGI server and a
real Celery worker as subprocesses, in one of the two profiles.

- embedded: SQLite and the filesystem broker under a temporary var/, and a prefork
  worker (so the e2e tests still cover the pool a deployment may choose);
- services: a fresh PostgreSQL database and a Redis database of its own, two web
  processes and a worker as documented (reviews on threads), all run by the python of
  `E2E_RUNTIME_PYTHON` when set (`make test` points it at a venv built from
  requirements.txt alone, so that a runtime dependency only the test tools bring in
  fails here as it would in a deployment).
"""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct-horse-battery-staple"
USERS = ("alice", "bob", "charlie")
# Parallel runs on one Redis pick different databases.
REDIS_DB = int(os.environ.get("E2E_REDIS_DB", 9))
# Parallel checkouts on one machine can each point the tests at their own Redis server.
REDIS_PORT = int(os.environ.get("TEST_REDIS_PORT", 6379))


WORKER_SLOTS = 2


def redis_url(db):
    return f"redis://127.0.0.1:{REDIS_PORT}/{db}"


RUNTIME_PYTHON = os.environ.get("E2E_RUNTIME_PYTHON") or sys.executable


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(check, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise TimeoutError(f"{what} did not come up within {timeout} s")


class Stack:
    def __init__(self, profile, base_dir, llm_url, separate_hosts=False, **extra_env):
        """`separate_hosts`: the web and the worker processes get a VAR_DIR and a
        MEDIA_ROOT of their own, as on two machines (services profile only: the embedded
        one keeps its database and broker under VAR_DIR)."""
        assert not separate_hosts or profile == "services", "hosts apart need services"
        self.profile = profile
        self.base_dir = Path(base_dir)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "reviewer.settings",
            "VAR_DIR": str(self.base_dir / "var"),
            "SECRET_KEY": uuid.uuid4().hex * 2,
            "DEBUG": "0",
            "PORT": str(self.port),
            "SITE_URL": self.url,
            "LLM_BASE_URL": llm_url,
            # Native Gemini models go to the same fake server, which speaks both formats.
            "LLM_GOOGLE_BASE_URL": llm_url.rsplit("/v1", 1)[0] + "/v1beta",
            # Native Anthropic too: its base URL is the host; the adapter adds /v1/messages.
            "LLM_ANTHROPIC_BASE_URL": llm_url.rsplit("/v1", 1)[0],
            "LLM_ANTHROPIC_API_KEY": "sk-ant-test-e2e-key-0000",
            "LLM_API_KEY": "sk-test-e2e-key-0000",
            "LLM_GOOGLE_API_KEY": "goog-test-e2e-key-1111",
            "LLM_MODEL": "gpt-4.1",
            "LLM_MAX_RETRIES": "2",
            "REVIEW_LEASE_SECONDS": "6",
            "REVIEW_REAP_SECONDS": "1",
            "REVIEW_CHECKPOINT_SECONDS": "1",
            # The test Git server is on 127.0.0.1 over http; a stalled fetch ends soon.
            "REPO_URL_ALLOW_PRIVATE": "1",
            "REPO_FETCH_TIMEOUT_SECONDS": "10",
            "PYTHONUNBUFFERED": "1",
            **extra_env,
        }
        self.env.pop("DATABASE_URL", None)
        self.env.pop("REDIS_URL", None)
        # Separate hosts share nothing on disk; otherwise both use the one var/.
        self.worker_env = self.env
        if separate_hosts:
            self.env.update(host_dirs(self.base_dir / "web"))
            self.worker_env = {**self.env, **host_dirs(self.base_dir / "worker")}
        self.database = None
        self.python = sys.executable
        if profile == "services":
            self.python = RUNTIME_PYTHON
            self.database = f"reviewer_e2e_{uuid.uuid4().hex[:10]}"
            self.env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{self.database}"
            redis_db = int(extra_env.get("REDIS_DB", REDIS_DB))
            self.env["REDIS_URL"] = redis_url(redis_db)
            self.worker_env.update(
                DATABASE_URL=self.env["DATABASE_URL"], REDIS_URL=redis_url(redis_db)
            )
        self.server = None
        self.workers = []
        self.workers_started = 0
        self.logs = self.base_dir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)

    # -- lifecycle -------------------------------------------------------------------
    def start(self):
        if self.database:
            _psql(f"CREATE DATABASE {self.database}", check=True)
            import redis

            redis.Redis.from_url(self.env["REDIS_URL"]).flushdb()
        self.manage("migrate", "--noinput")
        self.manage("collectstatic", "--noinput", "-v0")
        for name in USERS:
            self.create_user(name)
        self.start_server()
        self.start_worker()
        return self

    def stop(self):
        for worker in self.workers:
            _terminate(worker)
        _terminate(self.server)
        if self.database:
            _psql(f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)")

    def manage(self, *args, check=True, timeout=120):
        return subprocess.run(
            [self.python, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            check=check,
            timeout=timeout,
        )

    def shell(self, code):
        return self.manage("shell", "--no-imports", "-c", code).stdout

    def create_user(self, name):
        self.shell(
            "from django.contrib.auth.models import User\n"
            f"User.objects.create_user({name!r}, {name + '@example.com'!r}, {PASSWORD!r})"
        )

    def start_server(self):
        log = open(self.logs / "server.log", "ab")  # noqa: SIM115
        # Two web processes: a viewer's stream may be served by either.
        workers = ["--workers", "2"] if self.profile == "services" else []
        self.server = subprocess.Popen(
            [
                self.python,
                "-m",
                "uvicorn",
                "reviewer.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--timeout-graceful-shutdown",
                "1",
                "--no-access-log",
                *workers,
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        _wait_for(self._server_up, 30, "the ASGI server")

    def _server_up(self):
        try:
            return httpx.get(self.url + "/accounts/login/", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def start_worker(self, name=None, pool=None, **extra_env):
        """`pool` None: the services profile starts the worker as documented (reviews on
        threads, packing in processes), the embedded one a prefork worker of two children,
        the pool a deployment may still choose."""
        number = self.workers_started
        self.workers_started += 1
        name = name or f"w{number}@e2e"
        log_path = self.logs / f"worker-{number}.log"
        log = open(log_path, "ab")  # noqa: SIM115
        pool = pool or ("threads" if self.profile == "services" else "prefork")
        env = {**self.worker_env, "WORKER_POOL": pool, **extra_env}
        # Every worker of the suite holds WORKER_SLOTS reviews, whatever its pool: tests
        # that fill every slot stay small; the concurrency tests start their own.
        env.setdefault("REVIEW_SLOTS", str(WORKER_SLOTS))
        worker = subprocess.Popen(
            [
                self.python,
                "-m",
                "celery",
                "-A",
                "reviewer",
                "worker",
                "--loglevel",
                "INFO",
                "-n",
                name,
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.workers.append(worker)
        _wait_for(
            lambda: "ready" in log_path.read_text(),
            60,
            "the Celery worker",
        )
        return worker

    def stop_worker(self, worker):
        """A warm shutdown, as a deployment stops a worker."""
        _terminate(worker)
        self.workers.remove(worker)

    def kill_worker(self, worker):
        # The whole worker at once, like a lost host: with prefork the task runs in a
        # child, which would otherwise go on streaming after its parent died; the
        # threads pool's packing processes go with it too.
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(10)

    # -- talking to it ----------------------------------------------------------------
    def client(self, username="alice"):
        client = httpx.Client(base_url=self.url, timeout=30, follow_redirects=True)
        client.get("/accounts/login/")
        response = client.post(
            "/accounts/login/",
            data={"username": username, "password": PASSWORD, "next": "/"},
            headers={"X-CSRFToken": client.cookies["csrftoken"], "Referer": self.url + "/"},
        )
        response.raise_for_status()
        assert "sessionid" in client.cookies, "login failed"
        return client

    def review_field(self, review_id, field):
        out = self.shell(
            "from reviewer.reviews.models import Review\n"
            f"print(repr(getattr(Review.objects.get(pk={review_id}), {field!r})))"
        )
        return eval(out.strip())  # noqa: S307 - our own repr of a model field


def host_dirs(root):
    return {"VAR_DIR": str(root / "var"), "MEDIA_ROOT": str(root / "media")}


@contextlib.contextmanager
def running_stack(profile, base_dir, llm_url, **extra_env):
    stack = Stack(profile, base_dir, llm_url, **extra_env).start()
    try:
        yield stack
    finally:
        stack.stop()


def _psql(command, check=False):
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-c", command],
        check=check,
        capture_output=True,
    )


def _terminate(process):
    if process is None or process.poll() is not None:
        return
    process.terminate()
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(10)
    # Pool children (prefork, uvicorn's workers) are in the leader's process group; none
    # may outlive the stack.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(5)
