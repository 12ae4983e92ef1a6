"""The built website in a real browser (headless Chromium through Playwright).

`bash scripts/book test` builds the site before running pytest. Every page must load
with no console errors and no failed or external requests, every image must load and
have alt text and a caption, math must be rendered by the MathJax copy inside the
build, internal links must resolve, and axe-core's WCAG 2 A and AA rules must find no
violation. Screenshots of each chapter's first screen are saved in _build/screenshots/.
The second half proves the checker can fail.
"""

import json
import re
from pathlib import Path

import pytest
import yaml

from rlbook_utils.exercises import repo_root
from sitecheck import axe_script, check_site, chromium_executable, site_pages

SITE = repo_root() / "_build" / "html"
SCREENSHOTS = repo_root() / "_build" / "screenshots"


@pytest.fixture(scope="module", autouse=True)
def chromium():
    assert chromium_executable(), ("no Chromium found: `bash scripts/book test` installs "
                                   "it (apt-get install chromium), or set RLBOOK_CHROMIUM")


@pytest.fixture(scope="module")
def axe():
    path = axe_script()
    assert path.exists(), (f"axe-core is not installed at {path}: `bash scripts/book test` "
                           "installs it (npm ci, pinned by scripts/axe/package-lock.json)")
    return path


@pytest.fixture(scope="module")
def site_reports(axe):
    assert (SITE / "intro.html").exists(), "build the site first: bash scripts/book build"
    lessons = tuple(page for page in site_pages(SITE) if page.endswith("lesson.html"))
    return {report.page: report for report in
            check_site(SITE, screenshots=SCREENSHOTS, screenshot_pages=lessons, axe=axe)}


def test_every_page_is_clean_in_the_browser(site_reports):
    problems = [f"{page}: {problem}" for page, report in site_reports.items()
                for problem in report.problems]
    assert not problems, "\n".join(problems)


def test_every_page_passes_axe_core_wcag_2_a_and_aa(site_reports):
    violations = [f"{page}: {violation}" for page, report in site_reports.items()
                  for violation in report.accessibility]
    assert not violations, "axe-core, WCAG 2 A and AA:\n" + "\n".join(violations)


def test_the_audit_is_the_pinned_axe_core(axe):
    pinned = json.loads((repo_root() / "scripts" / "axe" / "package.json").read_text())
    installed = json.loads((axe.parent / "package.json").read_text())
    assert installed["version"] == pinned["dependencies"]["axe-core"], (
        "re-run `bash scripts/book test` to install the pinned axe-core")


def test_every_page_shows_one_search_box(site_reports):
    counts = {page: report.search_boxes for page, report in site_reports.items()}
    assert set(counts.values()) == {1}, counts


def test_the_intro_and_the_header_link_to_the_repository():
    url = yaml.safe_load((repo_root() / "_config.yml").read_text())["repository"]["url"]
    intro = (SITE / "intro.html").read_text()
    text_link = re.search(rf'<a class="reference external" href="{re.escape(url)}">', intro)
    assert text_link, f"the intro's text has no link to {url} ({{{{ repository }}}})"
    for page in sorted(SITE.glob("chapters/*/lesson.html")):
        assert f'href="{url}"' in page.read_text(), f"{page}: no repository button"


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
    page = ('<!doctype html><html lang="en"><head><title>t</title>{head}</head><body>'
            '<main>{body}</main></body></html>')
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
        "inaccessible.html": ("", '<p style="color: #999; background: #fff">faint</p>'
                                  '<details><summary><span></span></summary>x</details>'),
    }
    for name, (head, body) in pages.items():
        (folder / name).write_text(page.format(head=head, body=body))


@pytest.fixture(scope="module")
def broken_reports(tmp_path_factory, axe):
    folder = tmp_path_factory.mktemp("broken_site")
    make_broken_site(folder)
    return {report.page: " | ".join(report.problems + report.accessibility)
            for report in check_site(folder, axe=axe)}


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
    ("no_caption.html", "image-alt (1 element)"),
    ("inaccessible.html", "color-contrast (1 element)"),
    ("inaccessible.html", "summary-name (1 element)"),
])
def test_checker_catches_each_defect(broken_reports, page, expected):
    assert expected in broken_reports[page], broken_reports[page]
