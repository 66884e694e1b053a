"""The fake provider itself behaves like the real wire formats it imitates."""

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.fakes.llm_server import (
    FakeLLMServer,
    answer,
    error_event,
    malformed,
    no_done,
    reset_after,
    stall_after,
    status,
)

ROOT = Path(__file__).resolve().parents[2]


def _post(url, body, **kw):
    return httpx.post(url, json=body, timeout=5, **kw)


def _data_lines(text):
    return [line[6:] for line in text.splitlines() if line.startswith("data: ")]


def _chat(server, **extra):
    body = {
        "model": "m",
        "stream": True,
        "stream_options": {"include_usage": True},
        "messages": [{"role": "user", "content": "hi"}],
    }
    body.update(extra)
    return _post(f"{server.url}/chat/completions", body, headers={"Authorization": "Bearer k"})


@pytest.fixture
def server():
    with FakeLLMServer() as s:
        yield s


def test_answer_streams_openai_chunks_split_mid_word_with_usage_and_done(server):
    server.script(answer("Hello wonderful world", chunk_size=4, usage=(12, 3)))
    r = _chat(server)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    assert r.text.startswith(": keep-alive")
    data = _data_lines(r.text)
    assert data[-1] == "[DONE]"
    chunks = [json.loads(d) for d in data[:-1]]
    deltas = [c["choices"][0]["delta"].get("content") for c in chunks if c["choices"]]
    assert "".join(d for d in deltas if d) == "Hello wonderful world"
    assert "Hell" in deltas and "o wo" in deltas
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["prompt_tokens"] == 12
    rec = server.requests[0]
    assert rec["body"]["stream"] is True and rec["headers"]["authorization"] == "Bearer k"


def test_usage_chunk_only_when_requested(server):
    r = _chat(server, stream_options=None)
    chunks = [json.loads(d) for d in _data_lines(r.text)[:-1]]
    assert all(c["choices"] for c in chunks)


def test_gemini_stream_has_candidates_finish_reason_and_usage_metadata(server):
    server.script(answer("Gemini says hi", finish_reason="length", usage=(5, 2)))
    r = _post(
        f"{server.gemini_url}/models/gemini-2.5-pro:streamGenerateContent?alt=sse",
        {"contents": []},
        headers={"x-goog-api-key": "k"},
    )
    chunks = [json.loads(d) for d in _data_lines(r.text)]
    text = "".join(p["text"] for c in chunks for p in c["candidates"][0]["content"]["parts"])
    assert text == "Gemini says hi"
    assert chunks[-1]["candidates"][0]["finishReason"] == "MAX_TOKENS"
    assert chunks[-1]["usageMetadata"]["promptTokenCount"] == 5
    assert "[DONE]" not in r.text
    assert server.requests[0]["query"] == {"alt": "sse"}


def test_status_sends_code_headers_and_json_error(server):
    server.script(status(429, headers={"Retry-After": "3"}))
    r = _chat(server)
    assert r.status_code == 429 and r.headers["retry-after"] == "3"
    assert "error" in r.json()


def test_queue_is_consumed_in_order_then_default(server):
    server.script(status(503), answer("two"))
    assert _chat(server).status_code == 503
    assert "two" in "".join(_data_lines(_chat(server).text)).replace('"', "")
    assert _chat(server).status_code == 200
    assert server.pending == 0 and len(server.requests) == 3


def test_reset_after_breaks_the_connection(server):
    server.script(reset_after("abcdefghijklmnopqrstuvwxyz", 2, chunk_size=3))
    with pytest.raises(httpx.TransportError):
        _chat(server)


def test_stall_after_goes_silent(server):
    server.script(stall_after("abcdefghij", 1, seconds=5))
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(
            f"{server.url}/chat/completions",
            json={"stream": True},
            timeout=httpx.Timeout(5, read=0.3),
        )


def test_error_event_and_no_done_and_malformed(server):
    server.script(error_event("abcdefghij", 1, "boom"), no_done("xyz"), malformed())
    text = _chat(server).text
    assert '"error"' in text and "boom" in text and "[DONE]" not in text
    text = _chat(server).text
    assert 'finish_reason": "stop' not in text and "[DONE]" not in text
    text = _chat(server).text
    assert "data: {this is not json" in text and "[DONE]" in text


def test_gate_holds_the_rest_of_the_stream(server):
    gate = threading.Event()
    server.script(answer("0123456789", chunk_size=2, gate=gate, gate_after=2))
    got = []
    with httpx.stream("POST", f"{server.url}/chat/completions", json={"stream": True}) as r:
        for line in r.iter_lines():
            if line.startswith("data: {"):
                content = json.loads(line[6:])["choices"][0]["delta"].get("content")
                if content:
                    got.append(content)
                    if len(got) == 2:
                        time.sleep(0.2)
                        assert not gate.is_set()
                        gate.set()
    assert "".join(got) == "0123456789"


def test_many_concurrent_requests(server):
    server.script(*[answer("x" * 50, delay=0.01) for _ in range(20)])
    results = []

    def go():
        results.append(_chat(server).status_code)

    threads = [threading.Thread(target=go) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert results == [200] * 20


def test_subprocess_mode_serves_answer_file_and_accepts_scripts(tmp_path):
    f = tmp_path / "answer.md"
    f.write_text("Answer from a file ✓", encoding="utf-8")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.fakes.llm_server",
            "--port",
            "0",
            "--answer-file",
            str(f),
            "--delay",
            "0.01",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("FAKE_LLM_URL=")
        url = line.split("=", 1)[1]
        r = httpx.post(f"{url}/chat/completions", json={"stream": True}, timeout=5)
        joined = "".join(
            json.loads(d)["choices"][0]["delta"].get("content") or ""
            for d in _data_lines(r.text)
            if d != "[DONE]" and json.loads(d)["choices"]
        )
        assert joined == "Answer from a file ✓"
        root = url.rsplit("/v1", 1)[0]
        ok = httpx.post(f"{root}/_fake/script", json=[{"status": 503}], timeout=5)
        assert ok.status_code == 200
        assert httpx.post(f"{url}/chat/completions", json={}, timeout=5).status_code == 503
        assert len(httpx.get(f"{root}/_fake/requests", timeout=5).json()) == 2
    finally:
        proc.terminate()
        proc.wait(5)
