"""Write the site's files from a :class:`~fecbench_leaderboard.views.Site` with jinja2.

Autoescaping is on for every template, and each page carries a Content-Security-Policy that
allows only its own inlined stylesheet and script (by hash) and fetches nothing: even markup that
escaped escaping could neither run nor load anything. Style and script are inlined, so a page
works opened from ``file://`` as well as from any static host, alone or with its neighbours.
"""

from __future__ import annotations

import base64
import hashlib
from importlib import resources
from pathlib import Path

import jinja2
from markupsafe import Markup

from fecbench_leaderboard.views import Site

PAGES = ("index.html", "charts.html", "metrics.html")


def _asset(name: str) -> str:
    return resources.files("fecbench_leaderboard").joinpath("static", name).read_text(encoding="utf-8")


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


def csp(css: str, js: str | None) -> str:
    """The page's policy: nothing from anywhere, except its own inline style and script."""
    script = _sha256(js) if js is not None else "'none'"
    return (
        f"default-src 'none'; style-src {_sha256(css)}; script-src {script}; img-src data:; "
        "base-uri 'none'; form-action 'none'"
    )


def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("fecbench_leaderboard", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_site(site: Site, out_dir: Path) -> Path:
    """Write index, charts, metrics, one page per run and the compare pages under ``out_dir``; returns the index."""
    env = environment()
    css, js = _asset("style.css").strip(), _asset("sort.js").strip()
    if "</" in js or "</" in css:
        raise AssertionError("an inlined asset must not contain '</'")
    for folder in ("runs", "compare"):
        (out_dir / folder).mkdir(parents=True, exist_ok=True)
        for stale in (out_dir / folder).glob("*.html"):
            stale.unlink()  # pages of runs no longer in the records must not linger behind dead links
    common = {"site": site, "css": Markup(css)}
    for name in PAGES:
        uses_js = name == "index.html"
        html = env.get_template(name).render(
            **common, root="", js=Markup(js) if uses_js else "", csp=csp(css, js if uses_js else None)
        )
        (out_dir / name).write_text(html, encoding="utf-8")
    template = env.get_template("run.html")
    for page in site.runs:
        html = template.render(**common, page=page, root="../", js="", csp=csp(css, None))
        (out_dir / page.path).write_text(html, encoding="utf-8")
    template = env.get_template("compare.html")
    for pair in site.compares:
        html = template.render(**common, page=pair, root="../", js="", csp=csp(css, None))
        (out_dir / pair.path).write_text(html, encoding="utf-8")
    return out_dir / "index.html"
