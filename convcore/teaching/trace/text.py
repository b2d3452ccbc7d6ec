"""The arithmetic of a step written out with its real numbers, compactly: `out[0,1,2,3] = 2*1 + 0*(-1) + 7 (bias) = 9`.

Pure functions of the step records; the numbers shown are the records' own (the result is the output cell).
"""
from __future__ import annotations

import math

import numpy as np

from .window import CellKind, WindowTrace

__all__ = ["format_number", "StepText", "arithmetic_terms", "arithmetic_text", "arithmetic_lines", "scatter_text", "matrix_text"]


def _real(v: float, digits: int) -> str:
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v == 0:
        return "0"  # also -0.0
    if v.is_integer() and abs(v) < 1e6:
        return str(int(v))
    s = f"{v:.{digits}g}"
    if "e" in s:  # 1.235e+04 -> 1.235e4
        mantissa, exponent = s.split("e")
        s = f"{mantissa}e{int(exponent)}"
    return s


def format_number(value, digits: int = 4) -> str:
    """A number in few characters: integers without a decimal point, others with `digits` significant digits.

    Complex values as (a+bj), as Python writes them.
    """
    v = complex(value) if np.iscomplexobj(value) else float(value)
    if isinstance(v, complex):
        re, im = _real(v.real, digits), _real(abs(v.imag), digits)
        sign = "-" if (v.imag < 0 or (v.imag == 0 and math.copysign(1, v.imag) < 0)) else "+"
        return f"({re}{sign}{im}j)"
    return _real(v, digits)


def _factor(value, digits: int) -> str:
    """A number as a factor of a product: negatives in parentheses (complex numbers already have them)."""
    s = format_number(value, digits)
    return f"({s})" if s.startswith("-") else s


class StepText:
    """The arithmetic of a WindowTrace's steps, formatting each grid cell and weight once (for all-step figures)."""

    def __init__(self, trace: WindowTrace, digits: int = 4, times: str = "*"):
        self.trace, self.digits, self.times = trace, digits, times
        self._grid: dict[tuple[int, int, int], str] = {}
        self._kernel = [[_factor(w, digits) for w in k.ravel()] for k in trace.kernel]
        self._bias = None if trace.bias is None else f" + {_factor(trace.bias, digits)} (bias)"

    def _cell(self, k: int, r: int, c: int) -> str:
        key = (k, r, c)
        if key not in self._grid:
            self._grid[key] = _factor(self.trace.grid[k, r, c], self.digits)
        return self._grid[key]

    def terms(self, step: int, skip_zeros: bool = False) -> list[list[str]]:
        """Per input channel of the group, the products of a step as 'value*weight' strings in kernel order.

        skip_zeros leaves out taps that read a zero which is not a real input (zero padding, inserted zeros,
        output_padding's cells); a real input that happens to be 0 is kept.
        """
        t = self.trace
        step = t.check_step(step)
        rows, cols = t.tap_rows[step].tolist(), t.tap_cols[step].tolist()
        kinds = t.grid_kinds[np.ix_(rows, cols)].ravel().tolist()
        cells = [(r, c) for r in rows for c in cols]
        out = []
        for k, weights in enumerate(self._kernel):
            row = []
            for n, (r, c) in enumerate(cells):
                if skip_zeros and kinds[n] != CellKind.REAL and t.grid[k, r, c] == 0:
                    continue
                row.append(f"{self._cell(k, r, c)}{self.times}{weights[n]}")
            out.append(row)
        return out

    def lhs(self, step: int) -> str:
        r, c = self.trace.cell_of(step)
        return f"out[{self.trace.batch},{self.trace.out_channel},{r},{c}]"

    def line(self, step: int, max_terms: int | None = None, skip_zeros: bool = False) -> str:
        """`out[b,o,r,c] = 2*1 + 0*(-1) + ... + 0.5 (bias) = 7`; the channels of a group in parentheses."""
        t, fmt = self.trace, lambda v: format_number(v, self.digits)  # noqa: E731
        per_channel = self.terms(step, skip_zeros)
        if len(per_channel) == 1:
            rhs = _join(per_channel[0], max_terms)
        else:
            budget = None if max_terms is None else max(1, max_terms // len(per_channel))
            rhs = " + ".join(f"({_join(terms, budget)})" for terms in per_channel)
        return f"{self.lhs(step)} = {rhs}{self._bias or ''} = {fmt(t.results[step])}"

    def fitted_line(self, step: int, max_chars: int, skip_zeros: bool = False) -> str:
        """line() with as many terms as fit in max_chars characters (the rest elided as '...')."""
        per_channel = self.terms(step, skip_zeros)
        lhs = f"{self.lhs(step)} = "
        tail = f"{self._bias or ''} = {format_number(self.trace.results[step], self.digits)}"
        n = sum(len(terms) for terms in per_channel)
        max_terms = n
        while True:
            if len(per_channel) == 1:
                rhs = _join(per_channel[0], max_terms)
            else:
                budget = max(1, max_terms // len(per_channel))
                rhs = " + ".join(f"({_join(terms, budget)})" for terms in per_channel)
            text = lhs + rhs + tail
            if len(text) <= max_chars:
                return text
            max_terms -= 1
            if max_terms < 2 * len(per_channel):
                break
        # too long even with a couple of terms: the sums per input channel instead of the products
        t = self.trace
        if len(per_channel) == 1:
            rhs = f"(sum of {n} products: {format_number(t.channel_sums[step, 0], self.digits)})"
        else:
            rhs = " + ".join(f"(ch {c}: {format_number(v, self.digits)})" for c, v in zip(t.in_channels, t.channel_sums[step]))
        text = lhs + rhs + tail
        return text if len(text) <= max_chars else lhs + format_number(t.results[step], self.digits)

    def lines(self, step: int, max_terms: int | None = None, skip_zeros: bool = False) -> list[str]:
        """The same arithmetic as a few short lines: one per input channel, the channel sum, the bias."""
        t, fmt = self.trace, lambda v: format_number(v, self.digits)  # noqa: E731
        per_channel = self.terms(step, skip_zeros)
        many = len(per_channel) > 1
        lines = []
        for k, (c, terms) in enumerate(zip(t.in_channels, per_channel)):
            label = f"input channel {c}: " if many else ""
            lines.append(f"{label}{_join(terms, max_terms)} = {fmt(t.channel_sums[step, k])}")
        total = fmt(t.running_sums[step, -1])
        if many:
            sums = " + ".join(_factor(v, self.digits) for v in t.channel_sums[step])
            lines.append(f"sum over the group's {len(per_channel)} input channels: {sums} = {total}")
        if t.bias is not None:
            lines.append(f"{total} + {_factor(t.bias, self.digits)} (bias) = {fmt(t.results[step])}")
        lines.append(f"{self.lhs(step)} = {fmt(t.results[step])}")
        return lines


def _join(terms: list[str], max_terms: int | None) -> str:
    if not terms:
        return "0"
    if max_terms is not None and len(terms) > max_terms:
        keep = max(max_terms - 1, 1)
        terms = terms[:keep] + ["...", terms[-1]]
    return " + ".join(terms)


def arithmetic_terms(trace: WindowTrace, step: int, digits: int = 4, times: str = "*",
                     skip_zeros: bool = False) -> list[list[str]]:
    """Per input channel of the group, a step's products as 'value*weight' strings (see StepText.terms)."""
    return StepText(trace, digits, times).terms(step, skip_zeros)


def arithmetic_text(trace: WindowTrace, step: int, digits: int = 4, times: str = "*", max_terms: int | None = None,
                    skip_zeros: bool = False) -> str:
    """One line: `out[b,o,r,c] = 2*1 + 0*(-1) + ... + 0.5 (bias) = 7`; channels of a group in parentheses."""
    return StepText(trace, digits, times).line(step, max_terms, skip_zeros)


def arithmetic_lines(trace: WindowTrace, step: int, digits: int = 4, times: str = "*", max_terms: int | None = None,
                     skip_zeros: bool = False) -> list[str]:
    """The arithmetic as short lines: one per input channel, the sum over channels, the bias, the result."""
    return StepText(trace, digits, times).lines(step, max_terms, skip_zeros)


def scatter_text(trace, step: int, digits: int = 4, times: str = "*", short: bool = False) -> str:
    """What a scatter step does: `input[0,0,1,2] = 3 adds 3*kernel to canvas rows 2..4, cols 4..6`; short: with
    more than two input channels, only the first and last channel's terms, around `...`."""
    view = trace.scatter
    if not 0 <= step < view.n_steps:
        raise ValueError(f"step {step} is outside 0..{view.n_steps - 1}")
    i, j = int(view.in_rows[step]), int(view.in_cols[step])
    rows, cols = view.stamp_rows[step], view.stamp_cols[step]
    where = f"canvas rows {rows[0]}..{rows[-1]}, cols {cols[0]}..{cols[-1]}"
    if len(trace.in_channels) == 1:
        v = format_number(trace.input[0, i, j], digits)
        return f"input[{trace.batch},{trace.in_channels[0]},{i},{j}] = {v} adds {_factor(trace.input[0, i, j], digits)}{times}kernel to {where}"
    terms = [f"{_factor(trace.input[k, i, j], digits)}{times}kernel[{c}]" for k, c in enumerate(trace.in_channels)]
    if short and len(terms) > 2:
        terms = [terms[0], "...", terms[-1]]
    return f"input[{trace.batch},:,{i},{j}] adds {' + '.join(terms)} to {where}"


def matrix_text(view, out_channel: int, out_row: int, out_col: int, digits: int = 4, times: str = "*",
                max_terms: int | None = None) -> str:
    """One output of the matrix view: `out[o,r,c] = x[q]*C[q,k] + ... (+ bias) = y[k]` over C's nonzero entries."""
    k = view.column_of(out_channel, out_row, out_col)
    column = view.matrix[:, k]
    rows = np.flatnonzero(column)
    terms = [f"{_factor(view.x_flat[q], digits)}{times}{_factor(column[q], digits)}" for q in rows]
    rhs = _join(terms, max_terms)
    if view.bias is not None:
        rhs += f" + {_factor(view.bias[out_channel], digits)} (bias)"
    return f"y[{k}] = out[{out_channel},{out_row},{out_col}] = {rhs} = {format_number(view.y_flat[k], digits)}"
