"""The first screen's CSS: the rules of style.css that can style what a page shows before the
reader scrolls, put inline in its <head> so the first paint waits for no stylesheet.

The whole style.css still loads, beside the page (see page.html): once it is there it applies
every rule, in its own order, so nothing changes where the inline rules already applied. A rule
is kept when every class and id its selector names occurs in the first screen's markup or in a
script's strings there (classes scripts add, such as `js` or `is-following`): generous on
purpose, a rule kept for nothing costs a few bytes, a rule missing would move the first screen
when the stylesheet arrives. Print rules wait for the stylesheet.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from pathlib import Path

from stepthrough import cache

COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
CLASS_ATTRIBUTE = re.compile(r"""\sclass\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)
ID_ATTRIBUTE = re.compile(r"""\sid\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)
STRING = re.compile(r"""(?:"([^"\\\n]*)"|'([^'\\\n]*)'|`([^`\\]*)`)""")  # a script's string literals
WORD = re.compile(r"[A-Za-z_][\w-]*")
SELECTOR_CLASS = re.compile(r"\.(-?[_a-zA-Z][\w-]*)")
SELECTOR_ID = re.compile(r"#(-?[_a-zA-Z][\w-]*)")
# Parts of a selector whose names need not be on the page: attribute values (may hold dots), the
# insides of :not() (absent names match) and of :is()/:where()/:has() (one of them would do).
LOOSE = re.compile(r"\[[^\]]*\]|:(?:not|is|where|has)\((?:[^()]|\([^()]*\))*\)")
SECTIONS_SHOWN = (
    2  # how many of a page's sections the first screen can reach (a wide screen shows the second's top)
)


def first_screen(page: str) -> str:
    """The part of a page a reader can see before scrolling: all of it up to its sections' third."""
    starts = [m.start() for m in re.finditer(r"<section\b", page)]
    return page if len(starts) <= SECTIONS_SHOWN else page[: starts[SECTIONS_SHOWN]]


def names_in(markup: str, scripts: Iterable[str] = ()) -> set[str]:
    """Class names and ids the markup carries, and every word in the scripts' strings (classes they may set)."""
    names = {"js"}
    for pattern in (CLASS_ATTRIBUTE, ID_ATTRIBUTE):
        for match in pattern.finditer(markup):
            names.update((match[1] if match[1] is not None else match[2]).split())
    for code in scripts:
        for literal in STRING.finditer(code):
            names.update(WORD.findall("".join(part or "" for part in literal.groups())))
    return names


def critical_css(css: str, names: set[str]) -> str:
    """The rules of `css` whose selectors could match an element that carries only `names`
    (kept in the build cache: the same stylesheet and names give the same rules)."""
    key = {"css": hashlib.sha256(css.encode("utf-8")).hexdigest(), "names": sorted(names)}
    return cache.remembered("critical-css", key, [Path(__file__)], lambda: "".join(_rules(COMMENT.sub("", css), names)))


def _rules(css: str, names: set[str]) -> Iterable[str]:
    for prelude, body in _blocks(css):
        if prelude.startswith("@"):
            rule = prelude.split(None, 1)[0].lower()
            if rule in ("@media", "@supports", "@layer", "@container"):
                if rule == "@media" and _print_only(prelude):
                    continue
                inner = "".join(_rules(body, names))
                if inner:
                    yield f"{prelude}{{{inner}}}"
            elif body is None:  # @import, @charset: a statement
                yield prelude + ";"
            else:  # @keyframes, @font-face: small, and named by rules rather than by the page
                yield f"{prelude}{{{body}}}"
            continue
        selectors = [s for s in _split_selectors(prelude) if _could_match(s, names)]
        if selectors and body is not None:
            yield f"{','.join(selectors)}{{{' '.join(body.split())}}}"


def _print_only(prelude: str) -> bool:
    queries = [q.strip().lower() for q in prelude[len("@media") :].split(",")]
    return all(q == "print" or q.startswith("print ") for q in queries)


def _could_match(selector: str, names: set[str]) -> bool:
    strict = LOOSE.sub("", selector)
    return all(n in names for n in SELECTOR_CLASS.findall(strict) + SELECTOR_ID.findall(strict))


def _split_selectors(prelude: str) -> list[str]:
    """A selector list split at its top-level commas (not those inside :is(…) or [… ])."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(prelude):
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(prelude[start:i].strip())
            start = i + 1
    parts.append(prelude[start:].strip())
    return [p for p in parts if p]


def _blocks(css: str) -> Iterable[tuple[str, str | None]]:
    """(prelude, body) of each top-level rule; body None for a statement such as @import …;"""
    i, n = 0, len(css)
    while i < n:
        brace, semi = css.find("{", i), css.find(";", i)
        if brace < 0 and semi < 0:
            return
        if semi >= 0 and (brace < 0 or semi < brace) and css[i:semi].lstrip().startswith("@"):
            yield css[i:semi].strip(), None
            i = semi + 1
            continue
        if brace < 0:
            return
        depth, j = 1, brace + 1
        while j < n and depth:
            depth += {"{": 1, "}": -1}.get(css[j], 0)
            j += 1
        yield " ".join(css[i:brace].split()), css[brace + 1 : j - 1]
        i = j
