"""Every user-facing text, from the per-language catalogues in `templates/`."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, StrictUndefined, Template

from bot.config import PROJECT_ROOT

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"
TEMPLATES = PROJECT_ROOT / "templates"

# Keys under these tables are plain text (button labels, command menu, file
# names); everything else is HTML sent with parse_mode=HTML and autoescaped.
PLAIN_PREFIXES = ("btn.", "cmd.", "plain.")


class CatalogueError(Exception):
    """A catalogue is missing a key, has an extra one, or fails to compile."""


def _flatten(table: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            yield from _flatten(value, name + ".")
        elif isinstance(value, str):
            yield name, value
        else:
            raise CatalogueError(f"{name}: expected text, found {type(value).__name__}")


def _environment(*, html: bool) -> Environment:
    env = Environment(
        autoescape=html,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    return env


@dataclass
class Catalogue:
    """Compiled templates of every language, checked to have the same keys."""

    templates: dict[str, dict[str, Template]] = field(default_factory=dict)
    # Texts without placeholders or logic, rendered once (most button labels and names).
    constants: dict[str, dict[str, str]] = field(default_factory=dict)

    def text(self, lang: str, key: str, /, **params: Any) -> str:
        """Render one text in a language (falling back to the default language)."""
        if lang not in self.templates:
            lang = DEFAULT_LANGUAGE
        constant = self.constants[lang].get(key)
        if constant is not None:
            return constant
        try:
            template = self.templates[lang][key]
        except KeyError:
            raise CatalogueError(f"unknown text key {key!r}") from None
        return _trim(key, template.render(params))

    def has(self, key: str) -> bool:
        """Whether a key exists (in every language, as loading guarantees)."""
        return key in self.templates[DEFAULT_LANGUAGE]

    def keys(self) -> set[str]:
        """All keys."""
        return set(self.templates[DEFAULT_LANGUAGE])


def load_catalogue(directory: Path = TEMPLATES) -> Catalogue:
    """Load and compile `zh.toml` and `en.toml`; any mismatch is an error naming the keys."""
    html_env, plain_env = _environment(html=True), _environment(html=False)
    sources: dict[str, dict[str, str]] = {}
    for lang in LANGUAGES:
        path = directory / f"{lang}.toml"
        with path.open("rb") as handle:
            sources[lang] = dict(_flatten(tomllib.load(handle)))
    reference = set(sources[DEFAULT_LANGUAGE])
    for lang, table in sources.items():
        missing, extra = reference - set(table), set(table) - reference
        if missing or extra:
            raise CatalogueError(
                f"{lang}.toml: missing {sorted(missing)}; not in {DEFAULT_LANGUAGE}: {sorted(extra)}"
            )
    catalogue = Catalogue()
    for lang, table in sources.items():
        compiled: dict[str, Template] = {}
        constants: dict[str, str] = {}
        for key, source in table.items():
            env = plain_env if key.startswith(PLAIN_PREFIXES) else html_env
            try:
                compiled[key] = env.from_string(source)
            except Exception as error:  # a template syntax error must name its key
                raise CatalogueError(f"{lang}.toml: {key}: {error}") from error
            if "{{" not in source and "{%" not in source and "{#" not in source:
                constants[key] = _trim(key, compiled[key].render())
        catalogue.templates[lang] = compiled
        catalogue.constants[lang] = constants
    return catalogue


def _trim(key: str, rendered: str) -> str:
    """A rendered text without the line breaks of its TOML block.

    Plain texts keep their spaces: a separator such as the English list joiner ", " is
    all spaces and punctuation, and stripping it would run the words together.
    """
    return rendered.strip("\n") if key.startswith(PLAIN_PREFIXES) else rendered.strip()


@lru_cache(maxsize=1)
def catalogue() -> Catalogue:
    """The shipped catalogue, loaded once."""
    return load_catalogue()


def pick_language(code: str | None, default: str = DEFAULT_LANGUAGE) -> str:
    """Our language for a Telegram `language_code` (zh-hans, zh-TW, en-US, ...).

    Chinese and English map to themselves; any other language reads English more
    easily than Chinese; no code at all gets the configured default.
    """
    if not code:
        return default
    lowered = code.lower()
    return "zh" if lowered.startswith("zh") else "en"
