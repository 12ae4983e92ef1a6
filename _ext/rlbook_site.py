"""A local Sphinx extension: keep every page free of scripts the book does not use.

Jupyter Book 1 always loads sphinx-thebe, which adds its configuration script once
per build to the app; an incremental build declares `THEBE_JS_URL` twice and the
browser reports an error. The book has no live code cells, so thebe's scripts are
dropped from every page, and any other script listed twice is kept once.
"""


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


def setup(app):
    app.connect("html-page-context", _drop_unused_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
