"""The built website in a real browser (headless Chromium through Playwright).

`bash scripts/book test` builds the site before running pytest. Every page must load
with no console errors and no failed or external requests, every image must load and
have alt text and a caption, math must be rendered by the MathJax copy inside the
build, and internal links must resolve. Screenshots of each chapter's first screen are
saved in _build/screenshots/. The second half proves the checker can fail.
"""

from pathlib import Path

import pytest

from rlbook_utils.exercises import repo_root
from sitecheck import check_site, chromium_executable, site_pages

SITE = repo_root() / "_build" / "html"
SCREENSHOTS = repo_root() / "_build" / "screenshots"


@pytest.fixture(scope="module", autouse=True)
def chromium():
    assert chromium_executable(), ("no Chromium found: `bash scripts/book test` installs "
                                   "it (apt-get install chromium), or set RLBOOK_CHROMIUM")


@pytest.fixture(scope="module")
def site_reports():
    assert (SITE / "intro.html").exists(), "build the site first: bash scripts/book build"
    lessons = tuple(page for page in site_pages(SITE) if page.endswith("lesson.html"))
    return {report.page: report for report in
            check_site(SITE, screenshots=SCREENSHOTS, screenshot_pages=lessons)}


def test_every_page_is_clean_in_the_browser(site_reports):
    problems = [f"{page}: {problem}" for page, report in site_reports.items()
                for problem in report.problems]
    assert not problems, "\n".join(problems)


def test_every_chapter_lesson_and_exercise_page_is_on_the_site(site_reports):
    for lesson in sorted((repo_root() / "chapters").glob("*/lesson.ipynb")):
        chapter = lesson.parent.name
        assert f"chapters/{chapter}/lesson.html" in site_reports
        assert f"chapters/{chapter}/exercises.html" in site_reports


def test_each_lesson_has_a_screenshot(site_reports):
    for page in site_reports:
        if page.endswith("lesson.html"):
            assert (SCREENSHOTS / (page.replace("/", "_").removesuffix(".html") + ".png")).exists()


def test_the_site_needs_nothing_from_outside():
    for page in SITE.rglob("*.html"):
        text = page.read_text(errors="replace")
        assert "cdn.jsdelivr" not in text and "<script src=\"http" not in text, page


def test_each_lesson_opens_with_what_you_will_learn_and_ends_with_a_summary():
    for page in sorted(SITE.glob("chapters/*/lesson.html")):
        text = page.read_text(errors="replace")
        assert "What you will learn" in text, f"{page}: no 'What you will learn'"
        assert "Summary" in text, f"{page}: no 'Summary'"


# --------------------------------------------------------------------------- #
# The checker can fail: a tiny site with one defect per page
# --------------------------------------------------------------------------- #
def make_broken_site(folder: Path) -> None:
    png = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06"
           b"\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01"
           b"\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")
    (folder / "ok.png").write_bytes(png)
    page = "<!doctype html><html><head><title>t</title>{head}</head><body><main>{body}</main></body></html>"
    pages = {
        "good.html": ("", '<figure><img src="ok.png" alt="a dot"><figcaption>A dot.'
                          '</figcaption></figure><a href="good.html">me</a>'),
        "broken_image.html": ("", '<figure><img src="missing.png" alt="gone">'
                                  '<figcaption>Gone.</figcaption></figure>'),
        "raw_math.html": ("", '<p>The return is $$G_0 = \\sum_t \\gamma^t r_{t+1}$$</p>'
                              '<span class="math">\\(x\\)</span>'),
        "external_script.html": ('<script src="https://cdn.example.com/lib.js"></script>', "<p>hi</p>"),
        "broken_link.html": ("", '<a href="nowhere.html">lost</a><a href="good.html#nope">x</a>'),
        "no_caption.html": ("", '<img src="ok.png">'),
    }
    for name, (head, body) in pages.items():
        (folder / name).write_text(page.format(head=head, body=body))


@pytest.fixture(scope="module")
def broken_reports(tmp_path_factory):
    folder = tmp_path_factory.mktemp("broken_site")
    make_broken_site(folder)
    return {report.page: " | ".join(report.problems) for report in check_site(folder)}


def test_checker_passes_a_clean_page(broken_reports):
    assert broken_reports["good.html"] == ""


@pytest.mark.parametrize("page, expected", [
    ("broken_image.html", "image does not load"),
    ("raw_math.html", "raw TeX left in the page text"),
    ("raw_math.html", "math is not rendered"),
    ("external_script.html", "external request: https://cdn.example.com/lib.js"),
    ("broken_link.html", "broken link: "),
    ("broken_link.html", "broken anchor: "),
    ("no_caption.html", "image without alt text"),
    ("no_caption.html", "figure without a caption"),
])
def test_checker_catches_each_defect(broken_reports, page, expected):
    assert expected in broken_reports[page], broken_reports[page]
