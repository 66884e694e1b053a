"""Fetching a repository by URL: against a real Git server (git http-backend on
127.0.0.1), with the address, transport, redirect, token and limit rules."""

import io
import logging
import os
import socket
import tarfile

import pytest

from reviewer.intake import git_errors, git_process, git_urls
from reviewer.intake.git_fetch import FetchError, FetchLimits, check_url, display_url, fetch
from tests.fakes.git_server import GitServer, GitServerProcess, lfs_pointer

TOKEN = "ghp_S3cretTokenValue0123456789"
PUBLIC_IP = "140.82.112.3"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = GitServer(tmp_path_factory.mktemp("git"))
    first = server.commit("public", {"README.md": "hello\n", "src/app.py": "print(1)\n"})
    tip = server.commit(
        "public",
        {
            "src/app.py": "print(2)\n",
            "bin/run": ("exec", "#!/bin/sh\n"),
            "docs/link": ("symlink", "../../../etc/passwd"),
            ".gitattributes": "secret.txt export-ignore\nversion.txt export-subst\n",
            "secret.txt": "kept\n",
            "version.txt": "$Format:%H$\n",
        },
    )
    dev = server.commit("public", {"src/dev.py": "x = 1\n"}, branch="dev", parent="main")
    server.tag("public", "v1.0", first, annotated=True)
    server.tag("public", "light", dev)
    server.allow_sha_fetch("public")
    server.shas = {"first": first, "tip": tip, "dev": dev}

    server.commit("private", {"private.py": "secret = 1\n"})
    server.tokens["private"] = TOKEN
    server.commit("trunk", {"a.txt": "a\n"}, branch="trunk")
    server.set_head("trunk", "trunk")
    server.commit(
        "withsub",
        {
            ".gitmodules": '[submodule "vendor/lib"]\n\tpath = vendor/lib\n\turl = ../public.git\n',
            "vendor/lib": ("gitlink", first),
            "main.py": "import lib\n",
        },
    )
    pointer = lfs_pointer(b"large binary content")
    server.commit(
        "lfs",
        {".gitattributes": "*.bin filter=lfs diff=lfs merge=lfs -text\n", "data.bin": pointer},
    )
    server.pointer = pointer
    server.commit("big", {"blob.bin": os.urandom(3 * 1024 * 1024)})
    server.commit("many", {f"f{i:03}.txt": f"{i}\n" for i in range(40)})
    server.ensure("empty")
    server.stalls.add("slow")
    server.redirects["moved"] = server.url("public", host="localhost")
    with server:
        yield server


def limits(**overrides):
    values = {"max_bytes": 2 * 1024 * 1024, "max_members": 100, "timeout_seconds": 30}
    values["allow_private"] = True
    values.update(overrides)
    return FetchLimits(**values)


def names(archive):
    with tarfile.open(archive) as tar:
        return sorted(tar.getnames())


def read(archive, name):
    with tarfile.open(archive) as tar:
        return tar.extractfile(name).read()


def fetch_error(*args, **kwargs):
    with pytest.raises(FetchError) as caught:
        fetch(*args, **kwargs)
    return caught.value.message


# -- refs -----------------------------------------------------------------------------
def test_the_remote_head_is_fetched_when_no_ref_is_given_and_its_commit_is_recorded(
    server, tmp_path
):
    got = fetch(server.url("public"), None, None, tmp_path, limits())
    assert (got.ref, got.commit_sha) == ("main", server.shas["tip"])
    assert got.archive_path == tmp_path / "repository.tar.gz"
    assert read(got.archive_path, "src/app.py") == b"print(2)\n"


def test_the_remote_head_need_not_be_main(server, tmp_path):
    got = fetch(server.url("trunk"), None, None, tmp_path, limits())
    assert got.ref == "trunk"
    assert names(got.archive_path) == ["a.txt"]


@pytest.mark.parametrize(
    ("ref", "expected"),
    [("dev", "dev"), ("v1.0", "first"), ("light", "dev"), ("refs/heads/main", "tip")],
)
def test_branches_and_tags_are_fetched_at_their_commit(server, tmp_path, ref, expected):
    got = fetch(server.url("public"), ref, None, tmp_path, limits())
    assert got.ref == ref
    assert got.commit_sha == server.shas[expected]


def test_a_full_commit_sha_is_fetched_when_the_server_allows_it(server, tmp_path):
    sha = server.shas["first"]
    got = fetch(server.url("public"), sha, None, tmp_path, limits())
    assert (got.ref, got.commit_sha) == (sha, sha)
    assert read(got.archive_path, "src/app.py") == b"print(1)\n"


def test_a_missing_branch_or_tag_gets_one_sentence(server, tmp_path):
    message = fetch_error(server.url("public"), "nope", None, tmp_path, limits())
    assert message == "The branch or tag 'nope' does not exist in the repository."
    assert list(tmp_path.iterdir()) == []


def test_an_empty_repository_gets_one_sentence(server, tmp_path):
    message = fetch_error(server.url("empty"), None, None, tmp_path, limits())
    assert message == "The repository has no default branch (it may be empty)."


def test_a_short_sha_asks_for_the_full_one(server, tmp_path):
    message = fetch_error(server.url("public"), server.shas["first"][:8], None, tmp_path, limits())
    assert "full 40-character sha" in message


def test_an_unknown_sha_gets_one_sentence(server, tmp_path):
    message = fetch_error(server.url("public"), "0" * 40, None, tmp_path, limits())
    assert message.startswith(f"The commit {'0' * 40} could not be fetched")


@pytest.mark.parametrize("ref", ["--upload-pack=touch /tmp/x", "a..b", "x y", "x:y", "@{-1}", "-x"])
def test_refs_that_could_be_read_as_options_or_revisions_are_refused(server, tmp_path, ref):
    message = fetch_error(server.url("public"), ref, None, tmp_path, limits())
    assert message == "The branch, tag or commit is not a valid Git ref name."


# -- tokens ---------------------------------------------------------------------------
def test_a_private_repository_is_fetched_with_its_token(server, tmp_path):
    got = fetch(server.url("private"), None, TOKEN, tmp_path, limits())
    assert names(got.archive_path) == ["private.py"]


def test_a_private_repository_without_a_token_says_it_needs_one(server, tmp_path):
    message = fetch_error(server.url("private"), None, None, tmp_path, limits())
    assert message == "The repository needs an access token (or does not exist)."


def test_a_wrong_token_is_refused_without_showing_it(server, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    message = fetch_error(server.url("private"), None, "wrong-" + TOKEN, tmp_path, limits())
    assert message == "The repository refused the access token."
    assert TOKEN not in caplog.text


def test_the_token_travels_in_the_environment_never_in_argv_or_logs(
    server, tmp_path, monkeypatch, caplog
):
    caplog.set_level(logging.DEBUG)
    calls = []
    real = git_process.subprocess.Popen

    def recording(args, **kwargs):
        if args[:2] == ["git", "-c"]:  # the fetch's git, not the server's http-backend
            calls.append((args, kwargs["env"]))
        return real(args, **kwargs)

    monkeypatch.setattr(git_process.subprocess, "Popen", recording)
    fetch(server.url("private"), None, TOKEN, tmp_path, limits())
    secrets = git_process.secrets_of(TOKEN)
    assert calls
    for args, env in calls:
        assert not any(secret in arg for arg in args for secret in secrets)
        assert env["GIT_CONFIG_KEY_0"] == "http.extraHeader"
        assert env["GIT_CONFIG_VALUE_0"] == git_process.auth_header(TOKEN)
    assert not any(secret in caplog.text for secret in secrets)
    # The server saw the header, and nothing but its own address.
    authorized = [h for _, path, h in server.requests if path.startswith("/private.git")]
    assert authorized[-1]["Authorization"] == git_process.auth_header(TOKEN).split(": ", 1)[1]


def test_gits_message_is_scrubbed_of_the_token_and_cut_to_one_sentence():
    stderr = (
        f"warning: something\nfatal: unable to frobnicate {TOKEN} here. And more text.\n"
        f"{git_process.auth_header(TOKEN)}\n"
    )
    shown = git_errors.sentence(stderr, TOKEN)
    assert shown == "Git could not fetch the repository: unable to frobnicate [token] here."


def test_a_token_with_a_line_break_is_refused(server, tmp_path):
    message = fetch_error(server.url("private"), None, TOKEN + "\r\nX-Evil: 1", tmp_path, limits())
    assert message == "The access token contains characters that cannot be sent."


# -- addresses, transports, redirects ---------------------------------------------------
@pytest.mark.parametrize(
    "url",
    [
        "file:///etc",
        "ssh://git@github.com/o/r.git",
        "git://github.com/o/r.git",
        "git@github.com:o/r.git",
        "github.com:o/r.git",
        "ext::sh -c touch% /tmp/pwned",
        "ext::sh",
        "https:github.com/o/r",
        "http://github.com/o/r.git",
        "ftp://github.com/o/r.git",
    ],
)
def test_only_https_urls_are_accepted(url):
    with pytest.raises(FetchError) as caught:
        check_url(url, allow_private=False)
    assert caught.value.message in (
        "The repository URL must start with https://.",
        "The repository URL contains characters that are not allowed.",
    )


@pytest.mark.parametrize(
    "url", ["https://user:pass@github.com/o/r.git", f"https://{TOKEN}@github.com/o/r.git"]
)
def test_a_user_name_or_password_in_the_url_is_refused_without_repeating_it(url):
    with pytest.raises(FetchError) as caught:
        check_url(url, allow_private=False)
    assert "user name or password" in caught.value.message
    assert (
        TOKEN not in caught.value.message and "pass" not in caught.value.message.split(";")[0][-6:]
    )


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/o/r.git",
        "https://10.1.2.3/o/r.git",
        "https://192.168.1.1/o/r.git",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/o/r.git",
        "https://[::ffff:127.0.0.1]/o/r.git",
        "https://[fe80::1]/o/r.git",
        "https://0.0.0.0/o/r.git",
        "https://224.0.0.1/o/r.git",
        "https://localhost/o/r.git",
    ],
)
def test_private_loopback_link_local_and_reserved_addresses_are_refused(url):
    with pytest.raises(FetchError) as caught:
        check_url(url, allow_private=False)
    assert "private or reserved address" in caught.value.message


def test_a_name_with_any_private_address_is_refused(monkeypatch):
    def getaddrinfo(host, port, type):
        return [
            (socket.AF_INET, type, 6, "", (PUBLIC_IP, port)),
            (socket.AF_INET6, type, 6, "", ("::ffff:10.0.0.5", port, 0, 0)),
        ]

    monkeypatch.setattr(git_urls, "getaddrinfo", getaddrinfo)
    with pytest.raises(FetchError):
        check_url("https://rebind.example/o/r.git", allow_private=False)


def test_urls_are_normalised(monkeypatch):
    monkeypatch.setattr(
        git_urls, "getaddrinfo", lambda host, port, type: [(2, type, 6, "", (PUBLIC_IP, port))]
    )
    assert (
        check_url(" HTTPS://GitHub.COM:443/o/r.git#readme ", False) == "https://github.com/o/r.git"
    )
    assert check_url("https://github.com:8443/o/r", False) == "https://github.com:8443/o/r"


def test_display_url_strips_userinfo_query_and_fragment():
    shown = display_url(f"https://x-access-token:{TOKEN}@github.com/o/r.git?a=b#c")
    assert shown == "https://github.com/o/r.git"


def test_git_connects_to_the_checked_address_not_to_a_fresh_lookup(server, tmp_path, monkeypatch):
    # git cannot resolve this name itself: the fetch only works if the address checked
    # here is the one git connects to.
    looked_up = []

    def getaddrinfo(host, port, type):
        looked_up.append(host)
        return [(socket.AF_INET, type, 6, "", ("127.0.0.1", port))]

    monkeypatch.setattr(git_urls, "getaddrinfo", getaddrinfo)
    url = f"http://git.reviewer.invalid:{server.port}/public.git"
    got = fetch(url, "dev", None, tmp_path, limits())
    assert got.commit_sha == server.shas["dev"]
    assert looked_up == ["git.reviewer.invalid"]
    hosts = {h.get("Host") for _, path, h in server.requests if "public.git" in path}
    assert f"git.reviewer.invalid:{server.port}" in hosts


def test_a_redirect_to_another_host_is_not_followed(server, tmp_path):
    before = len(server.requests)
    message = fetch_error(server.url("moved"), None, None, tmp_path, limits())
    assert "redirect" in message
    followed = [path for _, path, _ in server.requests[before:] if path.startswith("/public.git")]
    assert followed == []


def test_the_protocol_is_git_version_2(server, tmp_path):
    before = len(server.requests)
    fetch(server.url("public"), "dev", None, tmp_path, limits())
    assert all(h.get("Git-Protocol") == "version=2" for _, _, h in server.requests[before:])


# -- limits -------------------------------------------------------------------------
def test_a_repository_over_the_size_limit_is_stopped_and_nothing_is_left(server, tmp_path):
    message = fetch_error(server.url("big"), None, None, tmp_path, limits(max_bytes=1024 * 1024))
    assert "1 MB limit" in message
    assert list(tmp_path.iterdir()) == []


def test_a_repository_with_too_many_files_is_refused(server, tmp_path):
    message = fetch_error(server.url("many"), None, None, tmp_path, limits(max_members=10))
    assert message == "The repository has more than 10 files."
    assert list(tmp_path.iterdir()) == []


def test_a_server_that_stalls_is_given_up_on_at_the_time_limit(server, tmp_path):
    message = fetch_error(server.url("slow"), None, None, tmp_path, limits(timeout_seconds=1.5))
    assert message == "Fetching the repository took longer than 1.5 seconds."
    assert list(tmp_path.iterdir()) == []


# -- what the archive holds ----------------------------------------------------------------
def test_the_archive_holds_the_commits_files_without_git_metadata(server, tmp_path):
    got = fetch(server.url("public"), "main", None, tmp_path, limits())
    listed = names(got.archive_path)
    assert not any(name == ".git" or name.startswith(".git/") for name in listed)
    # The repository's attributes can neither hide files nor rewrite them.
    assert read(got.archive_path, "secret.txt") == b"kept\n"
    assert read(got.archive_path, "version.txt") == b"$Format:%H$\n"
    with tarfile.open(got.archive_path) as tar:
        link = tar.getmember("docs/link")
        assert link.issym() and link.linkname == "../../../etc/passwd"
        assert tar.getmember("bin/run").mode & 0o111
    assert [p.name for p in tmp_path.iterdir()] == ["repository.tar.gz"]


def test_the_archive_is_the_same_bytes_for_the_same_commit(server, tmp_path):
    one = fetch(server.url("public"), "main", None, tmp_path / "one", limits())
    two = fetch(server.url("public"), "main", None, tmp_path / "two", limits())
    assert one.archive_path.read_bytes() == two.archive_path.read_bytes()
    with tarfile.open(fileobj=io.BytesIO(one.archive_path.read_bytes())) as tar:
        files = [m.name for m in tar.getmembers() if not m.isdir()]
    assert files == sorted(files)


def test_submodules_are_refused_unless_allowed_and_never_fetched(server, tmp_path):
    before = len(server.requests)
    message = fetch_error(server.url("withsub"), None, None, tmp_path / "a", limits())
    assert message == "The repository uses Git submodules (vendor/lib), which are not fetched."
    got = fetch(server.url("withsub"), None, None, tmp_path / "b", limits(allow_submodules=True))
    assert got.notes == ("Git submodules are not fetched; vendor/lib is left empty.",)
    assert "main.py" in names(got.archive_path)
    assert not any(name.startswith("vendor/lib/") for name in names(got.archive_path))
    assert not any("/public.git" in path for _, path, _ in server.requests[before:])


def test_lfs_files_stay_pointers(server, tmp_path):
    message = fetch_error(server.url("lfs"), None, None, tmp_path / "a", limits())
    assert message == "The repository stores files in Git LFS, which is not fetched."
    got = fetch(server.url("lfs"), None, None, tmp_path / "b", limits(allow_lfs=True))
    assert read(got.archive_path, "data.bin").decode() == server.pointer
    assert got.notes == ("Files stored in Git LFS are reviewed as their pointer files.",)


# -- the server as a subprocess ------------------------------------------------------------
def test_the_git_server_runs_as_a_subprocess_for_end_to_end_tests(server, tmp_path):
    with GitServerProcess(server.root, private={"private": TOKEN}) as running:
        got = fetch(running.url("private"), None, TOKEN, tmp_path, limits())
        assert names(got.archive_path) == ["private.py"]
        message = fetch_error(running.url("private"), None, None, tmp_path / "x", limits())
        assert "needs an access token" in message


def pkt_line(text):
    return f"{len(text) + 4:04x}{text}".encode()


@pytest.mark.parametrize("chunked", [True, False])
def test_the_git_servers_bridge_passes_a_streamed_body_to_http_backend(server, chunked):
    import http.client

    body = pkt_line(f"want {server.shas['tip']} ofs-delta\n") + b"0000" + pkt_line("done\n")
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    headers = {"Content-Type": "application/x-git-upload-pack-request"}
    if chunked:
        connection.request(
            "POST",
            "/public.git/git-upload-pack",
            iter([body[:10], body[10:]]),
            headers,
            encode_chunked=True,
        )
    else:
        connection.request("POST", "/public.git/git-upload-pack", body, headers)
    answer = connection.getresponse()
    assert answer.status == 200
    assert answer.getheader("Content-Type") == "application/x-git-upload-pack-result"
    assert b"PACK" in answer.read()


def test_a_dns_lookup_that_hangs_counts_against_the_time_limit(tmp_path, monkeypatch):
    import threading

    release = threading.Event()

    def getaddrinfo(host, port, type):
        release.wait(30)
        return [(socket.AF_INET, type, 6, "", (PUBLIC_IP, port))]

    monkeypatch.setattr(git_urls, "getaddrinfo", getaddrinfo)
    try:
        message = fetch_error(
            "https://slow-dns.example/o/r.git", None, None, tmp_path, limits(timeout_seconds=0.5)
        )
    finally:
        release.set()
    assert message == "The repository host slow-dns.example could not be found."
