"""What the builtin model was taught (`builtin/weights/vocabulary.json`): search it, and tell how near
a prompt comes to it. Plain word overlap, no model: the build checks prompts without torch.

The model learned each emoji's name, its aliases and its keywords as captions (and "a <style>
<name>" for the five drawing styles), so a prompt is *known* when all its words belong to one emoji.
"""

from __future__ import annotations

import difflib
import functools
import json
import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

VOCABULARY = Path(__file__).resolve().parent / "builtin" / "weights" / "vocabulary.json"
# Words that say nothing about which emoji: dropped before comparing.
FILLER = frozenset(["a", "an", "the", "of", "with", "and", "in", "on", "at", "for", "to", "some"])
SKIN_TONE = re.compile(r"^(?P<base>[^:]+): (?P<tones>[a-z, -]+ skin tones?)$")


@dataclass(frozen=True)
class Concept:
    """One emoji the model learned, with every caption it was taught for it."""

    emoji: str
    name: str
    aliases: tuple[str, ...]
    keywords: tuple[str, ...]
    styles: tuple[str, ...]

    @functools.cached_property
    def words(self) -> frozenset[str]:
        return frozenset(w for text in (self.name, *self.aliases, *self.keywords) for w in words(text))


@dataclass(frozen=True)
class Recipe:
    """The caption settings of a training run (`builtin.config.TrainConfig`'s fields of the same names)."""

    caption_dropout: float = 0.12
    style_prob: float = 0.2
    alias_prob: float = 0.15
    keyword_prob: float = 0.35
    group_power: float = 0.5
    captions_keep_proportions: bool = False  # False: the picture that chose the caption is trained with it
    focus_prompts: tuple[str, ...] = ()  # focus_share of each batch from these prompts' pictures
    focus_share: float = 0.0

    @classmethod
    def of(cls, settings: dict) -> Recipe:
        """The recipe in a config or facts dict; keys it lacks keep the values above (the v2 recipe's)."""
        values = {k: settings[k] for k in cls.__dataclass_fields__ if k in settings}
        if "focus_prompts" in values:
            values["focus_prompts"] = tuple(values["focus_prompts"])
        return cls(**values)


@dataclass(frozen=True)
class Vocabulary:
    styles: tuple[str, ...]
    concepts: tuple[Concept, ...]
    recipe_settings: tuple[tuple[str, object], ...] = ()  # the weights' caption recipe (config.json)

    @property
    def recipe(self):
        """How training chose pictures for captions."""
        return Recipe.of(dict(self.recipe_settings))

    @functools.cached_property
    def _index(self) -> dict[str, list[int]]:
        index: dict[str, list[int]] = {}
        for i, concept in enumerate(self.concepts):
            for word in concept.words:
                index.setdefault(word, []).append(i)
        return index

    def _content_words(self, prompt: str) -> list[str]:
        """The prompt's words that name something: no filler, no style name ("a 3d red apple")."""
        return [w for w in words(prompt) if w not in self.styles]

    def knows(self, prompt: str) -> bool:
        """True when every word of the prompt belongs to one emoji the model learned."""
        wanted = set(self._content_words(prompt))
        if not wanted:
            return True  # "" and "a": the model learned the empty caption too
        candidates = [set(self._index.get(w, ())) for w in wanted]
        return bool(set.intersection(*candidates))

    @functools.cached_property
    def captions(self) -> frozenset[str]:
        """Every caption text the model was trained with: names, aliases, keywords (bare and with
        "a"), and each name with a style ("a 3d red apple"); lower case, single spaces."""
        texts = set()
        for c in self.concepts:
            texts.update(_normal(t) for t in (c.name, *c.aliases, *c.keywords))
            texts.update(_normal(f"a {k}") for k in c.keywords)
            texts.update(_normal(f"a {s} {c.name}") for s in c.styles)
        return frozenset(texts)

    def is_caption(self, prompt: str) -> bool:
        """True when the prompt is a caption the model was trained with, as written (case and spaces
        aside; a leading "a"/"an" may be added or left out): "smiling cat with heart-eyes" is not,
        "smiling cat with heart-eyes" is."""
        text = _normal(prompt)
        bare = re.sub(r"^(a|an) ", "", text)
        return not text or bool({text, bare, f"a {bare}"} & self.captions)

    def nearest_captions(self, prompt: str, n: int = 3) -> list[str]:
        """The captions that read most like the prompt, among those of the emoji that share its words."""
        pool = {_normal(t) for c in self.search(prompt) for t in (c.name, *c.aliases, *c.keywords)}
        text = _normal(prompt)
        return difflib.get_close_matches(text, sorted(pool or self.captions), n, 0.5)

    def known_words(self, prompt: str) -> list[str]:
        """The prompt's words that some emoji's captions hold (what `stepthrough prompts WORD` finds)."""
        return [w for w in self._content_words(prompt) if w in self._index]

    def nearest(self, prompt: str, n: int = 3) -> list[str]:
        """Names of the emoji that share the most telling words with the prompt (rare words weigh
        more; a misspelt word counts as its nearest known word) and whose names read most alike.
        Skin-tone variants count as their base emoji."""
        wanted = set()
        for word in self._content_words(prompt):
            known = [word] if word in self._index else difflib.get_close_matches(word, self._index, 1, 0.8)
            wanted.update(known)
        weight = {w: math.log(len(self.concepts) / len(self._index[w])) for w in wanted}
        shared = Counter()
        for word in wanted:
            for i in self._index[word]:
                shared[i] += weight[word] / (sum(weight.values()) or 1)
        text = " ".join(words(prompt))

        def score(i: int) -> float:
            name = " ".join(words(self.concepts[i].name))
            return shared[i] + 0.5 * difflib.SequenceMatcher(None, text, name).ratio()

        names: list[str] = []
        for i in sorted(shared or range(len(self.concepts)), key=score, reverse=True):
            name = self.concepts[i].name
            name = (skin_tone_variant(name) or (name,))[0]
            if name not in names:
                names.append(name)
            if len(names) == n:
                break
        return names

    def search(self, word: str) -> list[Concept]:
        """Emoji whose name, an alias or a keyword holds `word` (or, for several words, all of them);
        those whose name holds it first."""
        wanted = set(words(word))
        if not wanted:
            return list(self.concepts)
        hits = [c for c in self.concepts if wanted <= c.words]
        return sorted(hits, key=lambda c: (not wanted <= set(words(c.name)), len(c.name), c.name))


def words(text: str) -> list[str]:
    """Lower-case words without accents, filler or plural 's': "Smiling cats with heart-eyes" →
    ["smiling", "cat", "heart", "eye"]."""
    plain = unicodedata.normalize("NFKD", text.lower()).encode("ascii", "ignore").decode()
    return [_singular(w) for w in re.findall(r"[a-z0-9]+", plain) if w not in FILLER]


def _normal(text: str) -> str:
    return " ".join(text.lower().split())


def _singular(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def skin_tone_variant(name: str) -> tuple[str, str] | None:
    """("health worker", "dark") for "health worker: dark skin tone" ("handshake", "light, dark" for
    "handshake: light skin tone, dark skin tone"); None for other names."""
    match = SKIN_TONE.match(name)
    return (match["base"], re.sub(r" skin tones?", "", match["tones"])) if match else None


def load(path: Path | None = None) -> Vocabulary:
    """The vocabulary at `path` (default: the shipped weights' one), read once per file."""
    return _load(Path(path or VOCABULARY))


@functools.cache
def _load(path: Path) -> Vocabulary:
    data = json.loads(path.read_text(encoding="utf-8"))
    concepts = tuple(
        Concept(
            emoji=c["emoji"],
            name=c["name"],
            aliases=tuple(c["aliases"]),
            keywords=tuple(c["keywords"]),
            styles=tuple(c["styles"]),
        )
        for c in data["concepts"]
    )
    config = path.parent / "config.json"
    facts = json.loads(config.read_text(encoding="utf-8")).get("facts", {}) if config.exists() else {}
    recipe = tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in facts.get("recipe", {}).items())
    return Vocabulary(styles=tuple(data["styles"]), concepts=concepts, recipe_settings=recipe)
