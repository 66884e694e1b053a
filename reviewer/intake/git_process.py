"""Running git on behalf of a user: a clean environment, no prompts, a deadline that kills
the whole process group, and a watch on the bytes written under the work directory.

Plain Python, no Django. The access token travels only in the environment
(GIT_CONFIG_COUNT/KEY/VALUE), never on a command line, so `ps` does not show it.
"""

import base64
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

POLL_SECONDS = 0.1


class Stopped(Exception):
    """git was killed: `reason` is "time" or "size"."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def auth_header(token):
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode("ascii")
    return f"Authorization: Basic {basic}"


def secrets_of(token):
    """Every form in which the token could show up in git's output."""
    if not token:
        return []
    header = auth_header(token)
    return [header, header.split(" ", 2)[2], f"x-access-token:{token}", token]


def environment(scratch: Path, allow_http: bool, token: str | None) -> dict:
    """An environment with nothing from the server's user: no user or system git config,
    no proxies, no askpass that could wait for input, temporary files under `scratch`."""
    home = scratch / "home"
    home.mkdir(exist_ok=True)
    true = shutil.which("true") or "/bin/true"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "TMPDIR": str(scratch),
        "LC_ALL": "C",
        "LANG": "C",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_ASKPASS": true,
        "SSH_ASKPASS": true,
        "GIT_ALLOW_PROTOCOL": "https:http" if allow_http else "https",
        "GIT_PROTOCOL_FROM_USER": "0",
        "GIT_LFS_SKIP_SMUDGE": "1",
    }
    if token:
        env.update(
            GIT_CONFIG_COUNT="1",
            GIT_CONFIG_KEY_0="http.extraHeader",
            GIT_CONFIG_VALUE_0=auth_header(token),
        )
    return env


def config_args(allow_http: bool, pin: str | None) -> list[str]:
    """`-c` options that hold whatever config the repository or server could bring."""
    settings = [
        "protocol.allow=never",
        "protocol.https.allow=always",
        *(["protocol.http.allow=always"] if allow_http else []),
        "protocol.version=2",
        "http.followRedirects=false",
        "http.proxy=",
        "http.sslVerify=true",
        "credential.helper=",
        "core.askPass=",
        "core.hooksPath=" + os.devnull,
        "core.symlinks=false",
        "core.fsmonitor=false",
        "submodule.recurse=false",
        "fetch.recurseSubmodules=false",
        "filter.lfs.smudge=",
        "filter.lfs.process=",
        "filter.lfs.required=false",
        # The archive is compressed by git itself, never by a configured command.
        "tar.tar.gz.command=git archive gzip",
    ]
    if pin:
        settings.append(f"http.curloptResolve={pin}")
    args = []
    for setting in settings:
        args += ["-c", setting]
    return args


class Runner:
    """Runs git commands against one deadline and one byte limit for `watched`."""

    def __init__(self, env, config, deadline, watched: Path, max_bytes: int, scratch: Path):
        self.env, self.config, self.deadline = env, config, deadline
        self.watched, self.max_bytes, self.scratch = watched, max_bytes, scratch
        self.count = 0

    def run(self, *args, cwd=None):
        """(returncode, stdout bytes, stderr text). Output goes to files under the scratch
        directory so that a large answer cannot fill a pipe and stall git."""
        self.count += 1
        out_path = self.scratch / f"out-{self.count}"
        err_path = self.scratch / f"err-{self.count}"
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            process = subprocess.Popen(
                ["git", *self.config, *args],
                cwd=cwd or self.scratch,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
            self._wait(process)
        stdout = out_path.read_bytes()
        stderr = err_path.read_text("utf-8", "replace")
        out_path.unlink()
        err_path.unlink()
        return process.returncode, stdout, stderr

    def _wait(self, process):
        while True:
            try:
                process.wait(timeout=POLL_SECONDS)
                return
            except subprocess.TimeoutExpired:
                pass
            if time.monotonic() > self.deadline:
                _kill(process)
                raise Stopped("time")
            if tree_bytes(self.watched) > self.max_bytes:
                _kill(process)
                raise Stopped("size")


def _kill(process):
    # git starts helpers (git-remote-https, index-pack) in its session: end them all.
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def tree_bytes(root: Path) -> int:
    total = 0
    for folder, _dirs, files in os.walk(root):
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except FileNotFoundError:
                pass  # git renames its temporary files as it goes
    return total
