"""The site's Markdown (markdown-it-py: CommonMark, tables, typographer), with what it made kept
in the build cache.

A build from a complete bundle turns the same texts into the same HTML every time; parsing them
(and importing the parser) was a tenth of such a build. So each result is kept by the sha256 of
its text in one table per setting and parser version, read at the start of a build and written
back at its end holding only what that build used (an edited section's old HTML drops out).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from stepthrough import cache


def _parser_code() -> list[Path]:
    """The files whose change changes the HTML: this module and markdown-it-py's (its version)."""
    spec = importlib.util.find_spec("markdown_it")
    return [Path(__file__), *([Path(spec.origin)] if spec and spec.origin else [])]


class Markdown:
    """render / renderInline as markdown-it-py's, and memo() for anything else made from a text."""

    def __init__(self, allow_html: bool) -> None:
        self.allow_html = allow_html
        self._parser = None
        self._finds_html = None
        where = cache.folder()
        key = {"allow_html": allow_html, "code": [cache.file_digest(p) for p in _parser_code()]}
        self._path = where / "markdown" / f"{cache.key_digest(key)}.json" if where else None
        self._known: dict[str, Any] = {}
        if self._path is not None:
            try:
                loaded = json.loads(self._path.read_text(encoding="utf-8"))
                self._known = loaded if isinstance(loaded, dict) else {}
            except (OSError, ValueError):
                pass  # not there yet, or unreadable: parse again
        self._used: dict[str, Any] = {}

    @property
    def parser(self):
        if self._parser is None:
            from markdown_it import MarkdownIt

            self._parser = MarkdownIt("commonmark", {"typographer": True, "html": self.allow_html}).enable(
                ["table", "replacements", "smartquotes"]
            )
        return self._parser

    def render(self, text: str) -> str:
        return self.memo("block", text, lambda: self.parser.render(text), str)

    def renderInline(self, text: str) -> str:
        return self.memo("inline", text, lambda: self.parser.renderInline(text), str)

    def parse(self, text: str) -> list:
        return self.parser.parse(text)

    def raw_html(self, text: str) -> list[tuple[int, str]]:
        """(0-based line, HTML) of each raw HTML block or inline tag in the text."""

        def find() -> list[tuple[int, str]]:
            if self._finds_html is None:
                from markdown_it import MarkdownIt

                self._finds_html = MarkdownIt("commonmark", {"html": True}).enable("table")
            found = []
            for token in self._finds_html.parse(text):
                line = token.map[0] if token.map else 0
                if token.type == "html_block":
                    found.append((line, token.content))
                found += [(line, child.content) for child in token.children or [] if child.type == "html_inline"]
            return found

        return [(line, html) for line, html in self.memo("raw-html", text, find, list)]

    def memo(self, kind: str, text: str, compute: Callable[[], Any], shape: type) -> Any:
        """compute()'s JSON-able result (a `shape`) for this text, from the table when a build made it before."""
        key = f"{kind}:{hashlib.sha256(text.encode('utf-8')).hexdigest()}"
        if key not in self._used:
            found = self._known.get(key)
            fresh = found is None or not isinstance(found, shape)  # a damaged table: make it again
            self._used[key] = json.loads(json.dumps(compute())) if fresh else found
        return self._used[key]

    def save(self) -> None:
        """Write the table back with what this build used, when that differs from what was read."""
        if self._path is not None and self._used != self._known:
            cache.store(self._path, self._used)
