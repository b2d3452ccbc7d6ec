"""The output-size formula with a configuration's numbers substituted, as LaTeX (pure: no streamlit)."""
from __future__ import annotations

from .config import ConvConfig


def output_size_latex(cfg: ConvConfig) -> list[str]:
    """One LaTeX block per spatial dimension: the symbols, then a row with the numbers substituted and the result.

    The result comes from the engine's shapes (cfg.output_hw()), so a wrong formula here would show a mismatch, not
    a wrong answer. Raises the engine's ValueError for an invalid configuration.
    """
    out = cfg.output_hw()
    lines = []
    for axis, (n_name, o_name) in enumerate((("H_{in}", "H_{out}"), ("W_{in}", "W_{out}"))):
        n = (cfg.height, cfg.width)[axis]
        k, s, d = cfg.kernel_size[axis], cfg.stride[axis], cfg.dilation[axis]
        before, after = cfg.pads[axis]
        if cfg.transposed:
            op = cfg.effective_output_padding()[axis]
            symbols = rf"{o_name} = ({n_name} - 1)\,s - 2p + d\,(k - 1) + \mathrm{{output\_padding}} + 1"
            numbers = rf"= ({n} - 1) \cdot {s} - 2 \cdot {before} + {d} \cdot ({k} - 1) + {op} + 1"
        else:
            pad_sym, pad_num = ("2p", rf"2 \cdot {before}") if before == after else (
                r"p_{before} + p_{after}", f"{before} + {after}")
            symbols = rf"{o_name} = \left\lfloor \frac{{{n_name} + {pad_sym} - d\,(k - 1) - 1}}{{s}} \right\rfloor + 1"
            numbers = rf"= \left\lfloor \frac{{{n} + {pad_num} - {d} \cdot ({k} - 1) - 1}}{{{s}}} \right\rfloor + 1"
        # two rows (symbols, then numbers) so the long transposed formula fits a projected 1280x720 page
        first = symbols.replace(" = ", " &= ", 1)  # both rows align on their '='
        lines.append(rf"\begin{{aligned}} {first} \\ &\;{numbers} = {out[axis]} \end{{aligned}}")
    return lines


def shape_rows(cfg: ConvConfig) -> list[tuple[str, str, str]]:
    """(tensor, shape, layout) rows in torch's order; the output row says '-' when the configuration is invalid."""
    try:
        output = str(cfg.output_shape())
    except (ValueError, TypeError):
        output = "-"
    c_in, c_out = ("C_in", "C_out/groups") if cfg.transposed else ("C_out", "C_in/groups")
    return [
        ("input", str(cfg.input_shape), "(N, C_in, H_in, W_in)"),
        ("weight", str(cfg.weight_shape), f"({c_in}, {c_out}, kH, kW)"),
        ("bias", str(cfg.bias_shape) if cfg.bias else "None (bias=False)", "(C_out,)"),
        ("output", output, "(N, C_out, H_out, W_out)"),
    ]
