"""The frames a model saw, kept as small JPEG strips in the run folder and shown on the run's page."""

from __future__ import annotations

import base64
from pathlib import Path

import cv2
import numpy as np
from fecbench_leaderboard.runfolder import make_record

from fecbench import api
from fecbench.runner.thumbs import HEIGHT, THUMBS_DIR, thumbnail_path


def test_a_run_writes_one_small_strip_per_clip_and_the_page_shows_it(tmp_path: Path) -> None:
    annotations = api.make_demo(tmp_path / "demo", clips=3)
    videos = str(tmp_path / "demo" / "videos")
    run_dir = tmp_path / "run"
    result = api.run("baseline", annotations=annotations, video_roots=[videos], output=run_dir, frames=8)
    assert result.n_failed == 0
    strips = sorted((run_dir / THUMBS_DIR).glob("*.jpg"))
    assert [p.name for p in strips] == ["0.jpg", "1.jpg", "2.jpg"]
    image = cv2.imdecode(np.frombuffer(strips[0].read_bytes(), np.uint8), cv2.IMREAD_COLOR)
    assert image.shape[0] == HEIGHT and image.shape[1] >= 8 * HEIGHT  # 8 frames side by side, wider than high
    assert image.std() > 10  # a picture, not a blank
    assert all(p.stat().st_size < 20_000 for p in strips)

    record = make_record(run_dir)
    shown = [*record.examples.worst, *record.examples.best]
    assert shown and all(base64.b64decode(c.thumbnail) == thumbnail_path(run_dir, c.id).read_bytes() for c in shown)
    api.build_leaderboard([run_dir], tmp_path / "site", reported=False)
    page = next((tmp_path / "site" / "runs").glob("*.html")).read_text()
    assert page.count('<img src="data:image/jpeg;base64,') == len(shown)

    again = tmp_path / "plain"
    api.run("baseline", annotations=annotations, video_roots=[videos], output=again, frames=8, thumbnails=False)
    assert not (again / THUMBS_DIR).exists()
    assert all(c.thumbnail is None for c in make_record(again).examples.worst)


def test_clip_ids_unsafe_in_file_names_get_a_hashed_name(tmp_path: Path) -> None:
    path = thumbnail_path(tmp_path, "../clip 7")
    assert path.parent == tmp_path / THUMBS_DIR and path.name.startswith("___clip_7-") and path.suffix == ".jpg"
    assert thumbnail_path(tmp_path, "DFEW_12.a").name == "DFEW_12.a.jpg"
