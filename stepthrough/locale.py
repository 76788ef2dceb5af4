"""The page's own words in the site's language: one locale file per language under `site/locales/`.

`site.toml`'s `language` ("es", "pt-BR") picks `locales/<language>.json`, else the file of its
base language ("pt"); a phrase that file lacks, and every phrase of a language with no file, is
shown in English, and the build says so once (a warning: `--strict` stops on it).

A locale file has three parts: `language` (its name and writing direction), `page` (phrases the
templates read through `t("key", name=value)`) and `script` (phrases the widget scripts read
through `Stepthrough.t("key", {name: value})`: the builder writes them into the page as JSON).
A phrase is a string with `{name}` slots, or, where it counts something, an object of plural
forms named as `Intl.PluralRules` names them ("zero", "one", "two", "few", "many", "other").
"""

from __future__ import annotations

import json
import re
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from typing import Any

import markupsafe

LOCALES = Path(__file__).parent / "site" / "locales"  # beside the templates that read them
ENGLISH = "en"
# Languages written right to left: the page gets dir="rtl" and mirrors.
RIGHT_TO_LEFT = {"ar", "he", "fa", "ur", "yi", "ps", "sd", "ug", "ckb", "dv"}
PARTS = ("page", "script")
# The script whose phrases a key's first part names, where it is not simply "<part>.js".
SCRIPT_OF = {
    "forward": "forward-process.js",
    "noise": "noise-canvas.js",
    "map": "embedding-map.js",
    "data": "training-data.js",
}
_SLOT = re.compile(r"\{(\w+)\}")


@cache
def _read(code: str) -> dict[str, Any] | None:
    path = LOCALES / f"{code}.json"
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def shipped() -> list[str]:
    """The languages with a locale file, English first."""
    codes = sorted(p.stem for p in LOCALES.glob("*.json"))
    return [ENGLISH, *(c for c in codes if c != ENGLISH)]


def base(language: str) -> str:
    return language.split("-")[0].lower()


def direction(language: str) -> str:
    return "rtl" if base(language) in RIGHT_TO_LEFT else "ltr"


def plural_category(language: str, n: float) -> str:
    """The CLDR plural category of a whole count `n` (the build's side of `Intl.PluralRules`)."""
    lang, n = base(language), abs(n)
    if lang == "ar":
        if n == 0:
            return "zero"
        if n == 1:
            return "one"
        if n == 2:
            return "two"
        if n == int(n) and 3 <= n % 100 <= 10:
            return "few"
        if n == int(n) and 11 <= n % 100 <= 99:
            return "many"
        return "other"
    if lang in ("fr", "pt"):
        return "one" if n in (0, 1) else "other"
    return "one" if n == 1 else "other"


class Phrases:
    """The phrases of one language, English where it has none (said once, as a warning)."""

    def __init__(self, language: str, prompts: dict[str, str] | None = None) -> None:
        self.language = language
        self.prompts = prompts or {}  # English prompt → its translation (site.toml [prompt_translations])
        english = _read(ENGLISH)
        assert english is not None, "stepthrough ships locales/en.json"
        chosen = _read(language) or _read(base(language)) or english
        self.missing: list[str] = []  # what is shown in English (see `problems`)
        self.parts: dict[str, dict[str, Any]] = {}
        for part in PARTS:
            mine = chosen.get(part, {})
            self.parts[part] = {}
            for key, phrase in english[part].items():
                self.parts[part][key] = mine.get(key, phrase)
                if key not in mine:
                    self.missing.append(f"{part}.{key}")
        self.direction = direction(language)

    def __call__(self, key: str, **values: Any) -> markupsafe.Markup:
        """The template phrase `key` with its `{name}` slots filled (numbers as the language writes
        them, the rest escaped: a phrase is trusted markup, a value is not); `n` picks the plural form."""
        shown = {
            name: self.number(v)
            if isinstance(v, (int, float)) and not isinstance(v, bool)
            else markupsafe.escape(v)
            for name, v in values.items()
        }
        return markupsafe.Markup(fill(self.parts["page"][key], self.language, shown, values.get("n", 0)))

    def number(self, value: float, places: int | None = None) -> str:
        return number(self.language, value, places)

    @property
    def english_prompts(self) -> bool:
        """Whether the page says once that the prompts stay in English (its language is another)."""
        return base(self.language) != ENGLISH

    def plain(self, key: str, **values: Any) -> str:
        """The template phrase `key` as plain text with its slots filled as given, for widgets' data
        (scripts put it in with textContent: nothing is escaped)."""
        return fill(self.parts["page"][key], self.language, values, values.get("n", 0))

    def prompt(self, text: str) -> str:
        """A prompt as the page shows it: with its translation where site.toml gives one (plain
        text, for widget data: "a doctor (un médico)")."""
        translation = self.prompts.get(text)
        return self.plain("prompt_translated", prompt=text, translation=translation) if translation else text

    def script_table(self, scripts: list[str]) -> dict[str, Any]:
        """What the page's `scripts` read (common.js `Stepthrough.t`): the shared phrases, and those
        of each script there ("stepper.status" is stepper.js's, "forward.clean" forward-process.js's)."""
        phrases = {
            key: phrase
            for key, phrase in self.parts["script"].items()
            if "." not in key or SCRIPT_OF.get(key.split(".")[0], key.split(".")[0] + ".js") in scripts
        }
        digits = _NUMBERS.get(base(self.language), _NUMBERS[ENGLISH])[2]
        table = {"language": self.language, "phrases": phrases}
        return table | ({"numbers": "arab"} if digits else {})  # the digits the build writes too


def language_name(language: str) -> str:
    """The language's name as its speakers write it ("Español"), from its locale file; else the code."""
    chosen = _read(language) or _read(base(language))
    return chosen["language"]["name"] if chosen else language


def problems(language: str) -> list[str]:
    """What the build warns about the page's own words in `language` (make.py: `--strict` counts them)."""
    if _read(language) is None and _read(base(language)) is None:
        if base(language) == ENGLISH:
            return []
        known = ", ".join(shipped())
        return [
            f"language {language!r}: stepthrough has no locale file for it (it has {known}), so the page's own words are in English"
        ]
    missing = Phrases(language).missing
    if not missing:
        return []
    shown = ", ".join(missing[:5]) + (" …" if len(missing) > 5 else "")
    return [
        f"language {language!r}: {len(missing)} phrase(s) missing from its locale file, shown in English: {shown}"
    ]


def fill(phrase: str | dict[str, str], language: str, values: dict[str, Any], n: float = 0) -> str:
    if isinstance(phrase, dict):
        phrase = phrase.get(plural_category(language, n), phrase["other"])
    return _SLOT.sub(lambda m: str(values[m.group(1)]) if m.group(1) in values else m.group(0), phrase)


def slots(phrase: str | dict[str, str]) -> set[str]:
    texts = phrase.values() if isinstance(phrase, dict) else [phrase]
    return {name for text in texts for name in _SLOT.findall(text)}


# How each language writes a number: (grouping mark, decimal mark, digits, least digits to group).
_NUMBERS = {
    "en": (",", ".", None, 4),
    "es": (".", ",", None, 5),
    "pt": (".", ",", None, 4),
    "de": (".", ",", None, 4),
    "fr": ("\u202f", ",", None, 4),
    "ar": ("٬", "٫", "٠١٢٣٤٥٦٧٨٩", 4),
}


def number(language: str, value: float, places: int | None = None) -> str:
    """`value` as the language writes it, as `Intl.NumberFormat` does in the page: 65536 → "65,536"
    in English, "65.536" in Spanish, "٦٥٬٥٣٦" in Arabic; up to three decimals, or exactly `places`."""
    group, point, digits, least = _NUMBERS.get(base(language), _NUMBERS[ENGLISH])
    if places is not None:
        text = f"{value:.{places}f}"
    else:
        text = f"{value:.3f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)
    sign, text = ("-", text[1:]) if text.startswith("-") else ("", text)
    whole, _, fraction = text.partition(".")
    if len(whole) >= least:
        whole = f"{int(whole):,}".replace(",", group)
    text = sign + whole + (point + fraction if fraction else "")
    if digits:
        text = text.translate(str.maketrans("0123456789", digits))
    return text


_NOW: ContextVar[Phrases | None] = ContextVar("phrases", default=None)


def now() -> Phrases:
    """The phrases of the site being rendered (build.py sets them), else English: what widgets'
    data say in the page's language ("25 pasos", "(sin palabras)", "7,5")."""
    return _NOW.get() or Phrases(ENGLISH)


def rendering(phrases: Phrases):
    """Make `phrases` those `now` returns until the returned token is given to `done`."""
    return _NOW.set(phrases)


def done(token) -> None:
    _NOW.reset(token)


def decimal(text: str) -> str:
    """A number already written the English way ("7.5", "1e-05") with the language's decimal mark."""
    mark = _NUMBERS.get(base(now().language), _NUMBERS[ENGLISH])[1]
    return text.replace(".", mark)
