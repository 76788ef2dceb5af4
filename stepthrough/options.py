"""Value types of the content format, shared by site.toml, sections and every widget's settings."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


def _as_list(value: Any) -> Any:
    """Let authors write `seeds: 3` for `seeds: [3]`."""
    return value if isinstance(value, list) else [value]


def listed(item: Any) -> Any:
    """A list of `item` (at least one); a single value stands for a list of one."""
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
Blend = Annotated[float, Field(ge=0.0, le=1.0)]
Text = Annotated[str, Field(min_length=1)]  # Markdown


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False, frozen=True)
