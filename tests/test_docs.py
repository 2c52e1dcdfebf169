"""The documentation site builds with `mkdocs build --strict`: every nav entry exists, every
page is in the nav, and no relative link or image points at a missing file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MKDOCS = Path(sys.executable).with_name("mkdocs")


@pytest.mark.skipif(not MKDOCS.exists(), reason="mkdocs is not installed (the docs extra)")
def test_site_builds_strict_with_every_adr_in_the_nav(tmp_path: Path) -> None:
    # given the site's sources and an empty output folder
    site = tmp_path / "site"

    # when the site is built strictly, as `make docs` does
    result = subprocess.run(
        [str(MKDOCS), "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "NO_MKDOCS_2_WARNING": "1", "HOME": str(tmp_path)},
    )

    # then it succeeds and every ADR and every guide became a page
    assert result.returncode == 0, result.stderr
    sources = sorted(
        path.relative_to(ROOT / "docs").with_suffix(".html")
        for path in (ROOT / "docs").rglob("*.md")
    )
    built = [relative for relative in sources if (site / relative).is_file()]
    assert built == sources
