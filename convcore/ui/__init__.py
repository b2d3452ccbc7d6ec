"""Shared Streamlit layer: the only Streamlit code outside app.py and pages/. Pages stay thin:

    from convcore import ui

    with st.sidebar:
        cfg = ui.conv_params("c2")                      # every Conv2d argument; ConvTranspose2d: transposed=True
    ok = ui.shape_panel(cfg)                            # formula with numbers + shapes; False (error shown) if invalid
    x = ui.value_picker("c2", "x", "Input", cfg.input_shape)
    w = ui.value_picker("c2", "w", "Kernel", cfg.weight_shape, kind="weight")
    b = ui.value_picker("c2", "b", "Bias", cfg.bias_shape, kind="weight") if cfg.bias else None
    y = ui.run_engine(ui.forward, cfg, x, w, b) if ok else None   # None (st.error shown) if the engine refuses
    ui.code_panel(cfg, x, w, b)

Keys and the URL: every widget is keyed `<prefix>_<name>` (pick a short page prefix) and bound to the URL with
bind="query-params", so a copied link restores the configuration. A link value a widget cannot use falls back to
the default and is listed in one st.warning (conv_params and value_picker show it; after your own bound widgets
call show_url_notes()). Keys used by conv_params: cin, cout, in_h, in_w, k_h, k_w, s_h, s_w, pkind, p_h, p_w,
d_h, d_w, groups, bias, pmode; transposed: op_h, op_w, osz, os_h, os_w. value_picker(prefix, name): `<name>`,
`<name>_seed`, `<name>_cells` (URL only) and the editor key editor_key(prefix, name, shape), built only while
its expander editing_key(prefix, name) is open.

API
- conv_params(prefix, transposed=False, defaults=None, show=FIELDS, limits=None, notes=True) -> ConvConfig
- ConvConfig: frozen dataclass of the constructor arguments + input size; .input_shape .weight_shape .bias_shape
  .pads .check() .output_hw() .output_shape() .forward(x, w, b) .code(x, w, b) .module() .layer_kwargs()
- int_input / choice / flag / pair_input: single bound widgets; int_row(prefix, fields, columns): int_inputs side by side; with the same URL check, for page-specific controls
- url_int(key, default, lo, hi) / set_url_value(key, value, default): non-widget state (a step, a selected cell)
- show_url_notes(): the warning about unusable link values collected so far
- run_engine(fn, *args, **kwargs): result, or None after st.error with the engine's rule and numbers
- forward(cfg, x, w, b): cached cfg.forward
- shape_panel(cfg) -> bool, code_panel(cfg, x, w, b, expanded=False, input_expr=None, key=None) (with a key: built
  only while open)
- value_picker(prefix, name, label, shape, kind="input"|"weight", default=None, symbol=None, editable=True)
  -> float32 array; named_values(choice, shape, seed, kind) is its pure core (INPUT_CHOICES, WEIGHT_CHOICES)
- output_size_latex(cfg), shape_rows(cfg): the pure text behind shape_panel
"""
from .config import ConvConfig
from .formulas import output_size_latex, shape_rows
from .panels import code_panel, forward, run_engine, shape_panel
from .params import FIELDS, LIMITS, conv_params, divisors, pair_input
from .url_state import (
    check_url_value,
    choice,
    flag,
    int_input,
    int_row,
    note_bad_url_value,
    set_url_value,
    show_url_notes,
    url_int,
    widget_key,
)
from .values import INPUT_CHOICES, WEIGHT_CHOICES, editing_key, editor_key, named_values, value_picker

__all__ = [
    "ConvConfig", "conv_params", "FIELDS", "LIMITS", "divisors", "pair_input",
    "int_input", "int_row", "choice", "flag", "widget_key", "check_url_value", "note_bad_url_value", "show_url_notes",
    "url_int", "set_url_value",
    "run_engine", "forward", "shape_panel", "code_panel", "output_size_latex", "shape_rows",
    "value_picker", "named_values", "editor_key", "editing_key", "INPUT_CHOICES", "WEIGHT_CHOICES",
]
