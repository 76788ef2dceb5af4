"""Load and validate a content folder: `site.toml`, `sections/NN-name.md` and an optional `practice.md`.

Every problem becomes one line `file:line: key: what was expected`, raised together as a
ContentError (exit code 2). The options (options.py) write the messages; line numbers come from
the YAML node tree.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from stepthrough.bundle.ids import SCHEDULERS, Job
from stepthrough.errors import ContentError, located
from stepthrough.options import (
    Choice,
    DictOf,
    Flag,
    Invalid,
    ListOf,
    Mapping,
    Nested,
    Number,
    Problem,
    Prompt,
    Schema,
    Seeds,
    Text,
    dotted,
)
from stepthrough.widgets import WIDGETS
from stepthrough.widgets.base import Projection

SECTION_NAME = re.compile(r"^(\d+)-([a-z0-9][a-z0-9-]*)\.md$")
PRACTICE = "practice.md"  # the practice page's material, when the content has one
LANGUAGE_CODE = r"[a-zA-Z]{2,3}(-[A-Za-z0-9]+)*"
LANGUAGE_HINT = "a language code such as 'en', 'es' or 'pt-BR'"


class SiteConfig(Schema):
    """`site.toml`: what the site is called and which model and bundle feed it."""

    title = Text()
    description = Text("", empty=True)
    language = Text("en", pattern=LANGUAGE_CODE, hint=LANGUAGE_HINT)
    model = Text("builtin")
    revision = Text(None)
    bundle = Text(
        pattern=r"[A-Za-z0-9][A-Za-z0-9._-]*", hint="a folder name made of letters, digits, '.', '_' and '-'"
    )
    allow_html = Flag(False)  # render raw HTML written in the Markdown (off: it shows as text)
    # More sections than this: the site is written in parts, one page each (site/parts.py). Just above
    # the default explainer's 24, so that one page weighs about what the default's does.
    sections_per_page = Number(30, low=1, high=100_000, whole=True)
    # Several languages in one site (site/languages.py): the first is the site's `language`, the
    # others live in a folder each, named by the code.
    languages = ListOf(Text(pattern=LANGUAGE_CODE, hint=LANGUAGE_HINT), None, unique="each language once")
    # English prompt → its translation, shown beside it (the model reads the English).
    prompt_translations = DictOf(Text(), Text(), {})

    def check(self) -> None:
        if self.languages and self.languages[0] != self.language:
            raise Invalid(
                f"'languages' starts with the site's language, here {self.language!r} "
                f"(or leave out 'language': the first of 'languages' is the site's)",
                ("languages",),
            )


class Sweep(Schema):
    """What a widget needs rendered: every combination of these values is one trajectory."""

    prompts = ListOf(Prompt())
    seeds = Seeds([0])  # a list, one seed, or a range {from: 0, count: 32}
    steps = ListOf(Number(low=1, high=200, whole=True), [20])
    guidance = ListOf(Number(low=0, high=30), [5.0])
    word_by_word = Flag(False)  # each prompt also as its first 0, 1, 2 … words
    towards = Prompt(None)  # a second prompt to blend each prompt's embedding towards
    blend = ListOf(Number(low=0, high=1), None)  # 0 = the prompt, 1 = `towards`
    schedulers = ListOf(Choice(tuple(SCHEDULERS)), None)  # samplers instead of the model's own

    def check(self) -> None:
        if self.blend is not None and self.towards is None:
            raise Invalid("'blend' needs 'towards:', the prompt to blend towards")


SECTION_ID = r"[a-z0-9][a-z0-9-]*"
SECTION_HINT = "a section's id: its file name without the number and .md, such as 'step-through'"


class Lens(Schema):
    """One way of looking at what the reader saw, with the questions it asks."""

    name = Text(max_length=40)  # "Human"
    about = Text("", empty=True)  # "you and your choices"
    questions = ListOf(Text())  # Markdown, one line each


class WorkshopStep(Schema):
    """One step of the facilitator's sequence: what to show, for how long, what to do and ask."""

    title = Text(max_length=60)
    minutes = Number(low=0.5, high=120, step=0.5)
    sections = ListOf(Text(pattern=SECTION_ID, hint=SECTION_HINT))  # shown in this order on the projector
    do = Text("", empty=True)  # Markdown, one line: what the facilitator does
    ask = ListOf(Text(), [], min_length=0)  # Markdown, one line each: what to ask the room
    room = Flag(False)  # this step hands out the room link: the projector shows it


class Room(Schema):
    """Seeds across the room: every device opens the same link and gets its own seed."""

    section = Text(pattern=SECTION_ID, hint=SECTION_HINT)  # a stepper whose settings have `room:`, or a draw section
    prompt = Text("", empty=True)  # a draw section's: what every device draws (default: the section's own prompt)
    ask = Text()  # what each device reports, e.g. who the model drew
    count = DictOf(Text(max_length=30), ListOf(Text(max_length=30), min_length=2), min_length=1)


class Workshop(Schema):
    """A facilitated session: the lenses readers discuss, the sequence, the debrief, the room tally."""

    title = Text("Workshop")
    lenses = ListOf(Nested(Lens), [], min_length=0)
    debrief = ListOf(Text(), [], min_length=0)  # wrap-up questions, Markdown, one line each
    sequence = ListOf(Nested(WorkshopStep), [], min_length=0)
    room = Nested(Room, None)
    notes = Text("", empty=True)  # Markdown: practical tips for the facilitator

    @property
    def minutes(self) -> float:
        return sum(step.minutes for step in self.sequence)


class FrontMatter(Schema):
    title = Text()
    widget = Choice(tuple(WIDGETS), None)
    caption = Text("", empty=True)
    sweep = Nested(Sweep, None)
    settings = Mapping({})  # checked by the widget's own schema
    present = ListOf(Text(max_length=200), None, max_length=8)  # the projector's few big lines
    workshop = Nested(Workshop, None)  # at most one section holds the workshop


class Question(Schema):
    question = Text()  # Markdown, one line
    answer = Text()  # Markdown
    picture = Text("", empty=True)  # a step-through viewer's link, e.g. "step-through?step=0" (site/practice.py)


class Prediction(Schema):
    prompt = Text()  # what the reader is asked to predict
    answer = Text()  # the model answer, shown on request


class Flashcard(Schema):
    front = Text()
    back = Text()
    picture = Text("", empty=True)  # on the front, as for a question


class PracticeMatter(Schema):
    """`practice.md`: self-check questions, an ordering exercise, a prediction, flashcards."""

    title = Text("Practice")
    questions = ListOf(Nested(Question), [], min_length=0)
    order = ListOf(
        Text(), None, min_length=3, max_length=12, unique="each stage must be different"
    )  # right order
    predict = Nested(Prediction, None)
    flashcards = ListOf(Nested(Flashcard), [], min_length=0)

    def check(self) -> None:
        if not (self.questions or self.order or self.predict or self.flashcards):
            raise Invalid("nothing to practise; add at least one of: questions, order, predict, flashcards")


@dataclass(frozen=True)
class Section:
    id: str  # from the file name: 01-step-through.md → step-through
    path: Path
    meta: FrontMatter
    body: str  # Markdown after the front matter
    body_line: int  # line of the file where the body starts, for messages
    settings: Schema | None = None  # the widget's own settings, validated by its `settings` schema
    jobs: tuple[Job, ...] = ()  # the trajectories it shows, in order (its widget says which)
    projection: Projection | None = (
        None  # what precompute derives for it from several trajectories or prompts
    )
    node: yaml.Node | None = field(default=None, compare=False, repr=False)  # its front matter, parsed

    def line(self, *at: str | int) -> int:
        """The file's line of the front-matter key at `at` (or of the deepest part of it there is)."""
        return _yaml_line(self.node, at) + 1  # +1: the opening '---'


@dataclass(frozen=True)
class PracticePage:
    path: Path
    meta: PracticeMatter
    body: str  # Markdown after the front matter: the page's introduction


@dataclass(frozen=True)
class Content:
    root: Path
    site: SiteConfig
    sections: tuple[Section, ...]
    practice: PracticePage | None = None  # from the optional practice.md

    @property
    def workshop(self) -> tuple[Section, Workshop] | None:
        """The section that holds the workshop, and the workshop."""
        return next(((s, s.meta.workshop) for s in self.sections if s.meta.workshop), None)

    @property
    def needs_bundle(self) -> bool:
        """False when no section reads the bundle (text and particles only)."""
        return any(WIDGETS[s.meta.widget].needs_bundle for s in self.sections if s.meta.widget)


def load_content(root: Path | str) -> Content:
    """Read and validate a content folder; raise ContentError listing every problem."""
    root = Path(root)
    if not root.is_dir():
        raise ContentError.at(
            root, None, "content folder not found (expected a folder with site.toml and sections/)"
        )
    problems: list[str] = []
    site = _load_site(root / "site.toml", problems)
    sections = _load_sections(root / "sections", problems)
    practice = _load_practice(root / PRACTICE, problems) if _exists(root / PRACTICE) else None
    _check_workshop(sections, problems)
    if problems:
        raise ContentError(problems)
    return Content(root=root, site=site, sections=tuple(sections), practice=practice)


def _exists(path: Path) -> bool:
    return path.exists() or path.is_symlink()  # a dangling symlink is a mistake to report, not absence


def read_text(path: Path, root: Path, problems: list[str], what: str = "a text file") -> str | None:
    """A content file's text (UTF-8, with or without a BOM; CRLF read as LF), or None with one
    problem line saying what is wrong: a folder, a symlink that dangles, loops or leaves the content
    folder, unreadable, not UTF-8."""
    try:
        target = path.resolve(strict=True)
    except FileNotFoundError:
        reason = (
            f"a symlink to {os.readlink(path)}, which does not exist" if path.is_symlink() else "not found"
        )
        problems.append(located(path, None, f"{reason}; {what} belongs here"))
        return None
    except (RuntimeError, OSError):
        problems.append(located(path, None, f"a symlink loop; replace it with {what}"))
        return None
    if not target.is_relative_to(root.resolve()):
        problems.append(
            located(
                path, None, f"a symlink to {target}, outside the content folder; copy the file in instead"
            )
        )
        return None
    if target.is_dir():
        problems.append(located(path, None, f"is a folder; {what} belongs here"))
        return None
    try:
        data = path.read_bytes()
    except OSError as exc:
        problems.append(located(path, None, f"cannot be read ({exc.strerror}); make it readable"))
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        problems.append(
            located(path, line, f"not UTF-8 text (byte 0x{data[exc.start]:02x}); save the file as UTF-8")
        )
        return None
    return text.replace("\r\n", "\n")


def _load_site(path: Path, problems: list[str]) -> SiteConfig | None:
    if not _exists(path):
        problems.append(
            located(path, None, "file not found; a content folder needs site.toml with title and bundle")
        )
        return None
    text = read_text(path, path.parent, problems, "site.toml, a file with title and bundle")
    if text is None:
        return None
    if (over := _toml_over_bounds(text)) is not None:
        problems.append(located(path, *over))
        return None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None) or _line_from_message(str(exc))
        problems.append(located(path, line, f"not valid TOML: {exc}"))
        return None
    if isinstance(data.get("languages"), list) and data["languages"] and "language" not in data:
        data["language"] = data["languages"][0]  # the first of the site's languages is its own
    found: list[Problem] = []
    site = SiteConfig.load(data, found)
    problems += [located(path, _toml_key_line(text, p.at[0] if p.at else None), p.message) for p in found]
    return site


def _load_sections(folder: Path, problems: list[str]) -> list[Section]:
    if not folder.is_dir():
        problems.append(
            located(folder, None, "folder not found; put one Markdown file per section here (01-name.md)")
        )
        return []
    sections: list[Section] = []
    try:
        files = sorted(
            (p for p in folder.iterdir() if p.name.endswith(".md")), key=lambda p: (_order(p), p.name)
        )
    except OSError as exc:
        problems.append(located(folder, None, f"cannot list the folder ({exc.strerror}); make it readable"))
        return []
    if not files:
        problems.append(located(folder, None, "no sections; add a Markdown file such as 01-intro.md"))
    seen: dict[str, Path] = {}
    for path in files:
        match = SECTION_NAME.match(path.name)
        if not match:
            problems.append(
                located(path, None, "file name must look like NN-name.md (digits, dash, lowercase name)")
            )
            continue
        section = _load_section(path, match.group(2), problems)
        if section is None:
            continue
        if section.id in seen:
            problems.append(
                located(path, None, f"section id '{section.id}' is also used by {seen[section.id].name}")
            )
            continue
        seen[section.id] = path
        sections.append(section)
    return sections


def _order(path: Path) -> int:
    match = SECTION_NAME.match(path.name)
    return int(match.group(1)) if match else 10**9


def _load_section(path: Path, section_id: str, problems: list[str]) -> Section | None:
    """The section, or None with every problem in the file added to `problems`."""
    parsed = _read_front_matter(path, path.parent.parent, problems)  # content/sections/NN-name.md
    if parsed is None:
        return None
    node, data, body, body_line = parsed
    found: list[Problem] = []
    meta = FrontMatter.load(data, found)
    widget = WIDGETS.get(data.get("widget")) if isinstance(data.get("widget"), str) else None
    settings = None
    if widget is not None:  # its settings are checked even when another key is wrong
        if widget.needs_sweep and "sweep" not in data:
            message = f"widget '{widget.name}' needs a 'sweep:' with at least 'prompts:'"
            found.append(Problem(("widget",), message))
        raw = data.get("settings") or {}
        if isinstance(raw, dict):  # otherwise FrontMatter has said what `settings:` must be
            settings = widget.settings.load(raw, found, ("settings",))
        if meta is not None and meta.sweep is not None:  # what this widget asks of the sweep beyond its own keys
            found += [Problem(("sweep", key), message) for key, message in widget.sweep_problems(meta.sweep)]
    elif data.get("settings") and data.get("widget") is None:
        found.append(Problem(("settings",), "key 'settings' only applies to a section with a widget"))
    problems += _located(path, node, found)
    if found:
        return None
    jobs, projection = (), None
    if widget is not None:
        jobs = widget.jobs(meta.sweep, settings)
        projection = widget.projection(meta.sweep, settings, jobs)
    return Section(
        id=section_id,
        path=path,
        meta=meta,
        body=body,
        body_line=body_line,
        settings=settings,
        jobs=jobs,
        projection=projection,
        node=node,
    )


def _check_workshop(sections: list[Section], problems: list[str]) -> None:
    """Rules across sections: one workshop, whose steps and room name sections that exist."""
    holders = [s for s in sections if s.meta.workshop is not None]
    if not holders:
        return
    found: list[Problem] = []
    ids = {s.id: s for s in sections}
    for other in holders[1:]:
        message = f"key 'workshop': only one section may hold the workshop, and {holders[0].path.name} does"
        problems += _located(other.path, other.node, [Problem(("workshop",), message)])
    section, workshop = holders[0], holders[0].meta.workshop
    for i, step in enumerate(workshop.sequence):
        for j, name in enumerate(step.sections):
            if name not in ids:
                at = ("workshop", "sequence", i, "sections", j)
                found.append(Problem(at, f"key '{dotted(at)}': no section '{name}'; expected {SECTION_HINT}"))
    if workshop.room is not None:
        found += _room_problems(workshop.room, ids.get(workshop.room.section))
    if found:
        problems += _located(section.path, section.node, found)


def _room_problems(room: Room, target: Section | None) -> list[Problem]:
    """A room names a section its widget takes as one (widgets/base.py room_problems): a stepper with
    `room:` settings (its precomputed seeds), or a draw section (each device draws its seed live)."""
    found = WIDGETS[target.meta.widget].room_problems(target, room.prompt) if target and target.meta.widget else None
    if found is None:
        at = ("workshop", "room", "section")
        message = f"expected a stepper section whose settings have 'room:', or a draw section (got '{room.section}')"
        return [Problem(at, f"key '{dotted(at)}': {message}")]
    return [Problem(("workshop", "room", key), f"key 'workshop.room.{key}': {message}") for key, message in found]


def _load_practice(path: Path, problems: list[str]) -> PracticePage | None:
    parsed = _read_front_matter(path, path.parent, problems)
    if parsed is not None:
        node, data, body, _ = parsed
        found: list[Problem] = []
        meta = PracticeMatter.load(data, found)
        problems += _located(path, node, found)
        return None if meta is None else PracticePage(path=path, meta=meta, body=body)
    return None


def _located(path: Path, node: yaml.Node, found: list[Problem]) -> list[str]:
    """Each problem as `file:line: message`, at the line of the key it names."""
    return [located(path, _yaml_line(node, p.at) + 1, p.message) for p in found]  # +1: the opening '---'


# libyaml's safe loader where PyYAML has it: the same documents, read ~10× faster than in Python.
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Bounds on what one content file may ask of the reader. YAML aliases share a value without
# copying it, so a few lines of nested anchors (a "billion laughs") stand for a billion values
# that every later walk over the data would visit: count the values as they would be expanded.
MAX_TEXT_BYTES = 1_000_000  # front matter, site.toml: the default content's largest is 5 kB
MAX_DEPTH = 32  # nested lists and mappings; the workshop, the deepest key, needs 6
MAX_VALUES = 100_000  # values once every alias is expanded


class _ValueCount:
    """The values of a YAML event stream as they would be expanded (an alias counts what its anchor
    holds), and how deep its collections nest, event by event."""

    def __init__(self) -> None:
        self.sizes: dict[str, int] = {}  # anchor → values under it, aliases expanded
        self.open: list[tuple[str | None, int]] = []  # the collections being read: (anchor, values so far)
        self.closed = 0  # values outside every open collection

    def read(self, event: yaml.Event) -> bool:
        """Count the event; False for one that holds no value (stream and document marks)."""
        if isinstance(event, yaml.CollectionStartEvent):
            self.open.append((event.anchor, 1))
        elif isinstance(event, yaml.CollectionEndEvent):
            anchor, values = self.open.pop()
            if anchor is not None:
                self.sizes[anchor] = values
            self._add(values)
        elif isinstance(event, yaml.ScalarEvent):
            if event.anchor is not None:
                self.sizes[event.anchor] = 1
            self._add(1)
        elif isinstance(event, yaml.AliasEvent):
            self._add(self.sizes.get(event.anchor, 1))
        else:
            return False
        return True

    def _add(self, count: int) -> None:
        if self.open:
            anchor, values = self.open[-1]
            self.open[-1] = (anchor, values + count)
        else:
            self.closed += count

    @property
    def values(self) -> int:
        return self.closed + sum(values for _, values in self.open)


def _yaml_over_bounds(yaml_text: str) -> tuple[int, str] | None:
    """(0-based line, why) where the YAML goes past a bound, else None. Reads only the event
    stream, so it costs the same whatever the aliases would expand to."""
    if len(yaml_text.encode("utf-8")) > MAX_TEXT_BYTES:
        return 0, f"front matter is over {MAX_TEXT_BYTES // 1000} kB; keep long text in the body"
    count = _ValueCount()
    for event in yaml.parse(yaml_text, Loader=YAML_LOADER):
        if not count.read(event):
            continue
        if len(count.open) > MAX_DEPTH:
            return event.start_mark.line, f"lists and keys nested more than {MAX_DEPTH} deep; flatten them"
        if count.values > MAX_VALUES:
            return event.start_mark.line, (
                f"more than {MAX_VALUES:,} values once its aliases (*name) are expanded; "
                "write the values out, or use fewer aliases"
            )
    return None


def _read_front_matter(
    path: Path, root: Path, problems: list[str]
) -> tuple[yaml.Node, dict, str, int] | None:
    """A Markdown file's front matter (YAML node tree and data) and body, with the body's first line."""
    text = read_text(path, root, problems, "a Markdown file with front matter")
    if text is None:
        return None
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        problems.append(
            located(path, 1, "missing front matter: start the file with a '---' line, keys, and '---'")
        )
        return None
    end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
    if end is None:
        problems.append(located(path, 1, "front matter is not closed: add a '---' line after the keys"))
        return None
    yaml_text = "".join(lines[1:end])
    try:
        if (over := _yaml_over_bounds(yaml_text)) is not None:
            problems.append(located(path, over[0] + 2, over[1]))  # +2: 0-based, after the opening '---'
            return None
        node = yaml.compose(yaml_text, Loader=YAML_LOADER)
        data = yaml.load(yaml_text, Loader=YAML_LOADER) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark else 1
        problems.append(
            located(path, line, f"front matter is not valid YAML: {getattr(exc, 'problem', exc)}")
        )
        return None
    if not isinstance(data, dict):
        problems.append(located(path, 2, "front matter must be keys and values (title: ..., widget: ...)"))
        return None
    repeated = _repeated_key(node)
    if repeated is not None:
        key, first, again = repeated
        problems.append(
            located(path, again + 2, f"key '{key}' is given twice (also on line {first + 2}); keep one")
        )
        return None
    return node, data, "".join(lines[end + 1 :]), end + 2


def _repeated_key(node: yaml.Node | None) -> tuple[str, int, int] | None:
    """The first key that a mapping in the YAML tree repeats (YAML would keep the last silently):
    (key, 0-based line of its first use, line of the repeat)."""
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key, value in node.value:
            if key.value in seen:
                return key.value, seen[key.value], key.start_mark.line
            seen[key.value] = key.start_mark.line
            if (found := _repeated_key(value)) is not None:
                return found
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            if (found := _repeated_key(item)) is not None:
                return found
    return None


def _yaml_line(node: yaml.Node | None, loc: tuple) -> int:
    """1-based line, within the YAML text, of the deepest node that a key path reaches."""
    line = node.start_mark.line + 1 if node is not None else 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if k.value == part), None)
            if match is None:
                break
            line = match[0].start_mark.line + 1
            node = match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _toml_over_bounds(text: str) -> tuple[int, str] | None:
    """(1-based line, why) where site.toml goes past a bound, else None. tomllib reads nested
    arrays and inline tables by recursion: thousands of '[' would end in a RecursionError."""
    if len(text.encode("utf-8")) > MAX_TEXT_BYTES:
        return 1, f"over {MAX_TEXT_BYTES // 1000} kB; site.toml needs a few short keys"
    depth, i, quote = 0, 0, None  # quote: the kind of string being read: " ' """ or '''
    while i < len(text):
        char = text[i]
        if quote is not None:
            if char == "\\" and quote[0] == '"':
                i += 1  # an escaped character, perhaps a quote
            elif text.startswith(quote, i):
                i += len(quote) - 1
                quote = None
        elif char == "#":
            end = text.find("\n", i)
            i = (end if end >= 0 else len(text)) - 1
        elif char in "\"'":
            quote = char * 3 if text.startswith(char * 3, i) else char
            i += len(quote) - 1
        elif char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                line = text.count("\n", 0, i) + 1
                return line, f"arrays and tables nested more than {MAX_DEPTH} deep; flatten them"
        elif char in "]}":
            depth = max(0, depth - 1)
        i += 1
    return None


def _toml_key_line(text: str, key: str | None) -> int | None:
    if key is None:
        return None
    pattern = re.compile(rf"^\s*{re.escape(str(key))}\s*=")
    return next((i + 1 for i, line in enumerate(text.splitlines()) if pattern.match(line)), None)


def _line_from_message(message: str) -> int | None:
    match = re.search(r"line (\d+)", message)
    return int(match.group(1)) if match else None
