"""A local Sphinx extension: what the site's theme leaves out, added at build time.

- Scripts the book does not use are dropped. Jupyter Book 1 always loads sphinx-thebe,
  which adds its configuration script once per build to the app; an incremental build
  declares `THEBE_JS_URL` twice and the browser reports an error. The book has no live
  code cells, so thebe's scripts are dropped from every page, and any other script
  listed twice is kept once.
- `{{ repository }}` in a page is a link to the repository named once, in
  `_config.yml` (`repository: url:`), which also drives the header's repository button.
- Accessibility (axe-core's WCAG 2 A and AA rules, checked by tests/test_site.py): the
  navigation's collapse toggles (an empty `<summary>` in pydata-sphinx-theme 0.17.1)
  are named after the section they open, and the bibliography's entries get the role
  `listitem` that their list requires instead of the deprecated `doc-biblioentry`.
"""

import re

from bs4 import BeautifulSoup  # the theme's own dependency


def _link_the_repository(app, config):
    url = config.html_theme_options.get("repository_url", "")
    config.myst_substitutions = {"repository": f"[{url.split('://')[-1]}]({url})",
                                 **config.myst_substitutions}


def _drop_unused_scripts(app, pagename, templatename, context, doctree):
    seen, kept = set(), []
    for script in context.get("script_files", []):
        body = getattr(script, "attributes", {}).get("body", "")
        key = (str(script), body)
        if "THEBE_JS_URL" in body or "sphinx-thebe" in str(script) or key in seen:
            continue
        seen.add(key)
        kept.append(script)
    context["script_files"] = kept


def name_navigation_toggles(html: str) -> str:
    """Give each empty `<summary>` of the sidebar the name of the section it opens."""
    soup = BeautifulSoup(html, "html.parser")
    for summary in soup.select("li > details > summary"):
        if summary.get_text(strip=True) or summary.get("aria-label"):
            continue
        link = summary.find_parent("li").find("a", recursive=False)
        title = " ".join(link.get_text().split()) if link else "this section"
        summary["aria-label"] = f"Pages of {title}"
    return str(soup)


def _accessible_page(app, pagename, templatename, context, doctree):
    generate = context.get("generate_toctree_html")  # set by pydata-sphinx-theme
    if generate is not None:
        def generate_named(*args, **kwargs):
            html = generate(*args, **kwargs)
            return name_navigation_toggles(str(html)) if kwargs.get("kind") == "sidebar" \
                else html
        context["generate_toctree_html"] = generate_named
    if "body" in context:
        context["body"] = re.sub(r'(<div class="citation"[^>]*) role="doc-biblioentry"',
                                 r'\1 role="listitem"', context["body"])


def setup(app):
    app.connect("config-inited", _link_the_repository)
    # After pydata-sphinx-theme's own handlers (priority 500).
    app.connect("html-page-context", _drop_unused_scripts, priority=900)
    app.connect("html-page-context", _accessible_page, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
