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
def serving(project: Path, *options: str, timeout: float = 120, prelude: str = "", serve: tuple = ()):
    """`stepthrough serve --port 0 --no-open` in `project`; yields (url, process) once it listens.
    `options` go before `serve`, `serve` after it; `prelude`: Python run first (to plant a bug)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    run = f"{prelude}\nimport sys\nfrom stepthrough.cli import main\nsys.exit(main())"
    process = subprocess.Popen(
        [sys.executable, "-c", run, *options, "serve", "--port", "0", "--no-open", *serve],
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


def hook(url: str) -> str:
    """Where the server's own scripts are, as its pages name them: /__stepthrough/TOKEN/."""
    return re.search(r'<script src="/(__stepthrough/[\w-]+/)serve\.js"', get(url)).group(1)


def state(url: str) -> dict:
    text = get(url + hook(url) + "state.js")
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
        tag = f'<script src="/{hook(url)}serve.js" data-build="1"></script>\n'
        assert served.count(tag) == 1
        assert served.replace(tag, "") == (built / "index.html").read_text(encoding="utf-8")
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
        assert text.startswith(page[: -len("</body></html>")]) and re.search(r"__stepthrough/[\w-]+/serve.js", text)
        # Not asked (or refused with q=0): the plain bytes; pictures are never compressed again.
        for encoding in (None, "identity", "gzip;q=0"):
            headers, body = fetch(url + "assets/style.css", encoding)
            assert "content-encoding" not in headers and body == (site / "assets" / "style.css").read_bytes()
        headers, body = fetch(url + "assets/p.webp", "gzip")
        assert "content-encoding" not in headers and body == picture


def status(url: str, headers: dict | None = None, method: str = "GET") -> int:
    request = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_serve_refuses_a_foreign_host(tmp_path):
    (tmp_path / "index.html").write_text("<!doctype html><body>Hi</body>")
    with handler_serving(tmp_path) as url:
        port = int(url.rstrip("/").rsplit(":", 1)[1])
        assert status(url) == 200
        assert status(url, {"Host": f"localhost:{port}"}) == 200
        # A page of another site whose name now points at 127.0.0.1 (DNS rebinding), or another port.
        for host in (f"attacker.example:{port}", "attacker.example", f"127.0.0.1:{port + 1}", "localhost"):
            assert status(url, {"Host": host}) == 403, host
            assert status(url + "index.html", {"Host": host}, method="HEAD") == 403, host


def test_serves_own_scripts_refuse_another_site_and_need_the_pages_token(tmp_path):
    (tmp_path / "index.html").write_text("<!doctype html><body>Hi</body>")
    with handler_serving(tmp_path) as url:
        own = url + hook(url)
        assert status(own + "state.js") == 200  # the address typed in, or a tool: no Sec-Fetch-Site
        assert status(own + "state.js", {"Sec-Fetch-Site": "same-origin"}) == 200
        assert status(own + "serve.js", {"Sec-Fetch-Site": "same-origin"}) == 200
        for site in ("cross-site", "same-site"):  # same-site: another server on localhost
            assert status(own + "state.js", {"Sec-Fetch-Site": site}) == 403, site
            assert status(own + "serve.js", {"Sec-Fetch-Site": site}) == 403, site
        assert status(url + "__stepthrough/state.js") == 404  # without the token
        assert status(url + "__stepthrough/" + "x" * 22 + "/state.js") == 404  # a guessed one


def test_a_nul_or_an_invalid_path_is_400_with_no_traceback(tmp_path, capfd):
    import http.client

    (tmp_path / "x.css").write_text("p {}")
    with handler_serving(tmp_path) as url:
        port = int(url.rstrip("/").rsplit(":", 1)[1])
        for method in ("GET", "HEAD"):
            for path in ("/x%00.css", "/x%0a.css", "/%ff%fe.css", "/%c0%af", "x.css"):
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                connection.request(method, path)
                assert connection.getresponse().status == 400, (method, path)
                connection.close()
        assert status(url + "x.css") == 200
    assert "Traceback" not in capfd.readouterr().err


def test_the_page_names_content_files_without_the_machines_folders(tmp_path):
    project = text_project(tmp_path)
    source = project / "content" / "sections" / "01-hello.md"
    source.write_text("no front matter\n", encoding="utf-8")
    with serving(project, serve=("--content", str((project / "content").resolve()))) as (url, process):
        error = wait_for_build(url, 1)["error"]
        page = get(url)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=20)
    assert error.startswith("content/sections/01-hello.md:1: missing front matter: start the file")
    assert str(tmp_path) not in page and str(tmp_path) in stderr  # the terminal keeps the full path


BUG = """
import stepthrough.site.build
def broken(*args, **kwargs):
    raise RuntimeError("planted bug")
stepthrough.site.build.build_site = broken
"""


def test_a_bug_in_the_build_shows_a_short_message_and_its_traceback_only_in_the_terminal(tmp_path):
    project = text_project(tmp_path)
    with serving(project, prelude=BUG) as (url, process):
        error = wait_for_build(url, 1)["error"]
        page = get(url)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=20)
    assert error.startswith("The build stopped on a bug in stepthrough") and "Traceback" not in page
    assert "planted bug" not in page and "site-packages" not in page and str(ROOT) not in page
    assert "Traceback" in stderr and "RuntimeError: planted bug" in stderr
