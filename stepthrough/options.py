"""The content format's options, in MkDocs' manner: small typed validators that write their own messages.

A `Schema` (site.toml, a section's front matter, a widget's settings) lists its options as class
attributes. `Schema.load` checks every key and collects one `Problem` per mistake, each naming its
key and saying what would be right; content.py adds the file and line. Nothing stops at the first
mistake, so an author sees them all at once.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Self

REQUIRED = object()  # an option's default when the key must be given
INVALID = object()  # what a validator returns after it has reported a problem


@dataclass(frozen=True)
class Problem:
    at: tuple[str | int, ...]  # where the value sits: keys and list positions
    message: str  # the whole line but the file and line number, e.g. "key 'sweep.steps.0': …"


class Invalid(ValueError):
    """Raised by a schema's `check` (a rule across several keys); `at` is relative to the schema."""

    def __init__(self, message: str, at: tuple[str | int, ...] = ()):
        super().__init__(message)
        self.message, self.at = message, at

    def problem(self, within: tuple[str | int, ...]) -> Problem:
        """The problem it names, for a value that sits at `within`."""
        where = (*within, *self.at)
        return Problem(where, f"key '{dotted(where)}': {self.message}" if where else self.message)


def dotted(at: Sequence[str | int]) -> str:
    return ".".join(str(part) for part in at)


def shown(value: Any) -> str:
    """A value as a message quotes it (lists and mappings are left out: they are long)."""
    return "" if isinstance(value, dict | list) else f" (got {value!r})"


def number(value: float) -> str:
    """5.0 → "5", 0.25 → "0.25", 4294967295 → "4294967295"."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def choices(values: Sequence[Any]) -> str:
    """'a', 'b' or 'c'."""
    quoted = [repr(v) for v in values]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"


class Option:
    """One key's value: `validate` returns it (converted) or reports problems and returns INVALID."""

    def __init__(self, default: Any = REQUIRED):
        self.default = default

    def validate(self, value: Any, at: tuple, problems: list[Problem]) -> Any:
        if value is None and self.default is None:
            return None  # an optional key written as null
        try:
            return self.check(value, at, problems)
        except Invalid as exc:
            problems.append(exc.problem(at))
            return INVALID

    def check(self, value: Any, at: tuple, problems: list[Problem]) -> Any:
        """The value, converted; raise Invalid with what was expected."""
        raise NotImplementedError


class Text(Option):
    """A string: not empty, at most `max_length` characters, matching `pattern` (said as `hint`)."""

    def __init__(
        self,
        default=REQUIRED,
        *,
        max_length: int | None = None,
        pattern: str = "",
        hint: str = "",
        empty: bool = False,
    ):
        super().__init__(default)
        self.max_length, self.pattern, self.hint, self.empty = max_length, pattern, hint, empty

    def check(self, value, at, problems):
        if not isinstance(value, str):
            quote = f'; put it in quotes: "{value}"' if isinstance(value, int | float) else ""
            raise Invalid(f"expected text{shown(value)}{quote}")
        if not value and not self.empty:
            raise Invalid("must not be empty")
        if self.max_length is not None and len(value) > self.max_length:
            raise Invalid(f"must be at most {self.max_length} characters long (got {len(value)})")
        if self.pattern and not re.fullmatch(self.pattern, value):
            raise Invalid(f"expected {self.hint} (got {value!r})")
        return value


class Number(Option):
    """A number from `low` to `high`; `whole` for whole numbers, `step` for multiples of it."""

    def __init__(self, default=REQUIRED, *, low: float, high: float, whole: bool = False, step: float = 0):
        super().__init__(default)
        self.low, self.high, self.whole, self.step = low, high, whole, step

    def check(self, value, at, problems):
        kind = "a whole number" if self.whole else "a number"
        good = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        if not good or (self.whole and value != int(value)):
            raise Invalid(f"expected {kind} from {number(self.low)} to {number(self.high)}{shown(value)}")
        if not self.low <= value <= self.high:
            raise Invalid(f"expected {kind} from {number(self.low)} to {number(self.high)} (got {value!r})")
        if self.step and not math.isclose(value / self.step, round(value / self.step), abs_tol=1e-9):
            raise Invalid(f"expected a multiple of {number(self.step)} (got {value!r})")
        return int(value) if self.whole else float(value)


class Flag(Option):
    def check(self, value, at, problems):
        if not isinstance(value, bool):
            raise Invalid(f"expected true or false{shown(value)}")
        return value


class Choice(Option):
    """One of a few values."""

    def __init__(self, values: Sequence[Any], default=REQUIRED):
        super().__init__(default)
        self.values = tuple(values)

    def check(self, value, at, problems):
        if value not in self.values or isinstance(value, bool):
            raise Invalid(f"expected {choices(self.values)}{shown(value)}")
        return value


class ListOf(Option):
    """A list of `item`s, `min_length` to `max_length` long; a single value stands for a list of one."""

    def __init__(
        self,
        item: Option,
        default=REQUIRED,
        *,
        min_length: int = 1,
        max_length: int | None = None,
        unique: str = "",
    ):
        super().__init__(default)
        self.item, self.min_length, self.max_length, self.unique = item, min_length, max_length, unique

    def check(self, value, at, problems):
        items = value if isinstance(value, list) else [value]
        if len(items) < self.min_length:
            raise Invalid(f"expected at least {self.min_length} items (got {len(items)})")
        if self.max_length is not None and len(items) > self.max_length:
            raise Invalid(f"expected at most {self.max_length} items (got {len(items)})")
        checked = [self.item.validate(v, (*at, i), problems) for i, v in enumerate(items)]
        if INVALID in checked:
            return INVALID
        if self.unique and (twice := repeated(checked)) is not None:
            raise Invalid(f"{twice!r} is listed twice; {self.unique}")
        return checked


class DictOf(Option):
    """Keys and values: each key checked by `key`, each value by `value`."""

    def __init__(self, key: Option, value: Option, default=REQUIRED, *, min_length: int = 0):
        super().__init__(default)
        self.key, self.value, self.min_length = key, value, min_length

    def check(self, value, at, problems):
        if not isinstance(value, dict):
            raise Invalid(f"expected keys and values{shown(value)}")
        if len(value) < self.min_length:
            raise Invalid(f"expected at least {self.min_length} entries (got {len(value)})")
        checked = {
            self.key.validate(k, (*at, k), problems): self.value.validate(v, (*at, k), problems)
            for k, v in value.items()
        }
        return INVALID if INVALID in checked or INVALID in checked.values() else checked


class Mapping(Option):
    """Keys and values checked later (a widget's `settings:`, by the widget's own schema)."""

    def check(self, value, at, problems):
        if not isinstance(value, dict):
            raise Invalid(f"expected keys and values{shown(value)}")
        return value


class Nested(Option):
    """A group of keys with a schema of its own."""

    def __init__(self, schema: type[Schema], default=REQUIRED):
        super().__init__(default)
        self.schema = schema

    def check(self, value, at, problems):
        loaded = self.schema.load(value, problems, at)
        return INVALID if loaded is None else loaded


class Schema:
    """A group of options, frozen once loaded: subclasses list them as class attributes and may
    add `check` for rules across several keys (raise Invalid)."""

    options: ClassVar[dict[str, Option]] = {}
    none_hint: ClassVar[str] = "(none)"  # what "expected one of" says when there are no keys

    def __init_subclass__(cls) -> None:
        inherited = {
            k: v for base in reversed(cls.__mro__[1:]) for k, v in getattr(base, "options", {}).items()
        }
        cls.options = {**inherited, **{k: v for k, v in vars(cls).items() if isinstance(v, Option)}}
        for name in cls.options:
            if name in vars(cls):
                delattr(cls, name)  # the loaded value is an instance attribute

    def __init__(self, **values: Any):
        defaults = {k: copy.deepcopy(o.default) for k, o in self.options.items() if o.default is not REQUIRED}
        vars(self).update({**defaults, **values})

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen")

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and vars(other) == vars(self)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in vars(self).items())})"

    def check(self) -> None:
        """Rules across several keys; raise Invalid. Runs only when every key is valid."""

    @classmethod
    def load(cls, data: Any, problems: list[Problem], at: tuple = ()) -> Self | None:
        """`data` checked key by key; None (with every problem in `problems`) when anything is wrong."""
        if not isinstance(data, dict):
            problems.append(Invalid(f"expected keys and values{shown(data)}").problem(at))
            return None
        before = len(problems)
        allowed = ", ".join(cls.options) or cls.none_hint
        for key in data:
            if key not in cls.options:
                problems.append(
                    Problem((*at, key), f"unknown key '{dotted((*at, key))}'; expected one of: {allowed}")
                )
        values = {}
        for name, option in cls.options.items():
            if name in data:
                values[name] = option.validate(data[name], (*at, name), problems)
            elif option.default is REQUIRED:
                problems.append(Problem((*at, name), f"missing key '{dotted((*at, name))}'"))
        if len(problems) > before:
            return None
        loaded = cls(**values)
        try:
            loaded.check()
        except Invalid as exc:
            problems.append(exc.problem(at))
            return None
        return loaded


# --- value types the content format shares ---

MAX_SEED_RANGE = 1000


def Prompt(default: Any = REQUIRED) -> Text:
    return Text(default, max_length=300)


def Seed(default: Any = REQUIRED) -> Number:
    return Number(default, low=0, high=2**32 - 1, whole=True)


class Seeds(ListOf):
    """Seeds: a list, one seed, or a range {from: 0, count: 32} for 0, 1, …, 31."""

    def __init__(self, default: Any = REQUIRED):
        super().__init__(Seed(), default)

    def check(self, value, at, problems):
        if not isinstance(value, dict):
            return super().check(value, at, problems)
        start, count = value.get("from", 0), value.get("count")
        if set(value) - {"from", "count"} or not isinstance(start, int) or not isinstance(count, int):
            raise Invalid(
                "a range of seeds is written {from: 0, count: 32} (from: first seed, count: how many)"
            )
        if not 1 <= count <= MAX_SEED_RANGE:
            raise Invalid(f"a range of seeds may hold 1 to {MAX_SEED_RANGE} seeds (got count {count})")
        return super().check(list(range(start, start + count)), at, problems)


def repeated(values: Sequence[Any]) -> Any:
    """The first value listed twice, or None."""
    return next((v for i, v in enumerate(values) if v in values[:i]), None)
