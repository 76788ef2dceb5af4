"""Load and validate a content folder: `site.toml`, `sections/NN-name.md` and an optional `practice.md`.

Every problem becomes one line `file:line: key: what was expected`, raised together as a
ContentError (exit code 2). Validation is pydantic; line numbers come from the YAML node tree.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from stepthrough.errors import ContentError, located
from stepthrough.particles.shapes import SHAPE_NAMES

SECTION_NAME = re.compile(r"^(\d+)-([a-z0-9][a-z0-9-]*)\.md$")
PRACTICE = "practice.md"  # the practice page's material, when the content has one
BUNDLE_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
PATTERN_HINTS = {
    "bundle": "a folder name made of letters, digits, '.', '_' and '-'",
    "language": "a language code such as 'en' or 'pt-BR'",
}


def _as_list(value: Any) -> Any:
    """Let authors write `seeds: 3` for `seeds: [3]`."""
    return value if isinstance(value, list) else [value]


def _listed(item: Any) -> Any:
    return Annotated[list[item], BeforeValidator(_as_list), Field(min_length=1)]


Prompt = Annotated[str, Field(min_length=1, max_length=300)]
Seed = Annotated[int, Field(ge=0, le=2**32 - 1)]
MAX_SEED_RANGE = 1000


def _seed_range(value: Any) -> Any:
    """Let authors write `seeds: {from: 0, count: 32}` for `seeds: [0, 1, …, 31]`."""
    if not isinstance(value, dict):
        return _as_list(value)
    start, count = value.get("from", 0), value.get("count")
    if set(value) - {"from", "count"} or not isinstance(start, int) or not isinstance(count, int):
        raise ValueError(
            "a range of seeds is written {from: 0, count: 32} (from: first seed, count: how many)"
        )
    if not 1 <= count <= MAX_SEED_RANGE:
        raise ValueError(f"a range of seeds may hold 1 to {MAX_SEED_RANGE} seeds (got count {count})")
    return list(range(start, start + count))


Seeds = Annotated[list[Seed], BeforeValidator(_seed_range), Field(min_length=1)]
Steps = Annotated[int, Field(ge=1, le=200)]
Guidance = Annotated[float, Field(ge=0.0, le=30.0)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False, frozen=True)


class SiteConfig(Strict):
    """`site.toml`: what the site is called and which model and bundle feed it."""

    title: Annotated[str, Field(min_length=1)]
    description: str = ""
    language: Annotated[str, Field(pattern=r"^[a-zA-Z]{2,3}(-[A-Za-z0-9]+)*$")] = "en"
    model: Annotated[str, Field(min_length=1)] = "builtin"
    revision: str | None = None
    bundle: Annotated[str, Field(pattern=BUNDLE_NAME)]
    allow_html: bool = False  # render raw HTML written in the Markdown (off: it shows as text)


Blend = Annotated[float, Field(ge=0.0, le=1.0)]


class Sweep(Strict):
    """What a widget needs rendered: every combination of these values is one trajectory."""

    prompts: _listed(Prompt)
    seeds: Seeds = [0]  # a list, one seed, or a range {from: 0, count: 32}
    steps: _listed(Steps) = [20]
    guidance: _listed(Guidance) = [5.0]
    word_by_word: bool = False  # each prompt also as its first 0, 1, 2 … words
    towards: Prompt | None = None  # a second prompt to blend each prompt's embedding towards
    blend: _listed(Blend) | None = None  # 0 = the prompt, 1 = `towards`

    @model_validator(mode="after")
    def _blend_needs_towards(self) -> Sweep:
        if self.blend is not None and self.towards is None:
            raise ValueError("'blend' needs 'towards:', the prompt to blend towards")
        return self


class NoSettings(Strict):
    """For widgets that take no settings beyond their sweep."""


@dataclass(frozen=True)
class WidgetSpec:
    """What the content format asks of a widget: whether it renders a sweep, and its own settings."""

    needs_sweep: bool
    settings: type[BaseModel] = NoSettings
    projection: str | None = None  # a 2-D projection precompute makes for it ("paths", "embedding-map")
    needs_bundle: bool = True  # False: its data comes from the package alone (the particles model)


class EmbeddingMapSettings(Strict):
    """Prompts to place on the map, in named groups (a group's prompts share a colour)."""

    groups: Annotated[dict[str, _listed(Prompt)], Field(min_length=1)]
    method: Literal["tsne", "pca"] = "tsne"

    @model_validator(mode="after")
    def _enough_prompts(self) -> EmbeddingMapSettings:
        if len({p for group in self.groups.values() for p in group}) < 4:
            raise ValueError("a map needs at least 4 different prompts across its groups")
        return self


View = Literal["xt", "x0", "noise", "latent"]
Param = Literal["prompt", "seed", "steps", "guidance", "blend"]


class StepperSettings(Strict):
    """Which views the reader may switch between, and which parameter (if any) gets a slider."""

    views: Annotated[list[View], Field(min_length=1)] = ["xt", "x0", "noise"]
    axis: Param | None = None  # this parameter as a second slider: a 2-D explorer (axis × step)

    @model_validator(mode="after")
    def _unique_views(self) -> StepperSettings:
        if len(set(self.views)) != len(self.views):
            raise ValueError("each view may be listed once")
        return self


class CompareSettings(Strict):
    """Trajectories side by side under one step slider, each tile named by one parameter."""

    label: Param = "prompt"  # which parameter names each tile
    reference: Literal["most-steps"] | None = None  # measure each result's distance to the many-step one
    notes: dict[str, str] = {}  # a short verdict under a tile, by its label ("1": "too weak")


class NoiseSettings(Strict):
    """The random-picture canvas: how many fresh pictures per second (when motion is welcome)."""

    per_second: Annotated[int, Field(ge=1, le=60)] = 12


class ForwardSettings(Strict):
    """The forward process: how many noising steps the slider offers, and the picture's display size."""

    steps: Annotated[int, Field(ge=10, le=1000)] = 50
    size: Annotated[int, Field(ge=32, le=512)] = 128


class ParticlesSettings(Strict):
    """The reverse-process particles: which shapes the reader may pick (the first is shown first)."""

    shapes: _listed(Literal[SHAPE_NAMES]) = list(SHAPE_NAMES)
    count: Annotated[int, Field(ge=100, le=3000)] = 1000
    steps: Annotated[int, Field(ge=5, le=200)] = 40  # fewer blur the shape at high guidance
    guidance: Annotated[float, Field(ge=0.0, le=8.0, multiple_of=0.5)] = 2.0  # the slider moves in halves
    seed: Seed = 0


TagName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,29}$")]  # it appears in the page address
TagValue = Annotated[str, Field(min_length=1, max_length=40)]


class Explicit(Strict):
    """A prompt that says what the default prompt leaves open, and the tags that name what it says."""

    prompt: Prompt
    tags: Annotated[dict[TagName, TagValue], Field(min_length=1)]


class TallySettings(Strict):
    """The Default Test over many seeds: each default picture is sorted to the explicit prompt whose
    pictures (drawn from `compare_seeds`, at the sweep's steps and guidance) it resembles most."""

    compare_with: Annotated[list[Explicit], Field(min_length=2)]
    compare_seeds: Seeds = [0]

    @model_validator(mode="after")
    def _same_tags_and_distinct_prompts(self) -> TallySettings:
        prompts = [explicit.prompt for explicit in self.compare_with]
        repeated = [p for i, p in enumerate(prompts) if p in prompts[:i]]
        if repeated:
            raise ValueError(f"prompt {repeated[0]!r} is listed twice in compare_with")
        names = set(self.compare_with[0].tags)
        odd = next((e for e in self.compare_with if set(e.tags) != names), None)
        if odd is not None:
            raise ValueError(
                f"every compare_with prompt needs the same tags ({', '.join(sorted(names))}); "
                f"{odd.prompt!r} has {', '.join(sorted(odd.tags))}"
            )
        return self


# Every widget the builder knows; site_templates/widgets/<name>.html and static/<name>.js render it.
WIDGETS: dict[str, WidgetSpec] = {
    "forward-process": WidgetSpec(needs_sweep=True, settings=ForwardSettings),
    "noise-canvas": WidgetSpec(needs_sweep=False, settings=NoiseSettings),
    "stepper": WidgetSpec(needs_sweep=True, settings=StepperSettings),
    "compare": WidgetSpec(needs_sweep=True, settings=CompareSettings),
    "paths": WidgetSpec(needs_sweep=True, projection="paths"),
    "embedding-map": WidgetSpec(needs_sweep=False, settings=EmbeddingMapSettings, projection="embedding-map"),
    "particles": WidgetSpec(needs_sweep=False, settings=ParticlesSettings, needs_bundle=False),
    "tally": WidgetSpec(needs_sweep=True, settings=TallySettings, projection="tally"),
}


class FrontMatter(Strict):
    title: Annotated[str, Field(min_length=1)]
    widget: Literal[tuple(WIDGETS)] | None = None
    caption: str = ""
    sweep: Sweep | None = None
    settings: dict[str, Any] = {}


Text = Annotated[str, Field(min_length=1)]  # Markdown


class Question(Strict):
    question: Text
    answer: Text


class Prediction(Strict):
    prompt: Text  # what the reader is asked to predict
    answer: Text  # the model answer, shown on request


class Flashcard(Strict):
    front: Text
    back: Text


class PracticeMatter(Strict):
    """`practice.md`: self-check questions, an ordering exercise, a prediction, flashcards."""

    title: Text = "Practice"
    questions: list[Question] = []
    order: Annotated[list[Text], Field(min_length=3, max_length=12)] | None = None  # in the right order
    predict: Prediction | None = None
    flashcards: list[Flashcard] = []

    @field_validator("order")
    @classmethod
    def _stages_differ(cls, order: list[str] | None) -> list[str] | None:
        repeated = [stage for i, stage in enumerate(order or []) if stage in order[:i]]
        if repeated:
            raise ValueError(f"{repeated[0]!r} is listed twice; each stage must be different")
        return order

    @model_validator(mode="after")
    def _something_to_practise(self) -> PracticeMatter:
        if not (self.questions or self.order or self.predict or self.flashcards):
            raise ValueError(
                "nothing to practise; add at least one of: questions, order, predict, flashcards"
            )
        return self


@dataclass(frozen=True)
class Section:
    id: str  # from the file name: 01-step-through.md → step-through
    path: Path
    meta: FrontMatter
    body: str  # Markdown after the front matter
    body_line: int  # line of the file where the body starts, for messages
    settings: BaseModel | None = None  # the widget's own settings, validated by its WidgetSpec


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
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None) or _line_from_message(str(exc))
        problems.append(located(path, line, f"not valid TOML: {exc}"))
        return None
    try:
        return SiteConfig.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            key = err["loc"][0] if err["loc"] else None
            problems.append(located(path, _toml_key_line(text, key), _describe(err, SiteConfig)))
        return None


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
    parsed = _read_front_matter(path, path.parent.parent, problems)  # content/sections/NN-name.md
    if parsed is None:
        return None
    node, data, body, body_line = parsed
    meta = _validated(FrontMatter, data, path, node, problems)
    if meta is None:
        return None
    settings = None
    if meta.widget is not None:
        spec = WIDGETS[meta.widget]
        if spec.needs_sweep and meta.sweep is None:
            line = _yaml_line(node, ("widget",)) + 1
            problems.append(
                located(path, line, f"widget '{meta.widget}' needs a 'sweep:' with at least 'prompts:'")
            )
            return None
        settings = _validated(spec.settings, meta.settings, path, node, problems, within=("settings",))
        if settings is None:
            return None
    elif meta.settings:
        line = _yaml_line(node, ("settings",)) + 1
        problems.append(located(path, line, "key 'settings' only applies to a section with a widget"))
        return None
    return Section(id=section_id, path=path, meta=meta, body=body, body_line=body_line, settings=settings)


def _load_practice(path: Path, problems: list[str]) -> PracticePage | None:
    parsed = _read_front_matter(path, path.parent, problems)
    if parsed is None:
        return None
    node, data, body, _ = parsed
    meta = _validated(PracticeMatter, data, path, node, problems)
    return None if meta is None else PracticePage(path=path, meta=meta, body=body)


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
        node = yaml.compose(yaml_text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(yaml_text) or {}
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


def _validated(
    model: type[BaseModel],
    data: Any,
    path: Path,
    node: yaml.Node | None,
    problems: list[str],
    within: tuple = (),
) -> BaseModel | None:
    """`data` as `model`, or None with one problem line per mistake; `within` is where data sits in the YAML."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            err = {**err, "loc": (*within, *err["loc"])}
            line = _yaml_line(node, err["loc"]) + 1  # +1: the opening '---'
            problems.append(located(path, line, _describe(err, model, prefix=len(within))))
        return None


def _describe(err: dict, model: type[BaseModel], prefix: int = 0) -> str:
    """One pydantic error as `key: what was expected (got ...)`; `prefix` location parts lie outside `model`."""
    loc = [part for part in err["loc"] if not isinstance(part, str) or not part.startswith("function-")]
    key = ".".join(str(p) for p in loc) or "(top level)"
    if err["type"] == "extra_forbidden":
        allowed = ", ".join(_fields_at(model, loc[prefix:-1])) or "(none: this widget takes no settings)"
        return f"unknown key '{key}'; expected one of: {allowed}"
    if err["type"] == "missing":
        return f"missing key '{key}'"
    got = err.get("input")
    if err["type"] == "string_pattern_mismatch" and loc and loc[-1] in PATTERN_HINTS:
        return f"key '{key}': expected {PATTERN_HINTS[loc[-1]]} (got {got!r})"
    shown = "" if isinstance(got, dict | list) else f" (got {got!r})"
    message = err["msg"].removeprefix("Value error, ")
    return f"key '{key}': {message}{shown}" if loc else message


def _fields_at(model: type[BaseModel], loc: list) -> list[str]:
    """Field names of the (nested) model that a location points into."""
    for part in loc:
        if isinstance(part, int):
            continue
        annotation = model.model_fields[part].annotation
        nested = [a for a in getattr(annotation, "__args__", (annotation,)) if isinstance(a, type)]
        model = next(a for a in nested if issubclass(a, BaseModel))
    return list(model.model_fields)


def _yaml_line(node: yaml.Node | None, loc: tuple) -> int:
    """1-based line, within the YAML text, of the deepest node a pydantic location reaches."""
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


def _toml_key_line(text: str, key: str | None) -> int | None:
    if key is None:
        return None
    pattern = re.compile(rf"^\s*{re.escape(str(key))}\s*=")
    return next((i + 1 for i, line in enumerate(text.splitlines()) if pattern.match(line)), None)


def _line_from_message(message: str) -> int | None:
    match = re.search(r"line (\d+)", message)
    return int(match.group(1)) if match else None
