"""`stepthrough serve`: build into a temporary folder, serve it on 127.0.0.1, rebuild on every change
to the content or the templates, and reload the open page.

The site on disk is exactly what `stepthrough build` writes; only the pages this server sends carry
one more script, /__stepthrough/TOKEN/serve.js. It asks /__stepthrough/TOKEN/state.js every half
second (a script tag, which the pages' Content-Security-Policy allows from 'self', where fetch would be
refused) for the build's number, reloads when it changed, and shows a failed build's message over
the page.

It answers only its own: a request must name it as 127.0.0.1:PORT or localhost:PORT (another name is
a DNS-rebinding page), and its own scripts sit under a random TOKEN and refuse a cross-site request,
so another site's <script> tag cannot read the build's messages. What the page shows of a failed
build is short and names files relative to the project; a bug's traceback stays in the terminal.

Text files (HTML, CSS, scripts, SVG, JSON) go out gzip-compressed to a browser that asks for it, as
every static host sends them: the preview loads as fast as the published site will.
"""

from __future__ import annotations

import contextlib
import gzip
import html
import http.server
import json
import re
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse
import webbrowser
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path

import click

from stepthrough import log
from stepthrough.cli import BUNDLES, CONTENT, STRICT, YES
from stepthrough.errors import StepthroughError
from stepthrough.make import build_project

HOOK = "/__stepthrough/"
POLL_SECONDS = 0.5
# Files editors write beside the one being saved; a change to them is no change to the content.
SCRATCH = (".swp", ".swx", ".tmp", "~")
# What static hosts compress; pictures (WebP, PNG) are compressed already.
COMPRESSIBLE = (".html", ".css", ".js", ".svg", ".json", ".txt")

RELOAD_JS = """\
(function () {
  "use strict";
  var me = document.currentScript;
  var shown = me.getAttribute("data-build");
  var statusPage = me.hasAttribute("data-status");  // it says why the build failed itself
  var banner = null;
  function show(message) {
    if (!message) {
      if (banner) { banner.remove(); banner = null; }
      return;
    }
    if (!banner) {
      banner = document.createElement("pre");
      banner.id = "stepthrough-serve-error";
      banner.setAttribute("role", "alert");
      var s = banner.style;
      s.position = "fixed"; s.left = s.right = s.top = "0"; s.zIndex = "2147483647"; s.margin = "0";
      s.padding = "1em"; s.maxHeight = "50vh"; s.overflow = "auto"; s.whiteSpace = "pre-wrap";
      s.background = "#7a1010"; s.color = "#fff"; s.font = "14px/1.4 ui-monospace, monospace";
      document.body.appendChild(banner);
    }
    banner.textContent = message;
  }
  window.stepthroughServe = function (state) {
    if (String(state.build) !== shown) { location.reload(); return; }
    var before = "The last build failed; this page is from the build before it.\\n\\n";
    show(state.error && !statusPage ? before + state.error : "");
  };
  var stateUrl = me.src.replace(/serve\\.js$/, "state.js");  // beside this script, under the same token
  function poll() {
    var tag = document.createElement("script");
    tag.src = stateUrl + "?" + Date.now();
    tag.onload = tag.onerror = function () { tag.remove(); setTimeout(poll, POLL_MS); };
    document.head.appendChild(tag);
  }
  if (document.readyState === "complete") { poll(); } else { window.addEventListener("load", poll); }
})();
""".replace("POLL_MS", str(int(POLL_SECONDS * 1000)))


# What the page says of a build that failed on a bug (the terminal has the traceback).
BUG_MESSAGE = (
    "The build stopped on a bug in stepthrough, not on a mistake in your content. "
    "The terminal that runs `stepthrough serve` shows the details; please report them."
)
PAGE_LINES = 20  # a failed build's message on the page: its first lines, the terminal has them all
# An absolute path's folders (/home/me/…/): the page names a file, not where it lives on this machine.
FOLDERS = re.compile(r"(?<![\w.~-])/(?:[^\s/:'\"()]+/)+")


def page_message(message: str, project: Path) -> str:
    """A build's error message as the page shows it: paths relative to `project`, other absolute
    paths by their file name, at most PAGE_LINES lines."""
    message = message.replace(f"{project.resolve()}/", "")
    message = FOLDERS.sub("", message)
    lines = message.splitlines()
    if len(lines) > PAGE_LINES:
        lines = [*lines[:PAGE_LINES], f"… and {len(lines) - PAGE_LINES} more lines in the terminal"]
    return "\n".join(lines)


class Preview:
    """The served site's folder, which build it shows, and the last build's error, if any."""

    def __init__(self, site: Path) -> None:
        self.site = site
        self.build = 0  # counts finished builds, good or bad; the page reloads when it changes
        self.error: str | None = None  # as the page shows it (page_message)
        self.good = False  # whether self.site holds a site
        # Where the server's own scripts are: only a page it served knows the token.
        self.hook = f"{HOOK}{secrets.token_urlsafe(16)}/"

    def rebuild(self, make_site: Callable[[], object]) -> None:
        """Run `make_site` (it writes self.site); keep what the page needs to know of how it went."""
        started = time.perf_counter()
        try:
            make_site()
        except click.ClickException as exc:  # the author's to fix: the message, no traceback
            click.echo(f"Build failed:\n{exc.format_message()}", err=True)
            self.error = page_message(exc.format_message(), Path.cwd())
        except Exception:  # noqa: BLE001 (a bug: the server stays up so the author can keep going)
            click.echo(f"Build failed on a bug:\n{traceback.format_exc()}", err=True)
            self.error = BUG_MESSAGE
        else:
            self.error = None
            self.good = True
            log.info(f"Ready in {time.perf_counter() - started:.1f} s; the page reloads.")
        self.build += 1

    def state_js(self) -> str:
        state = {"build": self.build, "error": self.error}
        return f"stepthroughServe({json.dumps(state)});\n"

    def with_hook(self, page: str, status: bool = False) -> str:
        """The page with the reload script before </body> (at the end when there is none)."""
        mark = " data-status" if status else ""
        tag = f'<script src="{self.hook}serve.js" data-build="{self.build}"{mark}></script>\n'
        at = page.rfind("</body>")
        return page + tag if at < 0 else page[:at] + tag + page[at:]

    def status_page(self) -> str:
        """What / shows before any build has succeeded: building, or why the build failed."""
        if self.error is None:
            body = "<h1>Building the site …</h1><p>This page reloads when it is ready.</p>"
        else:
            body = f"<h1>The build failed</h1><pre>{html.escape(self.error)}</pre><p>Fix it and save.</p>"
        page = (
            '<!doctype html>\n<html lang="en"><meta charset="utf-8"><title>stepthrough serve</title>\n'
            f"<body>{body}</body></html>\n"
        )
        return self.with_hook(page, status=True)


# Sec-Fetch-Site values of a request the page itself makes, or the reader typing the address.
# ("same-site" is not enough: another server on localhost, at another port, is the same site.)
OWN_REQUESTS = ("same-origin", "none")


class Handler(http.server.SimpleHTTPRequestHandler):
    preview: Preview  # set on the subclass that serve makes

    def parse_request(self) -> bool:
        """Refuse, before any method runs, a request for another host name or an invalid path."""
        if not super().parse_request():
            return False  # the plain handler has answered it
        host = self.headers.get("Host", "").strip().lower()
        if not host:
            self.send_error(400, "A request must name the host (Host: 127.0.0.1:PORT)")
            return False
        port = self.server.server_address[1]
        names = {"127.0.0.1", "localhost"}
        if host not in {f"{name}:{port}" for name in names} and not (port == 80 and host in names):
            # A page of another site whose name now points at 127.0.0.1 (DNS rebinding).
            self.send_error(403, "This preview answers only to 127.0.0.1 and localhost")
            return False
        if self._local_path() is None:
            self.send_error(400, "Not a valid path")
            return False
        return True

    def _local_path(self) -> str | None:
        """The request's path (still percent-encoded), or None when, decoded, it cannot name a file:
        not UTF-8, a NUL or another control character, or not starting with '/'."""
        path = self.path.split("?", 1)[0].split("#", 1)[0]
        try:
            decoded = urllib.parse.unquote(path, errors="strict")
        except UnicodeDecodeError:
            return None
        if not decoded.startswith("/") or any(ord(c) < 32 or ord(c) == 127 for c in decoded):
            return None
        return path

    def do_GET(self) -> None:
        path = self._local_path()
        if path.startswith(HOOK):
            return self._own(path)
        if path.endswith(("/", ".html")):
            if not self.preview.good:
                return self._send(self.preview.status_page(), "text/html")
            file = Path(self.translate_path(path))
            file = file / "index.html" if file.is_dir() else file
            if file.is_file():
                return self._send(self.preview.with_hook(file.read_text(encoding="utf-8")), "text/html")
        file = Path(self.translate_path(path))
        if self._gzip() and file.suffix in COMPRESSIBLE and file.is_file():
            with contextlib.suppress(OSError):  # gone meanwhile (a rebuild): as the plain handler says
                return self._send_bytes(file.read_bytes(), self.guess_type(str(file)))
        return super().do_GET()

    def _own(self, path: str) -> None:
        """The server's own scripts, for its own pages only."""
        if path not in (self.preview.hook + "serve.js", self.preview.hook + "state.js"):
            return self.send_error(404)
        if self.headers.get("Sec-Fetch-Site", "none") not in OWN_REQUESTS:
            return self.send_error(403, "For the preview's own pages only")
        if path.endswith("serve.js"):
            return self._send(RELOAD_JS, "text/javascript")
        return self._send(self.preview.state_js(), "text/javascript")

    def _gzip(self) -> bool:
        """Whether the browser takes gzip (Accept-Encoding names it, without q=0)."""
        for coding in self.headers.get("Accept-Encoding", "").split(","):
            name, _, params = coding.strip().partition(";")
            if name.strip().lower() in ("gzip", "*"):
                return params.replace(" ", "").lower() not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
        return False

    def _send(self, text: str, kind: str) -> None:
        self._send_bytes(text.encode("utf-8"), f"{kind}; charset=utf-8")

    def _send_bytes(self, body: bytes, kind: str) -> None:
        compress = self._gzip()
        if compress:
            body = gzip.compress(body, compresslevel=6, mtime=0)
        self.send_response(200)
        self.send_header("Content-Type", kind)
        if compress:
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Vary", "Accept-Encoding")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")  # every reload shows the newest build
        super().end_headers()

    def log_message(self, format: str, *args) -> None:
        log.detail(f"serve: {format % args}")


class PreviewServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        """A browser that closes the connection early is no error; anything else is a bug."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


Snapshot = dict[str, tuple[int, int]]  # path → (modification time, size)


def snapshot(roots: Iterable[Path], pattern: str = "**/*") -> Snapshot:
    """Modification time and size of the files under `roots` that match `pattern`."""
    seen: Snapshot = {}
    for root in roots:
        for path in root.glob(pattern) if root.is_dir() else ():
            if path.name.startswith(".") or path.name.endswith(SCRATCH):
                continue
            with contextlib.suppress(OSError):  # deleted while we looked
                if path.is_file():
                    stat = path.stat()
                    seen[str(path)] = (stat.st_mtime_ns, stat.st_size)
    return seen


def _interrupt(signum: int, frame) -> None:
    raise KeyboardInterrupt


@click.command("serve")
@CONTENT
@BUNDLES
@click.option(
    "--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="0: any free port."
)
@click.option("--no-open", is_flag=True, help="Do not open the page in a browser.")
@click.option("--no-progress", is_flag=True, help="Hide progress bars while the builtin model renders.")
@YES
@STRICT
def command(
    content_dir: Path,
    bundles_dir: Path,
    port: int,
    no_open: bool,
    no_progress: bool,
    yes: bool,
    strict: bool,
) -> None:
    """Preview the site while you write: serve it on http://127.0.0.1:PORT/, rebuild it whenever the
    content or the templates change, and reload the open page. Ctrl-C stops.

    New prompts for the builtin model are rendered first, then the page reloads. A build that fails
    shows its message in the terminal and over the page, and the server keeps running.
    """
    if not content_dir.is_dir():
        raise StepthroughError(
            f"{content_dir}: content folder not found (expected a folder with site.toml and sections/)"
        )
    from stepthrough.site.build import TEMPLATES
    from stepthrough.widgets import __file__ as widgets_init

    workdir = Path(tempfile.mkdtemp(prefix="stepthrough-serve-"))
    log.detail(f"building into {workdir}")
    preview = Preview(workdir / "site")
    handler = type("PreviewHandler", (Handler,), {"preview": preview})
    try:
        server = PreviewServer(("127.0.0.1", port), partial(handler, directory=str(preview.site)))
    except OSError as exc:
        shutil.rmtree(workdir, ignore_errors=True)
        raise StepthroughError(
            f"127.0.0.1:{port}: cannot serve there ({exc.strerror}); choose another --port"
        )
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    threading.Thread(target=server.serve_forever, name="stepthrough-serve", daemon=True).start()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)  # `kill` cleans up like Ctrl-C

    build = partial(
        build_project,
        content_dir,
        bundles_dir,
        preview.site,
        yes=yes,
        strict=strict,
        progress=log.show_progress(no_progress),
    )
    roots = [content_dir, TEMPLATES, Path(widgets_init).parent]  # widget templates and scripts too

    def watched() -> tuple[Snapshot, Snapshot]:
        """The content and templates, and each bundle's manifest (precompute in another terminal)."""
        return snapshot(roots), snapshot([bundles_dir], "*/manifest.json")

    click.echo(f"Serving {url} (Ctrl-C stops); watching {content_dir} and the templates.")
    try:
        while True:
            files = watched()[0]  # before the build: an edit saved while it runs builds again
            preview.rebuild(build)
            seen = (files, watched()[1])  # after the build: its own renders are no change
            if not no_open and preview.build == 1:
                webbrowser.open(url)
            while (now := watched()) == seen:
                time.sleep(POLL_SECONDS)
            changed = {*now[0].items(), *now[1].items()} ^ {*seen[0].items(), *seen[1].items()}
            names = ", ".join(dict.fromkeys(Path(path).name for path, _ in sorted(changed)))
            log.info(f"Changed: {names}; rebuilding …")
    except KeyboardInterrupt:
        click.echo("Stopped.", err=True)
    finally:
        server.shutdown()
        server.server_close()
        shutil.rmtree(workdir, ignore_errors=True)
