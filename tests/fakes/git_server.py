"""A real Git server for tests: git's own `git http-backend` (the smart HTTP protocol,
versions 0 to 2, shallow fetches included) behind a small CGI bridge on 127.0.0.1.

    server = GitServer(tmp_path / "git")
    sha = server.commit("public", {"README.md": "hello\\n"})
    server.tokens["private"] = "s3cret"       # 401 + WWW-Authenticate unless Basic *:s3cret
    server.redirects["moved"] = "http://localhost:9/public.git"   # 302 to another host
    server.stalls.add("slow")                 # answers nothing until the server stops
    with server:                              # a thread; server.url("public")
        ...

For end-to-end tests the same server runs as a subprocess over a root prepared with the
helpers above: `python -m tests.fakes.git_server --root DIR [--private NAME=TOKEN]
[--redirect NAME=URL] [--stall NAME] [--port N]` prints one JSON line {"port": N} and
serves until it is terminated; `GitServerProcess` wraps that.
"""

import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

AUTHOR = "Test Author <author@example.com>"
EPOCH = 1_700_000_000
CHUNK = 64 * 1024


def git_env(**extra):
    """git with no user or system config, so the tests see the same git everywhere."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "LC_ALL": "C",
        **extra,
    }


def lfs_pointer(content: bytes) -> str:
    import hashlib

    oid = hashlib.sha256(content).hexdigest()
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {len(content)}\n"


class GitServer:
    def __init__(self, root, host="127.0.0.1", port=0):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.host, self.port = host, port
        self.tokens = {}  # repository name -> the token its requests must carry
        self.redirects = {}  # repository name -> URL of the same path elsewhere
        self.stalls = set()  # repository names whose requests hang
        self.requests = []  # (method, path, headers) of every request
        self._stop = threading.Event()
        self._clock = 0
        self.httpd = None

    # -- repositories ----------------------------------------------------------------
    def path(self, name) -> Path:
        return self.root / f"{name}.git"

    def url(self, name, host=None) -> str:
        return f"http://{host or self.host}:{self.port}/{name}.git"

    def git(self, name, *args, input=None) -> str:
        result = subprocess.run(
            ["git", "--git-dir", str(self.path(name)), *args],
            input=input,
            capture_output=True,
            env=git_env(),
            check=True,
        )
        return result.stdout.decode().strip()

    def ensure(self, name):
        if not self.path(name).exists():
            subprocess.run(
                ["git", "init", "--bare", "--quiet", "--initial-branch=main", str(self.path(name))],
                env=git_env(),
                check=True,
            )

    def commit(self, name, files, branch="main", message="A commit", parent=None) -> str:
        """Commits `files` on `branch` (onto its tip, or onto `parent`, a sha or branch):
        path -> str | bytes (a file), ("exec", data), ("symlink", target),
        ("gitlink", sha) (a submodule's commit), or None (removes the path)."""
        self.ensure(name)
        ref = f"refs/heads/{branch}"
        base = parent or self._tip(name, ref)
        self._clock += 1
        stream = bytearray()
        stream += f"commit {ref}\ncommitter {AUTHOR} {EPOCH + self._clock} +0000\n".encode()
        stream += _data(message.encode())
        if base:
            stream += f"from {self._tip(name, base) or base}\n".encode()
        for path, value in files.items():
            stream += _file_command(path, value)
        self.git(name, "fast-import", "--quiet", "--force", input=bytes(stream))
        return self.git(name, "rev-parse", ref)

    def tag(self, name, tag, target, annotated=False, message="A tag"):
        target = self._tip(name, target) or target
        if annotated:
            stream = f"tag {tag}\nfrom {target}\ntagger {AUTHOR} {EPOCH} +0000\n".encode()
            stream += _data(message.encode())
        else:
            stream = f"reset refs/tags/{tag}\nfrom {target}\n\n".encode()
        self.git(name, "fast-import", "--quiet", input=stream)

    def set_head(self, name, branch):
        self.git(name, "symbolic-ref", "HEAD", f"refs/heads/{branch}")

    def allow_sha_fetch(self, name):
        """Lets clients fetch any commit by its sha (GitHub allows reachable ones)."""
        self.git(name, "config", "uploadpack.allowAnySHA1InWant", "true")

    def _tip(self, name, rev):
        if rev is None:
            return None
        for candidate in (rev, f"refs/heads/{rev}"):
            result = subprocess.run(
                [
                    "git",
                    "--git-dir",
                    str(self.path(name)),
                    "rev-parse",
                    "--verify",
                    "--quiet",
                    f"{candidate}^{{commit}}",
                ],
                capture_output=True,
                env=git_env(),
            )
            if result.returncode == 0:
                return result.stdout.decode().strip()
        return None

    # -- serving ----------------------------------------------------------------------
    def start(self):
        self.httpd = ThreadingHTTPServer((self.host, self.port), _handler(self))
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_port
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self):
        self._stop.set()
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def _data(payload: bytes) -> bytes:
    return f"data {len(payload)}\n".encode() + payload + b"\n"


def _file_command(path, value) -> bytes:
    if value is None:
        return f"D {path}\n".encode()
    if isinstance(value, tuple) and value[0] == "gitlink":
        return f"M 160000 {value[1]} {path}\n".encode()
    mode = "100644"
    if isinstance(value, tuple):
        mode = {"exec": "100755", "symlink": "120000"}[value[0]]
        value = value[1]
    payload = value.encode() if isinstance(value, str) else value
    return f"M {mode} inline {path}\n".encode() + _data(payload)


def _handler(server):
    class Handler(BaseHTTPRequestHandler):
        # One request per connection: the answer ends when the connection closes, so the
        # CGI output can be passed on as it comes, without knowing its length.
        protocol_version = "HTTP/1.0"

        def do_GET(self):
            self._serve()

        def do_POST(self):
            self._serve()

        def log_message(self, *args):
            pass

        def _serve(self):
            parts = urlsplit(self.path)
            server.requests.append((self.command, self.path, dict(self.headers)))
            name = parts.path.lstrip("/").split("/", 1)[0].removesuffix(".git")
            if name in server.redirects:
                target = server.redirects[name].rstrip("/")
                rest = parts.path.lstrip("/").split("/", 1)[1:]
                location = target + ("/" + rest[0] if rest else "")
                location += f"?{parts.query}" if parts.query else ""
                return self._answer(302, b"", [("Location", location)])
            if name in server.stalls:
                server._stop.wait(120)
                return None
            if name in server.tokens and not self._authorized(server.tokens[name]):
                challenge = [("WWW-Authenticate", 'Basic realm="git"')]
                return self._answer(401, b"Authentication required\n", challenge)
            return self._cgi(parts)

        def _authorized(self, token):
            header = self.headers.get("Authorization", "")
            if not header.startswith("Basic "):
                return False
            try:
                decoded = base64.b64decode(header[6:]).decode()
            except ValueError:
                return False
            return decoded.partition(":")[2] == token

        def _answer(self, status, body, headers):
            self.send_response(status)
            for key, value in headers:
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _cgi(self, parts):
            env = git_env(
                GIT_PROJECT_ROOT=str(server.root),
                GIT_HTTP_EXPORT_ALL="1",
                REQUEST_METHOD=self.command,
                PATH_INFO=parts.path,
                QUERY_STRING=parts.query,
                CONTENT_TYPE=self.headers.get("Content-Type", ""),
                REMOTE_ADDR=self.client_address[0],
                SERVER_PROTOCOL="HTTP/1.1",
                GIT_PROTOCOL=self.headers.get("Git-Protocol", ""),
                HTTP_CONTENT_ENCODING=self.headers.get("Content-Encoding", ""),
            )
            length = self.headers.get("Content-Length")
            if length is not None:
                env["CONTENT_LENGTH"] = length
            process = subprocess.Popen(
                ["git", "http-backend"],
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
            feeder = threading.Thread(target=self._feed, args=(process.stdin, length), daemon=True)
            feeder.start()
            status, headers = 200, []
            for raw in iter(process.stdout.readline, b""):
                line = raw.decode("latin-1").rstrip("\r\n")
                if not line:
                    break
                key, _, value = line.partition(":")
                if key.lower() == "status":
                    status = int(value.split()[0])
                else:
                    headers.append((key, value.strip()))
            self.send_response(status)
            for key, value in headers:
                self.send_header(key, value)
            self.end_headers()
            shutil.copyfileobj(process.stdout, self.wfile, CHUNK)
            process.wait()
            feeder.join()

        def _feed(self, stdin, length):
            # The body is passed on as it arrives: by its length, or chunk by chunk.
            try:
                if length is not None:
                    left = int(length)
                    while left > 0:
                        block = self.rfile.read(min(CHUNK, left))
                        if not block:
                            break
                        stdin.write(block)
                        left -= len(block)
                elif self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            self.rfile.readline()
                            break
                        stdin.write(self.rfile.read(size))
                        self.rfile.readline()
            except (BrokenPipeError, ValueError):
                pass
            finally:
                try:
                    stdin.close()
                except BrokenPipeError:
                    pass

    return Handler


class GitServerProcess:
    """The server as a subprocess over a prepared root, for end-to-end tests."""

    def __init__(self, root, private=None, redirects=None, stalls=()):
        self.args = [sys.executable, "-m", "tests.fakes.git_server", "--root", str(root)]
        for name, token in (private or {}).items():
            self.args += ["--private", f"{name}={token}"]
        for name, target in (redirects or {}).items():
            self.args += ["--redirect", f"{name}={target}"]
        for name in stalls:
            self.args += ["--stall", name]
        self.process = None
        self.port = None

    def url(self, name, host="127.0.0.1"):
        return f"http://{host}:{self.port}/{name}.git"

    def __enter__(self):
        repo_root = Path(__file__).resolve().parents[2]
        self.process = subprocess.Popen(self.args, stdout=subprocess.PIPE, cwd=repo_root)
        self.port = json.loads(self.process.stdout.readline())["port"]
        return self

    def __exit__(self, *exc):
        self.process.terminate()
        self.process.wait(10)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--private", action="append", default=[], help="NAME=TOKEN")
    parser.add_argument("--redirect", action="append", default=[], help="NAME=URL")
    parser.add_argument("--stall", action="append", default=[], help="NAME")
    args = parser.parse_args(argv)
    server = GitServer(args.root, args.host, args.port)
    server.tokens.update(item.split("=", 1) for item in args.private)
    server.redirects.update(item.split("=", 1) for item in args.redirect)
    server.stalls.update(args.stall)
    server.start()
    print(json.dumps({"port": server.port}), flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
