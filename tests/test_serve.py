"""`stepthrough serve`: a live preview on 127.0.0.1 that rebuilds on every save and reloads the page."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import write_content

ROOT = Path(__file__).resolve().parents[1]

TEXT = """
    ---
    title: Hello
    ---
    {words}
"""

STEPPER = """
    ---
    title: Step through
    widget: stepper
    sweep:
      prompts: {prompts}
      steps: [2]
    ---
    Watch it.
"""


def section(template: str, **values) -> str:
    return textwrap.dedent(template.format(**values)).lstrip()


@contextmanager
def serving(project: Path, *options: str, timeout: float = 120):
    """`stepthrough serve --port 0 --no-open` in `project`; yields (url, process) once it listens."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "stepthrough", *options, "serve", "--port", "0", "--no-open"],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+/", line)
        assert match, f"no address in {line!r}: {process.stderr.read() if process.poll() is not None else ''}"
        yield match.group(0), process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode("utf-8")


def state(url: str) -> dict:
    text = get(url + "__stepthrough/state.js")
    return json.loads(re.fullmatch(r"stepthroughServe\((.*)\);\n", text, re.DOTALL).group(1))


def wait_for_build(url: str, number: int, timeout: float = 120) -> dict:
    """The server's state once its `number`-th build has finished (good or bad)."""
    deadline = time.monotonic() + timeout
    while (now := state(url))["build"] < number:
        assert time.monotonic() < deadline, f"build {number} did not finish in {timeout} s: {now}"
        time.sleep(0.05)
    return now


def text_project(tmp_path: Path, words: str = "First words.") -> Path:
    write_content(tmp_path / "content", {"01-hello.md": section(TEXT, words=words)})
    return tmp_path


def test_serve_reloads_the_open_page_after_a_content_edit(tmp_path, browser):
    project = text_project(tmp_path)
    with serving(project) as (url, _):
        wait_for_build(url, 1)
        page = browser.new_page()
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(url)
        assert "First words." in page.inner_text("main")
        navigations: list[str] = []
        page.on("framenavigated", lambda frame: navigations.append(frame.url))

        (project / "content" / "sections" / "01-hello.md").write_text(
            section(TEXT, words="Second words, saved while the page was open."), encoding="utf-8"
        )
        page.wait_for_function(
            "() => document.querySelector('main').innerText.includes('Second words')", timeout=30_000
        )
        assert navigations, "the page changed without reloading"
        assert "First words." not in page.inner_text("main")
        assert not errors, errors
        assert all(r.startswith(url) for r in requests), [r for r in requests if not r.startswith(url)]
        page.close()


def test_a_failed_build_shows_over_the_last_good_page_and_the_server_keeps_going(tmp_path, browser):
    project = text_project(tmp_path)
    source = project / "content" / "sections" / "01-hello.md"
    with serving(project) as (url, process):
        wait_for_build(url, 1)
        page = browser.new_page()
        page.goto(url)
        source.write_text(section(TEXT, words="Fine.").replace("title: Hello", "title: Hello\nwidget: nope"))
        page.wait_for_selector("#stepthrough-serve-error", timeout=30_000)
        banner = page.inner_text("#stepthrough-serve-error")
        assert "01-hello.md:3: key 'widget'" in banner and "Traceback" not in banner
        assert "First words." in page.inner_text("main")  # the last good build stays
        assert process.poll() is None

        source.write_text(section(TEXT, words="Fixed words."), encoding="utf-8")
        page.wait_for_function(
            "() => document.querySelector('main') && document.querySelector('main').innerText.includes('Fixed')",
            timeout=30_000,
        )
        assert page.query_selector("#stepthrough-serve-error") is None
        page.close()
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=20)
    assert "01-hello.md:3: key 'widget'" in stderr and "Traceback" not in stderr


def test_the_served_site_is_the_built_site_plus_only_the_reload_script(tmp_path):
    project = text_project(tmp_path)
    subprocess.run(
        [sys.executable, "-m", "stepthrough", "build"],
        cwd=project,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=True,
        capture_output=True,
    )
    built = project / "build" / "site"
    with serving(project) as (url, _):
        wait_for_build(url, 1)
        served = get(url)
        hook = '<script src="/__stepthrough/serve.js" data-build="1"></script>\n'
        assert served.count(hook) == 1
        assert served.replace(hook, "") == (built / "index.html").read_text(encoding="utf-8")
        for asset in sorted(p for p in built.rglob("*") if p.is_file() and p.suffix != ".html"):
            with urllib.request.urlopen(url + asset.relative_to(built).as_posix()) as response:
                assert response.read() == asset.read_bytes(), asset.name
    assert "__stepthrough" not in (built / "index.html").read_text(encoding="utf-8")


def test_ctrl_c_stops_the_server_and_removes_its_temporary_site(tmp_path):
    project = text_project(tmp_path)
    with serving(project, "-v") as (url, process):
        wait_for_build(url, 1)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=20)
    assert process.returncode == 0 and "Stopped." in stderr and "Traceback" not in stderr
    workdir = Path(re.search(r"building into (\S+)", stderr).group(1))
    assert not workdir.exists()
    with pytest.raises(OSError):
        get(url)


def test_a_port_in_use_is_a_one_line_error(tmp_path):
    project = text_project(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "stepthrough", "serve", "--port", str(port), "--no-open"],
            check=False,
            cwd=project,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"Error: 127.0.0.1:{port}: cannot serve there (Address already in use); choose another --port"
    ]


def test_serve_renders_a_new_builtin_prompt_then_reloads(tmp_path):
    """The builtin model renders what an edit adds; the page's next build shows it."""
    write_content(tmp_path / "content", {"01-hello.md": section(TEXT, words="Words first.")})
    with serving(tmp_path) as (url, process):
        wait_for_build(url, 1)
        (tmp_path / "content" / "sections" / "02-step.md").write_text(
            section(STEPPER, prompts='["red apple"]'), encoding="utf-8"
        )
        now = wait_for_build(url, 2, timeout=300)
        assert now["error"] is None
        page = get(url)
        assert "red apple" in page and 'data-build="2"' in page
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=20)
    assert "Rendering 1 trajectories with the builtin model" in stderr
    assert "\r" not in stderr  # no progress bars into a pipe or a log file
    manifest = json.loads((tmp_path / "bundles" / "test-bundle" / "manifest.json").read_text())
    assert [t["prompt"] for t in manifest["trajectories"].values()] == ["red apple"]


def test_when_the_first_build_fails_the_page_says_why_and_becomes_the_site_once_fixed(tmp_path, browser):
    project = text_project(tmp_path)
    source = project / "content" / "sections" / "01-hello.md"
    source.write_text("no front matter\n", encoding="utf-8")
    with serving(project) as (url, _):
        wait_for_build(url, 1)
        page = browser.new_page()
        page.goto(url)
        assert "The build failed" in page.inner_text("h1")
        assert "01-hello.md:1: missing front matter" in page.inner_text("pre")
        assert page.query_selector("#stepthrough-serve-error") is None  # said once, not twice
        source.write_text(section(TEXT, words="Now it builds."), encoding="utf-8")
        page.wait_for_function(
            "() => document.querySelector('main') && document.querySelector('main').innerText.includes('Now it')",
            timeout=30_000,
        )
        page.close()


@contextmanager
def handler_serving(site: Path):
    """serve's request handler on a free port, over a finished site folder (no build, no watching)."""
    import http.server
    import threading
    from functools import partial

    from stepthrough.commands.serve import Handler, Preview

    preview = Preview(site)
    preview.good = True
    handler = type("TestHandler", (Handler,), {"preview": preview})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def fetch(url: str, encoding: str | None) -> tuple[dict, bytes]:
    request = urllib.request.Request(url, headers={"Accept-Encoding": encoding} if encoding else {})
    with urllib.request.urlopen(request, timeout=10) as response:
        return {k.lower(): v for k, v in response.headers.items()}, response.read()


def test_serve_sends_text_files_gzipped_to_a_browser_that_asks_and_they_decode_to_the_files(tmp_path):
    import gzip

    site = tmp_path / "site"
    (site / "assets").mkdir(parents=True)
    page = "<!doctype html><html><body>" + "<p>words, words</p>" * 500 + "</body></html>"
    (site / "index.html").write_text(page)
    (site / "assets" / "style.css").write_text("p { color: red; }\n" * 300)
    (site / "assets" / "a.js").write_text("var a = 1;\n" * 300)
    picture = os.urandom(3000)
    (site / "assets" / "p.webp").write_bytes(picture)
    with handler_serving(site) as url:
        for name in ("assets/style.css", "assets/a.js"):
            headers, body = fetch(url + name, "gzip, deflate, br")
            assert headers["content-encoding"] == "gzip" and "Accept-Encoding" in headers["vary"]
            assert int(headers["content-length"]) == len(body) < (site / name).stat().st_size / 3
            assert gzip.decompress(body) == (site / name).read_bytes()
        headers, body = fetch(url + "index.html", "gzip")
        assert headers["content-encoding"] == "gzip"
        text = gzip.decompress(body).decode()  # the page, with serve's reload script before </body>
        assert text.startswith(page[: -len("</body></html>")]) and "__stepthrough/serve.js" in text
        # Not asked (or refused with q=0): the plain bytes; pictures are never compressed again.
        for encoding in (None, "identity", "gzip;q=0"):
            headers, body = fetch(url + "assets/style.css", encoding)
            assert "content-encoding" not in headers and body == (site / "assets" / "style.css").read_bytes()
        headers, body = fetch(url + "assets/p.webp", "gzip")
        assert "content-encoding" not in headers and body == picture
