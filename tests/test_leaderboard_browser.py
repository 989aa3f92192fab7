"""The built site in a real browser: Debian's headless Chromium, driven by Playwright.

Playwright (pinned in the ``test`` extra) drives the system browser through ``executable_path``;
no browser is downloaded. The site holds two standard tracks, a run with a failed clip, the
authors' reported rows, and a record crafted to inject markup, attributes, script and a
``javascript:`` URL. The checks: the ranking renders, sorting works, every link resolves, the
console stays clean, no request leaves the site (from ``file://`` and from an HTTP host), and the
crafted strings stay text. A screenshot of the index is kept (path printed; folder from
``FECBENCH_TEST_ARTIFACTS``, else ``<tmp>/fecbench-test-artifacts``).

Chromium is looked for in ``FECBENCH_CHROMIUM``, then ``chromium`` on PATH. Without it (or without
Playwright) the tests skip and say why, unless ``FECBENCH_REQUIRE_BROWSER=1`` or ``CI=true``, which
turns the skip into a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from conftest import TEST_PLUGINS, fec_bench_test_json_path
from test_leaderboard import (
    RESULTS,
    evil_record,
    evil_reported,
    fec_clips,
    make_run,
    standard_runs,
)

from fecbench import api

# CI must exercise the browser: there a missing Chromium is a failure, never a silent skip.
REQUIRE = os.environ.get("FECBENCH_REQUIRE_BROWSER") == "1" or os.environ.get("CI") == "true"
INSTALL = "install Debian's package (apt-get install -y chromium) or set FECBENCH_CHROMIUM to a Chromium binary"


def _unavailable(reason: str) -> None:
    if REQUIRE:
        pytest.fail(f"{reason} (FECBENCH_REQUIRE_BROWSER=1)")
    pytest.skip(reason)


def chromium_path() -> str:
    for candidate in (os.environ.get("FECBENCH_CHROMIUM"), shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    _unavailable(f"Chromium not found: {INSTALL}")
    raise AssertionError("unreachable")


def artifacts_dir() -> Path:
    root = os.environ.get("FECBENCH_TEST_ARTIFACTS") or str(Path(tempfile.gettempdir()) / "fecbench-test-artifacts")
    path = Path(root) / "leaderboard"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A site with standard tracks, a failed clip, reported rows and a crafted record, built once."""
    root = tmp_path_factory.mktemp("browser")
    test_json = fec_bench_test_json_path()
    from fecbench.plugins import plugin_manager

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FECBENCH_CACHE_DIR", str(root / "cache"))
        mp.setenv("FECBENCH_OFFLINE", "1")
        mp.syspath_prepend(str(TEST_PLUGINS))
        mp.setenv("FECBENCH_PLUGINS", "fecbench_test_judges")
        plugin_manager.cache_clear()
        clips = fec_clips(test_json)
        runs = standard_runs(root / "runs", clips)
        # judge-free terse captions: a CIDEr-D near 1e-25, once printed in scientific notation and cut off in charts
        runs["terse"] = make_run(root / "runs", "terse", clips, lambda i, c: "The person smiles.", judge=None)
        inputs = [*runs.values(), evil_record(root, clips), evil_reported(root), RESULTS / "reported"]
        api.build_leaderboard(inputs, root / "site")
    plugin_manager.cache_clear()
    yield root / "site"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    path = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright is not installed: pip install 'fecbench[test]'")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, headless=True)
        yield launched
        launched.close()


class Watch:
    """Everything a page does that a static leaderboard must not: errors, dialogs, requests elsewhere."""

    def __init__(self, page: Any) -> None:
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.requests: list[str] = []
        page.on("console", lambda m: self.errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        page.on("dialog", self._dialog)
        page.on("request", lambda r: self.requests.append(r.url))

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()


def column(page: Any, table: str, header: str) -> list[str]:
    """The data-sort values of one column, in the order the rows are shown."""
    return page.eval_on_selector(
        table,
        """(t, header) => {
            const col = [...t.tHead.rows[0].cells].findIndex(th => th.matches(header));
            return [...t.tBodies[0].rows].map(r => r.cells[col].getAttribute("data-sort"));
        }""",
        header,
    )


def numbers(values: list[str]) -> list[float]:
    return [float(v) for v in values if v]


def test_site_in_chromium_from_file(site: Path, browser: Any, capsys: pytest.CaptureFixture[str]) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    watch = Watch(page)
    page.goto((site / "index.html").as_uri())

    # the ranking renders: the standard track of the keyword judge holds three runs, ranked 1..3 by TEM
    table = "table.ranking:has(tbody tr:nth-child(3))"
    assert page.locator(table).count() == 1
    assert page.locator(f"{table} tbody tr").count() == 3
    assert column(page, table, "th:first-child") == ["1", "2", "3"]
    tem = numbers(column(page, table, "[data-metric='tem']"))
    assert tem == sorted(tem, reverse=True)
    assert page.locator("button.sort").count() > 20  # the inline script turned headers into buttons

    # sorting works: ROUGE-L best first, then ascending, then back to the ranking by "#"
    page.click(f"{table} th[data-metric='rouge_l'] button")
    rouge = numbers(column(page, table, "[data-metric='rouge_l']"))
    assert rouge == sorted(rouge, reverse=True) and len(rouge) == 3
    assert page.get_attribute(f"{table} th[data-metric='rouge_l']", "aria-sort") == "descending"
    page.click(f"{table} th[data-metric='rouge_l'] button")
    assert numbers(column(page, table, "[data-metric='rouge_l']")) == sorted(rouge)
    page.click(f"{table} th:first-child button")
    assert column(page, table, "th:first-child") == ["1", "2", "3"]
    assert page.get_attribute(f"{table} th:first-child", "aria-sort") == "ascending"
    # the paper's table (after the crafted copy of it), collapsed below the measured runs, sorts on its own
    assert not page.is_visible("section#reported-2 table")
    page.click("details.reported-sets > summary")
    reported = "section#reported-2 table"
    page.click(f"{reported} th[data-metric='tem'] button")
    figures = column(page, reported, "[data-metric='tem']")
    assert figures[0] == "0.364" and numbers(figures) == sorted(numbers(figures), reverse=True)
    assert page.locator("table.ranking tr.reported").count() == 0

    shot = artifacts_dir() / "leaderboard-index.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    with capsys.disabled():
        print(f"\nleaderboard screenshot: {shot}")

    # every page: its links resolve and the crafted record changed nothing (no extra script, element or
    # handler; its strings are text)
    pages = [site / "index.html", site / "charts.html", site / "metrics.html", *sorted((site / "runs").glob("*.html"))]
    pages += sorted((site / "compare").glob("*.html"))
    assert len(pages) == 3 + 5 + 3  # 5 runs; 3 compare pages, one per pair of the keyword judge's track
    ids: dict[Path, set[str]] = {}
    links: list[tuple[Path, Path, str]] = []
    external: set[str] = set()
    for source in pages:
        page.goto(source.as_uri())
        found = page.evaluate(
            """() => ({
                hrefs: [...document.querySelectorAll("a[href]")].map(a => a.href),
                ids: [...document.querySelectorAll("[id]")].map(e => e.id),
                scripts: document.scripts.length,
                active: document.querySelectorAll('img, iframe, object, embed, form, input, base, [onerror], '
                    + '[onmouseover], [onclick], [data-x], a[href^="javascript"]').length,
                pwned: typeof window.pwned,
            })"""
        )
        assert found["scripts"] == (1 if source.name == "index.html" else 0), source
        assert found["active"] == 0 and found["pwned"] == "undefined", source
        ids[source] = set(found["ids"])
        for href in found["hrefs"]:
            parts = urlsplit(href)
            if parts.scheme in ("http", "https"):
                external.add(href)
            else:
                assert parts.scheme == "file", (source, href)
                links.append((source, Path(unquote(parts.path)), parts.fragment))
    for source, target, fragment in links:
        assert target in ids, (source, target)  # every in-site link is one of the site's pages
        assert not fragment or fragment in ids[target], (source, target, fragment)
    assert len(links) > 40 and sum(1 for *_, f in links if f) > 10
    assert sum(1 for _, target, _ in links if target.parent.name == "compare") >= 3  # every compare page is linked
    assert external == {"https://arxiv.org/abs/2501.07978", "https://github.com/HumanMLLM/HumanOmni"}
    evil_page = next(p for p in pages if p.parent.name == "runs" and p.name.startswith("script-alert"))
    page.goto(evil_page.as_uri())
    assert page.inner_text("h1").startswith('<script>alert("pwned")</script><img src=x onerror="alert(1)">')
    assert "javascript:alert(3)" in page.inner_text("main")

    assert watch.errors == [] and watch.dialogs == []
    outside = [url for url in watch.requests if not url.startswith(site.as_uri() + "/")]
    assert outside == [], outside
    page.close()


def test_site_in_chromium_from_a_static_host(site: Path, browser: Any) -> None:
    server = api.leaderboard_server(site, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        origin = f"http://{host}:{port}"
        page = browser.new_page()
        watch = Watch(page)
        response = page.goto(f"{origin}/")
        assert response is not None and response.status == 200
        assert page.locator("table.ranking tbody tr").count() == 5  # three runs + the other judge's + no judge
        link = page.locator("table.ranking a").first
        name = link.inner_text()
        with page.expect_navigation():
            link.click()
        assert page.url.startswith(f"{origin}/runs/") and page.inner_text("h1") == name
        page.click("header nav a[href$='charts.html']")
        assert page.locator("svg.chart").count() >= 8
        assert watch.errors == [] and watch.dialogs == []
        assert [url for url in watch.requests if not url.startswith(origin + "/")] == []
        page.close()
    finally:
        server.shutdown()
        server.server_close()


def test_measured_runs_lead_numbers_are_plain_and_no_chart_label_is_clipped(
    site: Path, browser: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto((site / "index.html").as_uri())
    # order: the measured runs come first; the authors' rows follow, collapsed, and below them when opened
    measured_y = page.eval_on_selector_all(
        "table.ranking tbody tr", "rows => rows.map(r => r.getBoundingClientRect().bottom + window.scrollY)"
    )
    summary_y = page.eval_on_selector(
        "details.reported-sets > summary", "s => s.getBoundingClientRect().top + window.scrollY"
    )
    assert measured_y and max(measured_y) < summary_y
    assert not page.is_visible("tr.reported")  # collapsed
    page.click("details.reported-sets > summary")
    reported_y = page.eval_on_selector_all(
        "tr.reported", "rows => rows.map(r => r.getBoundingClientRect().top + window.scrollY)"
    )
    assert reported_y and min(reported_y) > max(measured_y)
    # ties: the track's rule is stated
    assert "marks a run tied with the run ranked just above it" in page.inner_text("main")

    shots = artifacts_dir()
    kinds = {
        "index": site / "index.html",
        "charts": site / "charts.html",
        "run": next((site / "runs").glob("strong*.html")),
        "compare": next((site / "compare").glob("*.html")),
    }
    for kind, path in kinds.items():
        page.goto(path.as_uri())
        text = page.inner_text("body")
        # numbers at their metric's scale: never scientific notation anywhere on the page
        assert not re.search(r"\de[-+]\d", text), (kind, re.search(r".{20}\de[-+]\d.{10}", text))
        # every SVG text lies wholly inside its chart: no label is cut at the edge
        clipped = page.evaluate(
            """() => [...document.querySelectorAll("svg.chart")].flatMap(svg => {
                const box = svg.getBoundingClientRect();
                return [...svg.querySelectorAll("text")].map(t => [t.textContent, t.getBoundingClientRect()])
                    .filter(([_, r]) => r.left < box.left - 0.5 || r.right > box.right + 0.5
                        || r.top < box.top - 0.5 || r.bottom > box.bottom + 0.5)
                    .map(([text]) => text);
            })"""
        )
        assert clipped == [], (kind, clipped)
        page.screenshot(path=str(shots / f"leaderboard-{kind}.png"), full_page=True)
    assert page.locator("svg.chart").count() == 0  # the last page is the compare page
    with capsys.disabled():
        print(f"\nleaderboard screenshots: {shots}/leaderboard-{{index,charts,run,compare}}.png")
    page.close()


def test_the_compare_page_of_two_runs(site: Path, browser: Any) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    watch = Watch(page)
    page.goto((site / "index.html").as_uri())
    link = page.locator("p.compares a", has_text=re.compile(r"^strong .* vs weak "))
    label = link.inner_text()
    with page.expect_navigation():
        link.click()
    upper, lower = label.split(" vs ")
    assert page.inner_text("h1.compare-title") == f"{upper} vs {lower}"
    rows = page.locator("table.compare tbody tr")
    assert rows.count() >= 4 * 8  # every metric, overall and for each of the seven sources
    overall = page.locator("table.compare tr.overall")
    tem = overall.filter(has=page.locator("td:first-child", has_text=re.compile(r"^TEM$"))).locator("td")
    tem = tem.all_inner_texts()
    assert tem[1] == "all" and re.fullmatch(r"[+-]\d\.\d{3}", tem[5]) and tem[6].startswith("[")
    assert re.fullmatch(r"\d+\.\d%", tem[7])
    moved = page.locator("article.clip")
    assert moved.count() >= 1 and moved.first.locator("h5").count() == 3  # reference, A's and B's caption
    page.click("text=their track on the ranking")
    assert page.url.endswith("index.html#" + page.url.split("#")[1])
    assert watch.errors == [] and watch.dialogs == []
    page.close()
