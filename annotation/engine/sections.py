"""Split a radiology report into sections.

Mentions in the indication / history / comparison / technique sections describe why the study
was ordered or what it was compared with, not what the current study shows, so the labeler skips
them. Headers come from data (annotation/data/sections.yaml + NegBio's section_titles.txt).
Organ headings of templated reports ("LIVER:", "KIDNEYS:", annotation/data/organs.yaml) are findings
sections that also carry the organs they name, so a sentence under "LIVER:" is about the liver.
"""
from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from annotation.engine.schema import data_text, load_data_yaml

SECTION_NAMES = ("indication", "history", "comparison", "technique", "findings", "impression", "other")


class Section(NamedTuple):
    """One section of a report; a named tuple because every report makes several (a frozen
    dataclass costs three times as much to create)."""

    name: str
    start: int
    end: int
    # Organs named by an organ heading ("LIVER:" -> {"liver"}); empty for other sections.
    organs: frozenset[str] = frozenset()


@dataclass(frozen=True)
class _SectionConfig:
    title_to_name: dict[str, str]
    max_words: int
    ignored: frozenset[str]
    title_to_organs: dict[str, frozenset[str]]


def _canonical(title: str, keywords: list[tuple[str, set[str]]]) -> str:
    words = set(re.split(r"[^A-Z]+", title.upper()))
    for name, keys in keywords:
        if words & keys:
            return name
    return "other"


@lru_cache(maxsize=1)
def _config() -> _SectionConfig:
    data = load_data_yaml("sections.yaml")
    keywords = [(name, {k.upper() for k in keys}) for name, keys in data["keywords"]]
    titles = [line.strip().rstrip(":").strip() for line in data_text("negbio_section_titles.txt").splitlines()]
    titles += [str(t) for t in data["extra_titles"]]
    title_to_name: dict[str, str] = {}
    for title in titles:
        key = " ".join(title.upper().split())
        if key and key not in title_to_name:
            title_to_name[key] = _canonical(key, keywords)
    organ_sets: dict[str, set[str]] = {}
    for organ, spec in load_data_yaml("organs.yaml")["organs"].items():
        for heading in spec.get("headings", ()):
            organ_sets.setdefault(" ".join(str(heading).upper().split()), set()).add(str(organ))
    title_to_organs = {key: frozenset(organs) for key, organs in organ_sets.items()}
    for key in title_to_organs:
        title_to_name[key] = "findings"  # an organ heading is never a context section
    max_words = max(len(t.split()) for t in title_to_name)
    return _SectionConfig(title_to_name, max_words, frozenset(data["ignored"]), title_to_organs)


# Characters a header may contain; the title itself is decided by a dictionary lookup.
_HEADER_CHARS_REV_RE = re.compile(r"[A-Za-z/&()\- \t]{1,60}")
# The same characters: a colon after any other one ("10:15", "ratio:1") ends no header.
_HEADER_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz/&()- \t")
_HEAD_CACHE: dict[str, tuple[int, str, frozenset[str]] | None] = {}
_NO_ORGANS: frozenset[str] = frozenset()


def _header_before(text: str, colon: int, cfg: _SectionConfig) -> tuple[int, str, frozenset[str]] | None:
    """If a known title ends right before ``colon``, return (start, canonical name, organs)."""
    if colon == 0 or text[colon - 1] not in _HEADER_CHARS:
        return None
    lo = max(0, colon - 60)
    m = _HEADER_CHARS_REV_RE.match(text[lo:colon][::-1])
    if m is None:
        return None
    chunk = m.group()[::-1]
    chunk_start = colon - len(chunk)
    key = chunk.upper()
    hit = _HEAD_CACHE.get(key, False)
    if hit is False:
        hit = None
        words = key.split()
        for k in range(min(len(words), cfg.max_words), 0, -1):
            title = " ".join(words[-k:])
            name = cfg.title_to_name.get(title)
            if name is not None:
                # offset of the title inside the chunk: skip the words before it
                pos = 0
                for w in words[:-k]:
                    pos = key.index(w, pos) + len(w)
                pos = key.index(words[-k], pos)
                hit = (pos, name, cfg.title_to_organs.get(title, _NO_ORGANS))
                break
        if len(_HEAD_CACHE) < 50_000:
            _HEAD_CACHE[key] = hit
    if hit is None:
        return None
    return (chunk_start + hit[0], hit[1], hit[2])


def ignored_sections() -> frozenset[str]:
    return _config().ignored


def split_sections(text: str, default: str = "findings") -> list[Section]:
    """Return the sections of ``text`` in order, covering it entirely.

    Headers are "Title:" anywhere (inline "FINDINGS:" too) or an upper-case title alone on a
    line. Text before the first header (or a header-less report) is one ``default`` section.
    """
    cfg = _config()
    heads: list[tuple[int, str, frozenset[str]]] = []
    colon = text.find(":")
    while colon != -1:
        head = _header_before(text, colon, cfg)
        if head is not None:
            heads.append(head)
        colon = text.find(":", colon + 1)
    if "\n" in text:
        pos = 0
        for line in text.split("\n"):
            # whitespace has no case, so the line is upper case exactly when its stripped text is
            if not line.isupper():
                pos += len(line) + 1
                continue
            stripped = line.strip()
            if len(stripped) < 80:
                title = " ".join(stripped.split())
                name = cfg.title_to_name.get(title)
                if name is not None:
                    heads.append((pos + line.index(stripped[0]), name, cfg.title_to_organs.get(title, _NO_ORGANS)))
            pos += len(line) + 1
    if not heads:
        return [Section(default, 0, len(text))]
    heads.sort(key=lambda h: (h[0], h[1]))
    sections: list[Section] = []
    if text[: heads[0][0]].strip():
        sections.append(Section(default, 0, heads[0][0]))
    for i, (start, name, organs) in enumerate(heads):
        if i + 1 < len(heads) and heads[i + 1][0] == start:
            continue
        stop = heads[i + 1][0] if i + 1 < len(heads) else len(text)
        sections.append(Section(name, start, stop, organs))
    return sections


class SectionIndex:
    """Find the section of a character offset in O(log n)."""

    __slots__ = ("_sections", "_starts")

    def __init__(self, sections: list[Section]) -> None:
        self._sections = sections
        self._starts = [s.start for s in sections]

    def at(self, offset: int) -> Section:
        i = bisect.bisect_right(self._starts, offset) - 1
        return self._sections[max(i, 0)]
