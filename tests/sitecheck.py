"""Check a built site in a real browser: headless Chromium driven by Playwright.

`check_site(folder)` serves `folder` on 127.0.0.1, opens every page, and returns the
problems a reader would meet: console errors, failed or external requests, images
that do not load or have no alt text, figures without captions, math left raw or not
rendered by MathJax, and internal links to pages or anchors that do not exist. Given
axe-core's script (`axe_script()`), it also runs axe-core's WCAG 2 A and AA rules on
each page and reports every violation.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urldefrag, urljoin, urlparse

CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"]
SKIPPED_PAGES = {"genindex.html", "search.html", "index.html"}  # index: a redirect
# axe-core's rules for WCAG 2.0 and 2.1, levels A and AA.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# Where `bash scripts/book test` installs axe-core (scripts/axe/package.json pins it).
AXE_SCRIPT = Path(__file__).resolve().parents[1] / ".venv" / "axe" / "node_modules" / \
    "axe-core" / "axe.min.js"


def chromium_executable() -> str | None:
    return os.environ.get("RLBOOK_CHROMIUM") or shutil.which("chromium") or shutil.which(
        "chromium-browser")


def axe_script() -> Path:
    return Path(os.environ.get("RLBOOK_AXE") or AXE_SCRIPT)


@dataclass
class PageReport:
    page: str
    problems: list[str] = field(default_factory=list)
    accessibility: list[str] = field(default_factory=list)  # axe-core's violations
    search_boxes: int = 0  # search fields and buttons a reader sees


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class LocalServer:
    """A static file server on 127.0.0.1 (a free port), for the length of a `with`."""

    def __init__(self, folder: Path):
        handler = functools.partial(_QuietHandler, directory=str(folder))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self):
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def site_pages(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*.html")
                  if not path.relative_to(folder).parts[0].startswith("_")
                  and str(path.relative_to(folder)) not in SKIPPED_PAGES)


_RENDER_CHECKS = """async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  await Promise.all(Array.from(document.images).map(img => img.complete ? null :
      new Promise(done => { img.addEventListener('load', done);
                            img.addEventListener('error', done); })));
  const body = document.body.cloneNode(true);
  body.querySelectorAll('pre, code, script, style, mjx-container').forEach(e => e.remove());
  const text = body.textContent;
  const content = document.querySelector('main') || document.body;
  return {
    hasMathSource: document.querySelectorAll('.math, span.math, div.math').length,
    mathJaxOutput: document.querySelectorAll('mjx-container').length,
    rawDisplayMath: text.includes('$$'),
    rawInlineMath: /\\\\\\(|\\\\\\[/.test(text),
    brokenImages: Array.from(document.images)
        .filter(img => !(img.complete && img.naturalWidth > 0)).map(img => img.src),
    imagesWithoutAlt: Array.from(content.querySelectorAll('img'))
        .filter(img => !(img.getAttribute('alt') || '').trim()).map(img => img.src),
    figuresWithoutCaption: Array.from(content.querySelectorAll('img'))
        .filter(img => !img.closest('figure') || !img.closest('figure').querySelector('figcaption'))
        .map(img => img.src),
    links: Array.from(document.querySelectorAll('a[href]')).map(a => a.href),
    searchBoxes: Array.from(document.querySelectorAll(
        '.search-button__button, input[type=search]')).filter(e => e.checkVisibility()).length,
  };
}"""


_AXE_RUN = """async tags => {
  const result = await axe.run(document, {runOnly: {type: 'tag', values: tags},
                                          resultTypes: ['violations']});
  return result.violations.map(v => ({id: v.id, help: v.help, count: v.nodes.length,
                                      targets: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
}"""


def check_site(folder: str | Path, screenshots: Path | None = None,
               screenshot_pages: tuple[str, ...] = (),
               axe: str | Path | None = None) -> list[PageReport]:
    """Every page's problems; with `axe` (the path of axe.min.js), its WCAG violations."""
    from playwright.sync_api import sync_playwright

    folder = Path(folder)
    axe_source = Path(axe).read_text() if axe else None
    reports = []
    with LocalServer(folder) as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_executable(),
                                             args=CHROMIUM_FLAGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        for page_path in site_pages(folder):
            report = PageReport(page_path)
            page = context.new_page()
            page.on("console", lambda message, r=report: message.type == "error"
                    and r.problems.append(f"console error: {message.text}"))
            page.on("pageerror", lambda error, r=report: r.problems.append(
                f"script error: {error}"))
            page.on("requestfailed", lambda request, r=report: r.problems.append(
                f"failed request: {request.url} ({request.failure})"))

            page.route("**/*", _local_only(server.origin, report))
            response = page.goto(f"{server.origin}/{page_path}", wait_until="load")
            if response is None or response.status != 200:
                report.problems.append(f"page did not load: {response and response.status}")
            # Not "networkidle": a busy machine can keep one connection open past any
            # limit. The checks wait for what they inspect: MathJax's typesetting and
            # every image's load or error.
            found = page.evaluate(_RENDER_CHECKS)
            if found["hasMathSource"] and not found["mathJaxOutput"]:
                report.problems.append("math is not rendered: no MathJax output on the page")
            if found["rawDisplayMath"] or found["rawInlineMath"]:
                report.problems.append("raw TeX left in the page text ($$, \\( or \\[)")
            report.problems += [f"image does not load: {src}" for src in found["brokenImages"]]
            report.problems += [f"image without alt text: {src}"
                                for src in found["imagesWithoutAlt"]]
            report.problems += [f"figure without a caption: {src}"
                                for src in found["figuresWithoutCaption"]]
            report.problems += _broken_links(folder, server.origin, page_path, found["links"])
            report.search_boxes = found["searchBoxes"]
            if axe_source is not None:
                page.add_script_tag(content=axe_source)
                report.accessibility = [
                    f"{v['id']} ({v['count']} element{'s' * (v['count'] > 1)}): {v['help']}:"
                    f" {', '.join(v['targets'])}" for v in page.evaluate(_AXE_RUN, AXE_TAGS)]
            if screenshots is not None and page_path in screenshot_pages:
                screenshots.mkdir(parents=True, exist_ok=True)
                name = page_path.replace("/", "_").removesuffix(".html") + ".png"
                page.screenshot(path=str(screenshots / name))
            page.close()
            reports.append(report)
        browser.close()
    return reports


def _local_only(origin: str, report: PageReport):
    """A route handler: serve the site's own files, refuse (and record) the rest."""
    def route(route_, request):
        if request.url.startswith(origin) or request.url.startswith(("data:", "blob:")):
            return route_.continue_()
        report.problems.append(f"external request: {request.url}")
        return route_.abort()
    return route


@functools.lru_cache(maxsize=None)
def _ids_in(path: Path) -> frozenset:
    return frozenset(re.findall(r'\sid="([^"]+)"', path.read_text(errors="replace")))


def _broken_links(folder: Path, origin: str, page_path: str, links: list[str]) -> list[str]:
    problems = []
    base = f"{origin}/{page_path}"
    for link in dict.fromkeys(links):
        url, fragment = urldefrag(urljoin(base, link))
        if not url.startswith(origin):
            continue
        target = folder / unquote(urlparse(url).path.lstrip("/"))
        if target.is_dir():
            target = target / "index.html"
        if not target.exists():
            problems.append(f"broken link: {link}")
        elif fragment and target.suffix == ".html" and fragment not in _ids_in(target):
            problems.append(f"broken anchor: {link}")
    return problems
