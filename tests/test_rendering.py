from reviewer.reports.rendering import render_report


def test_render_report_turns_markdown_into_html():
    html = render_report("## Missing APIs\n\n- `POST /orders`\n\n| a | b |\n|---|---|\n| 1 | 2 |\n")
    assert "<h2>Missing APIs</h2>" in html
    assert "<code>POST /orders</code>" in html
    assert "<td>1</td>" in html


def test_render_report_shows_script_tags_as_text():
    html = render_report("Before <script>alert(1)</script> after")
    assert "<script" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_render_report_drops_javascript_links():
    html = render_report("[click](javascript:alert(1)) and [ok](https://example.com)")
    assert 'href="javascript' not in html and '<a href="javascript' not in html
    assert html.count("<a ") == 1
    assert 'href="https://example.com"' in html


def test_render_report_neutralises_event_handlers_and_svg():
    html = render_report(
        '<img src=x onerror="alert(1)"> <svg onload="alert(2)"><script>x</script></svg>'
    )
    assert "<img" not in html and "<svg" not in html and "<script" not in html
    assert "&lt;img src=x onerror=" in html


def test_render_report_of_nothing_is_empty():
    assert render_report("") == ""
