"""Reading and grading answers as people type them: `3x3`, `(3, 3)`, `3, 3`, `[1, 3, 3]`, `-2.5`, `impossible`.

No eval: a tokenizer over numbers, separators and brackets. Text that cannot be read raises Unreadable with a
message that says what was expected; it is not graded (not counted as wrong).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

__all__ = ["Unreadable", "Grade", "parse_number", "parse_numbers", "parse_cells", "grade_part", "IMPOSSIBLE"]

IMPOSSIBLE = "impossible"
_IMPOSSIBLE_WORDS = {"impossible", "not possible", "none", "no", "cannot", "can't", "cant", "no solution", "n/a"}
_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_SEPARATOR = r"(?:\s*[,;x×*]\s*|\s+)"
_TUPLE = re.compile(rf"({_NUMBER}(?:{_SEPARATOR}{_NUMBER})*)\s*,?")
_BRACKETS = {"(": ")", "[": "]", "{": "}"}
_SIZE_PREFIX = re.compile(r"^(?:torch\.)?size\s*\(\s*(.*)\)$", re.IGNORECASE)


class Unreadable(ValueError):
    """The text is not an answer of the expected form (the message says which form)."""


@dataclass(frozen=True)
class Grade:
    """The verdict on one answer: 'right', 'wrong' or 'unreadable' (then `message` says why; not counted)."""

    status: str
    message: str = ""

    @property
    def right(self) -> bool:
        return self.status == "right"


def _clean(text) -> str:
    if text is None:
        return ""
    return str(text).strip().replace("\u2212", "-").replace("\u2013", "-").rstrip(".").strip()


def is_impossible(text) -> bool:
    return _clean(text).lower().rstrip("!") in _IMPOSSIBLE_WORDS


def parse_numbers(text) -> tuple[float, ...]:
    """`3x3`, `(3, 3)`, `3, 3`, `[1, 3, 3]`, `torch.Size([1, 3, 3])`, `3 3` -> the numbers, in order."""
    s = _clean(text)
    if not s:
        raise Unreadable("the answer is empty: type numbers such as 3x3 or (3, 3)")
    inner = _SIZE_PREFIX.match(s)
    if inner:
        s = inner.group(1).strip()
    if s[:1] in _BRACKETS and s[-1:] == _BRACKETS[s[0]]:
        s = s[1:-1].strip()
    m = _TUPLE.fullmatch(s)
    if m is None:
        raise Unreadable(f"could not read {str(text).strip()!r}: write numbers separated by commas or x, such as "
                         "3x3, (3, 3) or [1, 3, 3]")
    return tuple(float(v) for v in re.findall(_NUMBER, m.group(1)))


def parse_number(text) -> float:
    """One number such as `-2.5`, `7` or `1e3`."""
    values = parse_numbers(text)
    if len(values) != 1:
        raise Unreadable(f"expected one number, such as -2.5, but read {len(values)} numbers in {str(text).strip()!r}")
    return values[0]


def parse_cells(text) -> frozenset[tuple[int, int]]:
    """Typed cells `(0, 1), (2, 3)` or `0,1; 2,3` -> {(0, 1), (2, 3)}; `none` -> the empty set."""
    s = _clean(text)
    if is_impossible(s):
        return frozenset()
    values = re.findall(_NUMBER, s)
    leftover = re.sub(_NUMBER, "", s)
    if not values or len(values) % 2 or re.search(r"[^\s,;()\[\]{}]", leftover):
        raise Unreadable(f"could not read {str(text).strip()!r} as cells: write row,col pairs such as (0, 1), (2, 3)")
    nums = [float(v) for v in values]
    if any(not v.is_integer() or v < 0 for v in nums):
        raise Unreadable("cell rows and columns are whole numbers from 0")
    return frozenset((int(nums[i]), int(nums[i + 1])) for i in range(0, len(nums), 2))


def _whole(values) -> tuple[int, ...] | None:
    return tuple(int(v) for v in values) if all(float(v).is_integer() for v in values) else None


def grade_part(form: str, expected, given) -> Grade:
    """Grade one answer (`given`: the typed text, or a set of (row, col) cells for form 'cells').

    Forms: 'number' (a float, 1e-6 tolerance), 'int', 'shape' (expected: the full shape (N, C, H, W); (H, W),
    (C, H, W) or the full shape are accepted, one number when H == W), 'pair' ((h, w), or 'impossible' when
    expected is IMPOSSIBLE), 'tuple' (exactly these entries), 'cells' (a set of (row, col)).
    """
    if form == "cells":
        cells = given if isinstance(given, (set, frozenset)) else parse_cells(given)
        return Grade("right" if frozenset(cells) == frozenset(expected) else "wrong")
    if form in ("pair", "shape") and is_impossible(given):
        return Grade("right" if expected == IMPOSSIBLE else "wrong")
    if is_impossible(given):
        return Grade("wrong")
    if form == "number":
        v = parse_number(given)
        return Grade("right" if math.isclose(v, float(expected), rel_tol=1e-6, abs_tol=1e-6) else "wrong")
    if form == "int":
        v = parse_number(given)
        return Grade("right" if v == int(expected) else "wrong")
    values = parse_numbers(given)
    whole = _whole(values)
    if whole is None:
        return Grade("wrong", "sizes are whole numbers")
    if expected == IMPOSSIBLE:
        return Grade("wrong")
    expected = tuple(int(v) for v in expected)
    if form == "tuple":
        return Grade("right" if whole == expected else "wrong")
    if len(whole) == 1 and expected[-2] == expected[-1]:  # `3` for a 3x3 answer
        whole = whole * 2
    if form == "pair":
        return Grade("right" if whole == expected else "wrong")
    # shape: any trailing part of the full shape that includes (H, W)
    if not 2 <= len(whole) <= len(expected):
        return Grade("wrong", f"the output has {len(expected)} dimensions {tuple(expected)}")
    return Grade("right" if whole == expected[-len(whole):] else "wrong")
