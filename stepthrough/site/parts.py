"""A long explainer in parts, one page each, as MkDocs has one page per file.

Beyond `site.toml`'s `sections_per_page` sections, the builder writes the sections in parts of
that many: the first part is index.html, the others part-2.html, part-3.html …; each part's page
links the one before and after it and contents.html, which lists every section. So the first
screen stays the size of one part however long the explainer grows. A link to a section keeps
landing wherever the section went (`index.html#seeds?seed=3`, `#seeds` inside a page): a deferred
script (static/parts.js) reads the map section id → page from a data file (off the first screen)
and goes there, with the widget's state. An explainer of at most `sections_per_page` sections is
one page, exactly as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stepthrough.content import Content
from stepthrough.errors import StepthroughError, located
from stepthrough.site.present import present_data

CONTENTS = "contents.html"  # every section of every part, linked
SCRIPT = "parts.js"  # follows a link to a section on another part's page


def part_name(number: int) -> str:
    """The page of part `number` (from 1)."""
    return "index.html" if number == 1 else f"part-{number}.html"


def count(sections: int, per_page: int) -> int:
    """How many parts `sections` sections make: 1 when they fit one page."""
    return max(1, -(-sections // per_page))


def page_names(content: Content) -> list[str]:
    """The pages the parts add to the site (part-2.html …, contents.html); none for one page."""
    parts = count(len(content.sections), content.site.sections_per_page)
    return [] if parts == 1 else [*(part_name(n) for n in range(2, parts + 1)), CONTENTS]


@dataclass(frozen=True)
class Part:
    """One page of a long explainer: its number, its file and its sections (as the builder has them)."""

    number: int
    count: int
    sections: list[dict[str, Any]]

    @property
    def name(self) -> str:
        return part_name(self.number)

    @property
    def ids(self) -> set[str]:
        return {s["id"] for s in self.sections}


def split(sections: list[dict[str, Any]], per_page: int) -> list[Part]:
    """The sections in parts of `per_page`, in order; one part when they fit one page."""
    total = count(len(sections), per_page)
    return [Part(n + 1, total, sections[n * per_page : (n + 1) * per_page]) for n in range(total)]


def where(parts: list[Part]) -> dict[str, str]:
    """Each section's id → the page that holds it."""
    return {section["id"]: part.name for part in parts for section in part.sections}


def links(parts: list[Part], part: Part, where: str) -> dict[str, Any]:
    """What a part's page shows of the others: its number, the pages before and after it (with the
    title they open on), the contents page, and `where`: the data file of the map section → page."""
    before = parts[part.number - 2] if part.number > 1 else None
    after = parts[part.number] if part.number < part.count else None
    return {
        "number": part.number,
        "count": part.count,
        "previous": before and {"href": before.name, "title": before.sections[-1]["title"]},
        "next": after and {"href": after.name, "title": after.sections[0]["title"]},
        "contents": CONTENTS,
        "last": after is None,  # the practice page's invitation goes at the end of the last part
        "map": where,
    }


def present_for(content: Content, workshop: dict[str, Any] | None, part: Part, plain: dict[str, Any]) -> dict[str, Any]:
    """The presenter's data on one part's page: the workshop's (its sequence whole: one session runs
    from one page) on the part that holds the workshop, else this part's sections, one slide each.
    `plain`: present_data(content, None), made once for every part."""
    holder = content.workshop[0] if content.workshop else None
    if holder is None or holder.id not in part.ids:
        return {**plain, "slides": [{"section": s["id"], "step": None} for s in part.sections]}
    present = present_data(content, workshop)
    away = sorted({slide["section"] for slide in present["slides"]} - part.ids)
    if away:
        raise StepthroughError(
            located(
                holder.path,
                None,
                f"the workshop's sequence names {', '.join(away)}, which sit on another page than this "
                f"section (site.toml sections_per_page = {content.site.sections_per_page}); a workshop runs "
                "from one page: raise sections_per_page, or move those sections nearer",
            )
        )
    return present
