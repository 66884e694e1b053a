"""The preview's work in the web process is bounded: at most PREVIEW_CONCURRENCY packs at a
time, repeated previews come from memory, and an overtaken request is dropped.

The requests run concurrently on one event loop (as under uvicorn), each with its own
sync thread as Django's ASGI handler gives it; the pack itself is the real one, slowed
down or held to make overlaps happen."""

import asyncio
import threading
import time

import pytest
from asgiref.sync import ThreadSensitiveContext
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import AsyncClient

from reviewer.intake import preview as preview_module
from reviewer.packing import pack as real_pack
from reviewer.reviews.models import Review
from tests.factories import SAMPLE_REPO, make_pdf, make_zip

# Requests run on threads of their own (as under the ASGI handler), so rows must be committed.
pytestmark = pytest.mark.django_db(transaction=True)

HTMX = {"HX-Request": "true"}


class PackProbe:
    """The real pack, counted; it can be slowed down or held until released."""

    def __init__(self, delay=0.0, hold_first=False):
        self.delay = delay
        self.hold_first = hold_first
        self.lock = threading.Lock()
        self.calls = 0
        self.running = 0
        self.most = 0
        self.started = threading.Event()
        self.release = threading.Event()

    def __call__(self, *args, **kwargs):
        with self.lock:
            self.calls += 1
            first = self.calls == 1
            self.running += 1
            self.most = max(self.most, self.running)
        self.started.set()
        try:
            if first and self.hold_first:
                assert self.release.wait(10), "the held pack was never released"
            time.sleep(self.delay)
            return real_pack(*args, **kwargs)
        finally:
            with self.lock:
                self.running -= 1


@pytest.fixture
def probe(monkeypatch):
    def install(**kwargs):
        p = PackProbe(**kwargs)
        monkeypatch.setattr(preview_module, "pack", p)
        return p

    return install


@pytest.fixture
def draft(client, alice, project, media_root):
    client.force_login(alice)
    client.post(
        f"/projects/{project.pk}/reviews",
        {
            "archive": SimpleUploadedFile("shop.zip", make_zip(SAMPLE_REPO)),
            "spec": SimpleUploadedFile("spec.pdf", make_pdf()),
            "preview": "1",
        },
    )
    return Review.objects.get()


class ConcurrentClient:
    """AsyncClient requests, each in a ThreadSensitiveContext like ASGIHandler's."""

    def __init__(self, user):
        self.client = AsyncClient()
        self.client.force_login(user)

    async def get(self, *args, **kwargs):
        async with ThreadSensitiveContext():
            return await self.client.get(*args, **kwargs)


@pytest.fixture
def aclient(alice):
    return ConcurrentClient(alice)


def test_at_most_preview_concurrency_packs_run_at_once(settings, probe, draft, aclient):
    settings.PREVIEW_CONCURRENCY = 2
    slow = probe(delay=0.4)

    async def main():
        # Different patterns each: no request can be answered from memory.
        return await asyncio.gather(
            *(
                aclient.get(f"/reviews/{draft.pk}/preview", {"ignore_patterns": f"x{i}/"})
                for i in range(settings.PREVIEW_CONCURRENCY + 2)
            )
        )

    responses = asyncio.run(main())
    assert [r.status_code for r in responses] == [200] * 4
    assert slow.calls == 4
    assert slow.most == settings.PREVIEW_CONCURRENCY


def test_a_repeated_preview_is_served_without_packing_again(client, probe, draft):
    counted = probe()
    url = f"/reviews/{draft.pk}/preview"
    first = client.get(url, {"ignore_patterns": "docs/"}, headers=HTMX).content
    again = client.get(url, {"ignore_patterns": "docs/"}, headers=HTMX).content
    assert counted.calls == 1 and again == first
    client.get(url, {"ignore_patterns": "docs/", "model": "deepseek-v3.2"}, headers=HTMX)
    client.get(url, {"ignore_patterns": "app/"}, headers=HTMX)
    assert counted.calls == 3  # another model or other patterns are other previews
    client.get(url, {"ignore_patterns": "docs/"}, headers=HTMX)
    assert counted.calls == 3


def test_a_request_overtaken_while_waiting_for_a_slot_is_dropped(
    settings, probe, draft, aclient, alice
):
    settings.PREVIEW_CONCURRENCY = 1
    held = probe(hold_first=True)
    url = f"/reviews/{draft.pk}/preview"
    waiting_key = (draft.pk, alice.pk)

    async def arrived(count):
        deadline = time.monotonic() + 10
        while preview_module._waiting[waiting_key] < count and time.monotonic() < deadline:
            await asyncio.sleep(0.01)

    async def main():
        # A full-page load holds the only slot while two typed requests queue behind it.
        blocker = asyncio.ensure_future(aclient.get(url, {"ignore_patterns": "x/"}))
        while not held.started.is_set():
            await asyncio.sleep(0.01)
        older = asyncio.ensure_future(aclient.get(url, {"ignore_patterns": "a/"}, headers=HTMX))
        await arrived(1)
        newer = asyncio.ensure_future(aclient.get(url, {"ignore_patterns": "b/"}, headers=HTMX))
        await arrived(2)
        held.release.set()
        return await asyncio.gather(blocker, older, newer)

    blocker, older, newer = asyncio.run(main())
    assert blocker.status_code == 200
    assert older.status_code == 204 and older["HX-Reswap"] == "none"
    assert newer.status_code == 200
    assert "<html" not in newer.content.decode() and "app/api.py" in newer.content.decode()
    assert held.calls == 2  # the blocker and the newest one; the overtaken one never packed
