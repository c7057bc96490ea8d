"""Feedback HTML: whatever a student wrote shows as text, never as markup or a remote load."""

import pytest

from course_utils.instructor.exports import feedback_html, render_markdown


@pytest.mark.parametrize(
    "text, absent, present",
    [
        ("<script>alert(1)</script>", "<script>", "&lt;script&gt;"),
        ('<img src="x" onerror="alert(1)">', "<img", "&lt;img"),
        ("[click](javascript:alert(1))", 'href="javascript:', "[click](javascript:alert(1))"),
        ("![me](https://tracker.example/pixel.png)", "<img", "https://tracker.example/pixel.png"),
        ("$a < b$ and **bold**", "<b>", "$a &lt; b$ and <strong>bold</strong>"),
    ],
)
def test_student_text_is_escaped(text, absent, present):
    html = render_markdown(text)
    assert absent not in html and present in html


def test_title_is_escaped():
    page = feedback_html("x", "<b>ex08</b>")
    assert "<title>&lt;b&gt;ex08&lt;/b&gt;</title>" in page
