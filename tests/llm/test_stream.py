"""Stream semantics: text order, finish reasons, usage, broken streams."""

import threading

from reviewer.llm import Delta, Finished, Status, stream_review
from tests.fakes.llm_server import answer, error_event, malformed, no_done, reset_after
from tests.llm.conftest import FAST, endpoint_for, finished, make_request, model_for, run, text_of

TEXT = "The implementation matches section 2.1; section 3 is missing entirely. ✓ Überprüft."


def test_answer_streams_text_once_with_usage_and_stop(catalogue, server):
    server.script(answer(TEXT, chunk_size=5, usage=(1234, 56)))
    model = model_for(catalogue)
    events, err = run(model, endpoint_for(server, model))
    assert err is None
    assert text_of(events) == TEXT
    assert events[-1] == Finished("stop", 1234, 56)
    assert len([e for e in events if isinstance(e, Delta)]) == len(TEXT) // 5 + 1


def test_text_arrives_before_the_last_chunk_is_sent(catalogue, server):
    gate = threading.Event()
    server.script(answer(TEXT, chunk_size=4, gate=gate, gate_after=3))
    model = model_for(catalogue)
    got = []
    for ev in stream_review(model, endpoint_for(server, model), make_request(), settings=FAST):
        if isinstance(ev, Delta):
            got.append(ev.text)
            if len(got) == 3:
                assert not gate.is_set()  # the server is still holding the rest
                gate.set()
    assert "".join(got) == TEXT


def test_finish_reason_length_is_passed_through(catalogue, server):
    server.script(answer("cut short", finish_reason="length"))
    model = model_for(catalogue)
    events, err = run(model, endpoint_for(server, model))
    assert err is None and finished(events).finish_reason == "length"


def test_finish_reason_content_filter_is_passed_through(catalogue, server):
    server.script(answer("", finish_reason="content_filter"))
    model = model_for(catalogue)
    events, err = run(model, endpoint_for(server, model))
    assert err is None and finished(events).finish_reason == "content_filter"


def test_streaming_status_is_reported_once_connected(catalogue, server):
    model = model_for(catalogue)
    events, _ = run(model, endpoint_for(server, model))
    assert isinstance(events[0], Status) and events[0].state == "streaming"


def test_error_event_mid_stream_fails_after_first_token_keeping_partial_text(catalogue, server):
    server.script(error_event(TEXT, chunks=2, message="Model overloaded, sorry", chunk_size=5))
    model = model_for(catalogue)
    events, err = run(model, endpoint_for(server, model))
    assert text_of(events) == TEXT[:10]
    assert err.after_first_token and "Model overloaded, sorry" in err.message
    assert len(server.requests) == 1  # never retried after text


def test_error_event_before_any_text_is_retried(catalogue, server):
    server.script(error_event(TEXT, chunks=0, message="server overloaded"), answer("fine"))
    model = model_for(catalogue)
    events, err = run(model, endpoint_for(server, model))
    assert err is None and text_of(events) == "fine" and len(server.requests) == 2


def test_stream_without_done_or_finish_reason_is_an_error(catalogue, server):
    server.script(no_done("half an answer"))
    model = model_for(catalogue, max_output_tokens=100)
    events, err = run(model, endpoint_for(server, model))
    assert text_of(events) == "half an answer"
    assert err.message == "OpenAI's stream ended before the answer was complete."
    assert err.after_first_token and err.retryable


def test_connection_reset_after_some_chunks_keeps_partial_text(catalogue, server):
    server.script(reset_after(TEXT, chunks=3, chunk_size=6))
    model = model_for(catalogue)
    events, err = run(model, endpoint_for(server, model))
    assert text_of(events) == TEXT[:18]
    assert err is not None and err.after_first_token
    assert err.message == "The connection to OpenAI broke."
    assert len(server.requests) == 1


def test_malformed_json_mid_stream_is_an_error_after_first_token(catalogue, server):
    server.script(malformed("abcdefghijklmnop", chunks=2, chunk_size=4))
    model = model_for(catalogue)
    events, err = run(model, endpoint_for(server, model))
    assert text_of(events) == "abcdefgh"
    assert err.after_first_token and "malformed" in err.message


def test_garbage_lines_that_are_not_json_data_are_ignored(catalogue, server):
    server.script(
        malformed("abcdefgh", chunks=1, chunk_size=4, lines=(b"garbage", b": x", b"id: 3"))
    )
    model = model_for(catalogue)
    events, err = run(model, endpoint_for(server, model))
    assert err is None and text_of(events) == "abcdefgh"


def test_malformed_event_before_text_is_retried(catalogue, server):
    server.script(malformed("abcdefgh", chunks=0), answer("ok"))
    model = model_for(catalogue)
    events, err = run(model, endpoint_for(server, model))
    assert err is None and text_of(events) == "ok"


def test_utf8_split_across_network_writes(catalogue, server):
    server.script(answer("ünïcödé ✓ 🎉 done", chunk_size=3, fragment=5))
    model = model_for(catalogue)
    events, err = run(model, endpoint_for(server, model))
    assert err is None and text_of(events) == "ünïcödé ✓ 🎉 done"
