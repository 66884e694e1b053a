"""The concurrent-reviews benchmark's own arithmetic: markers read from the stream,
queue waits, and the queue-while-a-slot-is-free count (no stack, no timing)."""

from bench.conc_probe import Viewer, process_tree, queued_while_free
from tests.fakes.paced_llm import marker, marker_times


def test_marker_round_trips_the_send_time_to_the_millisecond():
    assert marker_times("a " + marker(1732800000.1234) + " b" + marker(5.0)) == [
        1732800000.123,
        5.0,
    ]


def test_viewer_measures_each_marker_once_even_when_split_between_deltas():
    viewer = Viewer(0, start=100.0)
    viewer.event("id: 1\nevent: status\ndata: packing", 101.0)
    text = "lorem " + marker(102.0) + " ipsum"
    viewer.event(f"id: 2\nevent: delta\ndata: {text[:10]}", 102.5)
    viewer.event(f"id: 3\nevent: delta\ndata: {text[10:]}", 102.6)
    viewer.event("id: 4\nevent: status\ndata: done", 103.0)
    viewer.event("id: 5\nevent: done\ndata: <p>report</p>", 103.0)
    assert [round(ms) for ms in viewer.latencies_ms] == [600]
    assert (viewer.queue_wait, viewer.ttft) == (1.0, 2.5)
    assert (viewer.final, viewer.last_id, viewer.done_at) == ("done", 5, 103.0)


def test_reviews_queued_behind_full_slots_are_not_counted_but_idle_slots_are():
    def review(start, running, done):
        return Viewer(0, start=start, created_at=start, running_at=running, done_at=done)

    # Two slots busy from 0 to 10; the third waits for one of them: fair.
    fair = [review(0, 0.1, 10), review(0, 0.1, 10), review(0, 10.0, 20)]
    assert queued_while_free(fair, slots=2) == 0
    # One slot idle from 0 to 10 while the third waits: counted.
    idle = [review(0, 0.1, 10), review(0, 10.0, 20)]
    assert queued_while_free(idle, slots=2) == 1
    # Short hand-overs between a finished run and the next add up to less than 2 s.
    handover = [review(0, 0.1, 10), review(0, 0.1, 10), review(0, 10.5, 20), review(0, 10.6, 20)]
    handover += [review(0, 20.4, 30), review(0, 20.5, 30)]
    assert queued_while_free(handover, slots=2) == 0


def test_process_tree_follows_children_of_children_only():
    parents = {10: 1, 11: 10, 12: 11, 13: 1, 14: 13}
    assert process_tree(10, parents) == {10, 11, 12}
