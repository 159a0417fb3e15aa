"""Regenerate the README's screenshots of the leaderboard: one command.

    python -m regimebench.leaderboard.screenshots [--runs leaderboard/runs] [--out docs/screenshots]
                                                  [--problem NAME] [--chromium /usr/bin/chromium]

Builds the site from ``--runs`` into a temporary folder, opens it from ``file://`` in Chromium
(Playwright driving Debian's ``/usr/bin/chromium``; never a downloaded browser) and saves the
first screen of the overview and of one problem page at 1400 × 900 (a laptop) and 400 × 860
(a phone):

    overview-1400.png  overview-400.png  problem-<name>-1400.png  problem-<name>-400.png

The problem page is ``--problem``, else the one with the most run records. Charts are given
time to draw. With Pillow installed the PNGs are reduced to a 256-colour palette (every pixel
within a few levels of the original; about 40 % of the bytes), otherwise kept as Chromium wrote
them.
Files are replaced only after all four were taken. Needs the ``site-screenshots`` extra.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path

__all__ = ["SIZES", "take_screenshots", "main"]

#: (label, width, height) of each screenshot.
SIZES: tuple[tuple[str, int, int], ...] = (("1400", 1400, 900), ("400", 400, 860))
CHROMIUM = Path("/usr/bin/chromium")
_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _shrink(path: Path) -> None:
    """Re-save ``path`` as a 256-colour palette PNG if Pillow is installed (else leave it)."""
    try:
        from PIL import Image
    except ImportError:
        return
    with Image.open(path) as img:
        # Maximum coverage keeps small areas' colours (the entries' swatches, a few pixels
        # each) within a few levels of the original; median cut merged them into their
        # neighbours (errors of 50 levels on the overview), which misstates an entry's colour.
        small = img.convert("RGB").quantize(colors=256, method=Image.Quantize.MAXCOVERAGE,
                                            dither=Image.Dither.NONE)
    small.save(path, optimize=True)


def _busiest_problem(site: Path, runs: Path) -> str:
    from .load import load_runs

    loaded, _ = load_runs(runs)
    counts = Counter(item.record["spec"]["problem"] for item in loaded)
    for name, _ in counts.most_common():
        if (site / "problems" / f"{name}.html").is_file():
            return name
    return sorted(p.stem for p in (site / "problems").glob("*.html"))[0]


def take_screenshots(runs: Path, out: Path, problem: str | None = None,
                     chromium: Path = CHROMIUM) -> list[Path]:
    """Build the site from ``runs`` and write the four screenshots into ``out``.

    Returns the paths written. Raises ``SystemExit`` with a one-line reason when Chromium or
    Playwright is missing or the problem has no page.
    """
    from .render import build_site

    if not Path(chromium).exists():
        raise SystemExit(f"Chromium not found at {chromium} (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise SystemExit("needs playwright: pip install 'regimebench[site-screenshots]'") from None
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site"
        build_site(Path(runs), site)
        problem = problem or _busiest_problem(site, Path(runs))
        page_file = site / "problems" / f"{problem}.html"
        if not page_file.is_file():
            raise SystemExit(f"no problem page for {problem!r} in the built site")
        shots = Path(tmp) / "shots"
        shots.mkdir()
        taken = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(chromium), args=_ARGS)
            try:
                for label, width, height in SIZES:
                    ctx = browser.new_context(viewport={"width": width, "height": height},
                                              device_scale_factor=1)
                    pg = ctx.new_page()
                    for name, target in (("overview", site / "index.html"),
                                         (f"problem-{problem}", page_file)):
                        pg.goto(target.as_uri())
                        pg.wait_for_load_state("load")
                        pg.wait_for_timeout(800)  # let the charts draw
                        path = shots / f"{name}-{label}.png"
                        pg.screenshot(path=str(path))
                        _shrink(path)
                        taken.append(path)
                    ctx.close()
            finally:
                browser.close()
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        written = []
        for path in taken:
            dest = out / path.name
            shutil.copyfile(path, dest)
            written.append(dest)
        return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m regimebench.leaderboard.screenshots",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=Path, default=Path("leaderboard/runs"))
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    parser.add_argument("--problem", default=None)
    parser.add_argument("--chromium", type=Path, default=CHROMIUM)
    args = parser.parse_args(argv)
    for path in take_screenshots(args.runs, args.out, args.problem, args.chromium):
        print(f"{path}  {path.stat().st_size / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
