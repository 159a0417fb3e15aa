"""``bench leaderboard build`` and ``bench leaderboard serve``: the static leaderboard site.

    bench leaderboard build [--runs leaderboard/runs] [--out leaderboard/_site]
    bench leaderboard serve [--site leaderboard/_site] [--port 8000]

``build`` never fails on a bad record: it skips it and prints one warning line per skipped file
(the one record loader: corrupt files, duplicates, links and FIFOs are skipped, never opened). It
never imports a solver entry's code: an entry that carries code is listed with a warning and
shown without its configuration until a maintainer builds with ``REGIMEBENCH_TRUST_CODE=1``. It
fails (exit 2, one line) on bad input and on the environment: an output folder that is not a
previous site, a missing Jinja2, a full disk or a read-only output folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._common import echo, fail, warn

app = typer.Typer(help="The leaderboard site: build it from run records, serve it.",
                  no_args_is_help=True)


@app.command("build")
def build(
    runs: Annotated[Path, typer.Option(help="folder of run records (searched recursively)")] =
        Path("leaderboard/runs"),
    out: Annotated[Path, typer.Option(help="output folder (replaced if it is a previous site)")] =
        Path("leaderboard/_site"),
) -> None:
    """Build the static site from the records under --runs."""
    try:
        from ..leaderboard import SiteError, build_site
    except ImportError as e:
        fail(f"{e}; install the site extra: pip install 'regimebench[site]'")
    try:
        report = build_site(runs, out)
    except SiteError as e:
        fail(str(e))
    except ImportError as e:
        fail(str(e))
    except OSError as e:  # a full disk, a read-only folder
        where = f" ({e.filename})" if e.filename else ""
        fail(f"cannot write the site under {out}: {e.strerror or e}{where}")
    for w in report.warnings:
        warn(w)
    echo(f"built {report.pages} page(s) from {report.records} record(s) in {report.groups} "
         f"group(s) into {report.out}; open {report.out / 'index.html'} or run "
         "`bench leaderboard serve`")


@app.command("serve")
def serve(
    site: Annotated[Path, typer.Option(help="a built site folder")] = Path("leaderboard/_site"),
    port: Annotated[int, typer.Option(help="TCP port on 127.0.0.1 (0: any free port)")] = 8000,
) -> None:
    """Serve a built site on http://127.0.0.1:PORT/ until interrupted."""
    from ..leaderboard.serve import make_server

    if not (site / "index.html").is_file():
        fail(f"{site} holds no built site (no index.html); run `bench leaderboard build` first")
    if not 0 <= port <= 65535:
        fail(f"--port must be between 0 and 65535, got {port}")
    try:
        server = make_server(site, port)
    except OSError as e:
        fail(f"cannot listen on 127.0.0.1:{port}: {e.strerror or e}")
    echo(f"serving {site} at http://127.0.0.1:{server.server_port}/ (Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
