"""A gateway may report its own estimate of the prompt (without the PDF's tokens): the
reported figure and our own count are both kept and shown."""

import pytest

pytestmark = pytest.mark.django_db


def test_reported_usage_is_shown_next_to_our_estimate(client, alice, make_review):
    summary = {"budget": {"total_input_tokens": 48210}}
    review = make_review(prompt_tokens=1000, pack_summary=summary)
    client.force_login(alice)
    page = client.get(f"/reviews/{review.pk}/").content.decode()
    assert "1,000 prompt + 50 completion tokens, as reported" in page
    assert "our estimate of the input: 48,210 tokens" in page
