"""Predict mode: the student's guess for the next output cell, checked against the step's own terms.

A guess is a number (`7`, `-2.5`) or the arithmetic written out (`1*2 + 3*(-1) + 0.5`), read without eval. A wrong
guess comes back with the step's terms and the one that explains the difference marked: a term left out, a term
with its sign flipped, the bias forgotten, or (for written-out arithmetic) the first term that differs.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ..trace.text import StepText, format_number
from ..trace.window import CellKind, WindowTrace
from .answers import Unreadable, parse_number

__all__ = ["Term", "Prediction", "step_terms", "check_prediction", "parse_terms"]

_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_FACTOR = rf"(?:[-+]?{_NUMBER}|\(\s*[-+]?{_NUMBER}\s*\))"
_TERM = re.compile(rf"\s*([-+])?\s*({_FACTOR}(?:\s*\*\s*{_FACTOR})*)\s*(?:\(bias\))?\s*")


@dataclass(frozen=True)
class Term:
    """One term of a step: its text (`3·(-1)`, `0.5 (bias)`), its value, and why it is marked (or None)."""

    text: str
    value: float
    mark: str | None = None


@dataclass(frozen=True)
class Prediction:
    status: str  # 'right', 'wrong' or 'unreadable'
    message: str
    answer: float
    terms: tuple[Term, ...] = ()


def step_terms(trace: WindowTrace, step: int) -> list[Term]:
    """The products of a step (every input channel of the group, kernel order) and the bias, as the lessons write
    them; the transposed conv's zero-insertion view leaves out the taps on inserted or padding zeros."""
    texts = StepText(trace, digits=4, times="·").terms(step)
    kinds = trace.tap_kinds(step).ravel()
    terms = []
    for k, row in enumerate(texts):
        values, products = trace.values[step, k].ravel(), trace.products[step, k].ravel()
        for n, text in enumerate(row):
            if trace.op == "conv_transpose2d" and kinds[n] != CellKind.REAL and values[n] == 0:
                continue
            terms.append(Term(text, float(products[n])))
    if trace.bias is not None:
        bias = format_number(trace.bias)
        terms.append(Term(f"{f'({bias})' if bias.startswith('-') else bias} (bias)", float(trace.bias)))
    return terms


def _tolerance(value: float) -> float:
    """Half a unit of the 4th significant digit (what the lessons print), at least 1e-6."""
    scale = abs(value)
    return max(1e-6, 0.5 * 10 ** (math.floor(math.log10(scale)) - 3)) if scale else 1e-6


def _close(a: float, b: float, tol: float) -> bool:
    return abs(a - b) <= tol


def _factor_value(text: str) -> float:
    return float(text.strip().strip("()").replace(" ", ""))


def parse_terms(text: str) -> list[float]:
    """`1*2 + 3*(-1) - 4 + 0.5` -> [2.0, -3.0, -4.0, 0.5] (each product's value, signs applied); Unreadable else."""
    s = str(text).replace("·", "*").replace("×", "*").replace("\u2212", "-")
    pos, values = 0, []
    while pos < len(s):
        m = _TERM.match(s, pos)
        if m is None or m.end() == pos or (values and m.group(1) is None):
            raise Unreadable(f"could not read {text.strip()!r}: write a number, or products joined by + and -, "
                             "such as 1*2 + 3*(-1) + 0.5")
        value = 1.0
        for factor in re.findall(_FACTOR, m.group(2)):
            value *= _factor_value(factor)
        values.append(-value if m.group(1) == "-" else value)
        pos = m.end()
    if not values:
        raise Unreadable("the guess is empty: type the value of the output cell")
    return values


def _marked(terms: list[Term], index: int, why: str) -> tuple[Term, ...]:
    return tuple(Term(t.text, t.value, why if i == index else None) for i, t in enumerate(terms))


def check_prediction(trace: WindowTrace, step: int, text: str) -> Prediction:
    """Grade a guess for the step's output cell; a wrong one gets the terms with the differing one marked."""
    answer = float(trace.results[step])
    terms = step_terms(trace, step)
    tol = _tolerance(answer)
    try:
        written = None
        guess = parse_number(text)
    except Unreadable:
        written = parse_terms(text)  # raises Unreadable with the message for the page
        guess = math.fsum(written)
    if _close(guess, answer, tol):
        return Prediction("right", f"Right: {format_number(answer)}.", answer, tuple(terms))
    shown = format_number(answer)
    if written is not None and len(written) > 1:
        for i, (mine, term) in enumerate(zip(written, terms)):
            if not _close(mine, term.value, _tolerance(term.value)):
                return Prediction("wrong", f"Your term {i + 1} is {format_number(mine)}; it should be {term.text} = "
                                           f"{format_number(term.value)}. The cell is {shown}.", answer,
                                  _marked(terms, i, "differs"))
        if len(written) != len(terms):
            i = min(len(written), len(terms) - 1)
            what = "is missing" if len(written) < len(terms) else "is extra"
            return Prediction("wrong", f"{abs(len(terms) - len(written))} term(s) {what}: the step has {len(terms)} "
                                       f"terms. The cell is {shown}.", answer, _marked(terms, i, "missing"))
    diff = answer - guess
    for i, term in enumerate(terms):
        if term.value and _close(term.value, diff, tol):
            return Prediction("wrong", f"Off by {format_number(diff)}: exactly the term {term.text} = "
                                       f"{format_number(term.value)}, left out? The cell is {shown}.", answer,
                              _marked(terms, i, "left out"))
    for i, term in enumerate(terms):
        if term.value and _close(2 * term.value, diff, tol):
            return Prediction("wrong", f"Off by {format_number(diff)}: twice the term {term.text}; was its sign "
                                       f"flipped? The cell is {shown}.", answer, _marked(terms, i, "sign"))
    return Prediction("wrong", f"Off by {format_number(diff)}: the cell is {shown}. No single term explains the "
                               "difference: write your terms (such as 1*2 + 3*(-1)) to see the first that differs.",
                      answer, tuple(terms))
