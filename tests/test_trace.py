"""The teaching model against the engine and torch: step records, the three transposed views, index maps, text."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from convcore import Conv2d, conv2d, conv_transpose2d
from convcore.teaching.trace import (
    CellKind,
    arithmetic_lines,
    arithmetic_text,
    channel_map,
    conv2d_index_map,
    conv2d_matrix,
    conv_transpose2d_index_map,
    conv_transpose2d_matrix,
    format_number,
    input_channels_of,
    overlap_counts,
    trace_conv2d,
    trace_conv_transpose2d,
)
from torch_compare import assert_matches, random_array, t

TORCH_MODE = {"reflect": "reflect", "replicate": "replicate", "circular": "circular"}


def _close(a, b, dtype):
    """Equal up to rounding of the dtype (sums in another order)."""
    tol = 1e-12 if np.dtype(dtype) in (np.float64, np.complex128) else 2e-5
    scale = max(1.0, float(np.max(np.abs(b))) if np.size(b) else 1.0)
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol * scale)


# ---- random configurations -----------------------------------------------------------------------------------

def conv2d_configs(n: int, seed: int):
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < n:
        groups = int(rng.choice([1, 1, 2, 3]))
        cin, cout = groups * int(rng.integers(1, 3)), groups * int(rng.integers(1, 3))
        k = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        s = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
        d = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
        size = (int(rng.integers(2, 8)), int(rng.integers(2, 8)))
        mode = str(rng.choice(["zeros", "zeros", "reflect", "replicate", "circular"]))
        padding = rng.choice(["int", "pair", "same", "valid"])
        if padding == "same":
            s, pad = (1, 1), "same"
        elif padding == "valid":
            pad = "valid"
        elif padding == "pair":
            pad = (int(rng.integers(0, 3)), int(rng.integers(0, 3)))
        else:
            pad = int(rng.integers(0, 3))
        dtype = rng.choice([np.float64, np.float64, np.float32, np.complex128])
        cfg = dict(cin=cin, cout=cout, k=k, s=s, d=d, size=size, mode=mode, pad=pad, groups=groups, dtype=dtype,
                   bias=bool(rng.random() < 0.7), batch=int(rng.integers(1, 3)))
        try:  # keep only what the engine accepts (kernel fits, reflect padding < size, ...)
            trace_conv2d(np.zeros((1, cin) + size, dtype), np.zeros((cout, cin // groups) + k, dtype), None, s, pad, d,
                         groups, mode)
        except ValueError:
            continue
        out.append(cfg)
    return out


def conv2d_case(cfg, rng, integer=False):
    shape_x = (cfg["batch"], cfg["cin"]) + cfg["size"]
    shape_w = (cfg["cout"], cfg["cin"] // cfg["groups"]) + cfg["k"]
    if integer:
        x = rng.integers(-4, 5, shape_x).astype(cfg["dtype"])
        w = rng.integers(-3, 4, shape_w).astype(cfg["dtype"])
        b = rng.integers(-3, 4, cfg["cout"]).astype(cfg["dtype"]) if cfg["bias"] else None
    else:
        x, w = random_array(rng, shape_x, cfg["dtype"]), random_array(rng, shape_w, cfg["dtype"])
        b = random_array(rng, (cfg["cout"],), cfg["dtype"]) if cfg["bias"] else None
    return x, w, b


def torch_conv2d(x, w, b, cfg):
    """torch's Conv2d.forward: F.pad with the mode, then F.conv2d."""
    xt = t(x)
    pad = cfg["pad"]
    if cfg["mode"] != "zeros":
        layer = torch.nn.Conv2d(cfg["cin"], cfg["cout"], cfg["k"], cfg["s"], pad, cfg["d"], cfg["groups"], b is not None,
                                cfg["mode"], dtype=xt.dtype)
        with torch.no_grad():
            layer.weight.copy_(t(w))
            if b is not None:
                layer.bias.copy_(t(b))
            return layer(xt)
    return F.conv2d(xt, t(w), t(b), cfg["s"], pad, cfg["d"], cfg["groups"])


# ---- conv2d step records ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("cfg", conv2d_configs(60, seed=1), ids=lambda c: f"{c['mode']}-g{c['groups']}-{np.dtype(c['dtype']).name}")
def test_conv2d_steps_sum_to_the_engine_output(cfg):
    rng = np.random.default_rng(abs(hash(str(cfg))) % 2**32)
    x, w, b = conv2d_case(cfg, rng)
    layer = Conv2d(cfg["cin"], cfg["cout"], cfg["k"], cfg["s"], cfg["pad"], cfg["d"], cfg["groups"], b is not None,
                   cfg["mode"], dtype=cfg["dtype"])
    layer.weight = w
    if b is not None:
        layer.bias = b
    engine = layer(x)
    ref = torch_conv2d(x, w, b, cfg)
    assert_matches(engine, ref)
    for batch in range(cfg["batch"]):
        for o in range(cfg["cout"]):
            tr = trace_conv2d(x, w, b, cfg["s"], cfg["pad"], cfg["d"], cfg["groups"], cfg["mode"], batch=batch, out_channel=o)
            # the result of every step is the engine's output cell
            np.testing.assert_array_equal(tr.output, engine[batch, o])
            np.testing.assert_array_equal(tr.results, engine[batch, o].ravel())
            # ... and each step's products sum (+ bias) to it
            total = tr.products.reshape(tr.n_steps, -1).sum(1) + (0 if b is None else b[o])
            _close(total, tr.results, cfg["dtype"])
            _close(tr.running_sums[:, -1] + (0 if b is None else b[o]), tr.results, cfg["dtype"])
            # the products are the values under the taps times the kernel
            np.testing.assert_array_equal(tr.products, tr.values * w[o][None])
            cg = cfg["cin"] // cfg["groups"]
            group = o // (cfg["cout"] // cfg["groups"])
            assert tr.in_channels == tuple(range(group * cg, (group + 1) * cg))


def test_conv2d_integer_data_sums_exactly():
    """With integer-valued data there is no rounding: the products sum to the engine's cell bit for bit."""
    rng = np.random.default_rng(7)
    for cfg in conv2d_configs(25, seed=2):
        if np.dtype(cfg["dtype"]).kind == "c":
            continue
        x, w, b = conv2d_case(cfg, rng, integer=True)
        tr = trace_conv2d(x, w, b, cfg["s"], cfg["pad"], cfg["d"], cfg["groups"], cfg["mode"], out_channel=cfg["cout"] - 1)
        total = tr.products.reshape(tr.n_steps, -1).sum(1) + (0 if b is None else b[-1])
        np.testing.assert_array_equal(total, tr.results)


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_conv2d_taps_read_the_torch_padded_input(mode):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 2, 5, 6))
    w = rng.standard_normal((3, 2, 3, 2))
    tr = trace_conv2d(x, w, None, (2, 1), (2, 1), (1, 2), 1, mode, out_channel=2)
    padded = F.pad(t(x), (1, 1, 2, 2), mode="constant" if mode == "zeros" else TORCH_MODE[mode]).numpy()[0]
    np.testing.assert_array_equal(tr.grid, padded)
    # taps: window origin = output position * stride, taps dilation apart
    np.testing.assert_array_equal(tr.tap_rows, tr.out_rows[:, None] * 2 + np.arange(3)[None] * 1)
    np.testing.assert_array_equal(tr.tap_cols, tr.out_cols[:, None] * 1 + np.arange(2)[None] * 2)
    for s in range(tr.n_steps):
        np.testing.assert_array_equal(tr.values[s], padded[:, tr.tap_rows[s]][:, :, tr.tap_cols[s]])
    # which real cell each padded cell copies (or none: a zero)
    rows, cols = tr.grid_rows, tr.grid_cols
    for r in range(len(rows)):
        for c in range(len(cols)):
            real = 2 <= r < 7 and 1 <= c < 7
            assert tr.grid_kinds[r, c] == (CellKind.REAL if real else CellKind.PADDING)
            if rows[r] >= 0 and cols[c] >= 0:
                np.testing.assert_array_equal(tr.grid[:, r, c], x[0, :, rows[r], cols[c]])
            else:
                assert mode == "zeros" and not real and np.all(tr.grid[:, r, c] == 0)


def test_conv2d_trace_rejects_bad_arguments_with_messages():
    x, w = np.zeros((1, 1, 3, 3)), np.zeros((1, 1, 2, 2))
    with pytest.raises(ValueError, match="out_channel=1"):
        trace_conv2d(x, w, out_channel=1)
    with pytest.raises(ValueError, match="batch=2"):
        trace_conv2d(x, w, batch=2)
    with pytest.raises(ValueError, match="reflect"):
        trace_conv2d(x, w, padding=3, padding_mode="reflect")
    with pytest.raises(ValueError, match="padding_mode"):
        trace_conv2d(x, w, padding_mode="mirror")
    with pytest.raises(ValueError, match="step 9"):
        trace_conv2d(x, w).cell_of(9)


def test_conv2d_trace_unbatched_input_and_own_memory():
    x = np.arange(16.0).reshape(1, 4, 4)
    w = np.ones((1, 1, 3, 3))
    tr = trace_conv2d(x, w)
    np.testing.assert_array_equal(tr.output, conv2d(x, w)[0])
    x[0, 0, 0] = 100.0  # the trace keeps its own copy
    assert tr.input[0, 0, 0] == 0 and tr.grid[0, 0, 0] == 0


# ---- conv_transpose2d: the three views -------------------------------------------------------------------------

def transpose_configs(n: int, seed: int):
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < n:
        groups = int(rng.choice([1, 1, 2]))
        cg = int(rng.choice([1, 2, 3]))
        cin, og = groups * cg, int(rng.integers(1, 3))
        k = (int(rng.integers(1, 5)), int(rng.integers(1, 5)))
        s = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        d = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
        p = (int(rng.integers(0, 3)), int(rng.integers(0, 3)))
        op = tuple(int(rng.integers(0, max(s[i], d[i]))) for i in range(2))
        size = (int(rng.integers(1, 5)), int(rng.integers(1, 5)))
        dtype = rng.choice([np.float64, np.float64, np.float32, np.complex128, np.complex64])
        cfg = dict(cin=cin, og=og, k=k, s=s, d=d, p=p, op=op, size=size, groups=groups, dtype=dtype,
                   bias=bool(rng.random() < 0.6))
        try:
            conv_transpose2d(np.zeros((1, cin) + size, dtype), np.zeros((cin, og) + k, dtype), None, s, p, op, groups, d)
        except ValueError:
            continue
        out.append(cfg)
    return out


def transpose_case(cfg, rng, integer=False):
    shape_x, shape_w = (2, cfg["cin"]) + cfg["size"], (cfg["cin"], cfg["og"]) + cfg["k"]
    cout = cfg["og"] * cfg["groups"]
    if integer:
        cast = lambda a: a.astype(cfg["dtype"])  # noqa: E731
        return (cast(rng.integers(-4, 5, shape_x)), cast(rng.integers(-3, 4, shape_w)),
                cast(rng.integers(-3, 4, cout)) if cfg["bias"] else None)
    return (random_array(rng, shape_x, cfg["dtype"]), random_array(rng, shape_w, cfg["dtype"]),
            random_array(rng, (cout,), cfg["dtype"]) if cfg["bias"] else None)


def _args(cfg):
    return cfg["s"], cfg["p"], cfg["op"], cfg["groups"], cfg["d"]


@pytest.mark.parametrize("cfg", transpose_configs(60, seed=4), ids=lambda c: f"s{c['s']}-op{c['op']}-g{c['groups']}-{np.dtype(c['dtype']).name}")
def test_transposed_views_equal_the_engine(cfg):
    rng = np.random.default_rng(abs(hash(str(cfg))) % 2**32)
    x, w, b = transpose_case(cfg, rng)
    engine = conv_transpose2d(x, w, b, *_args(cfg))
    s, p, op, g, d = _args(cfg)
    assert_matches(engine, F.conv_transpose2d(t(x), t(w), t(b), s, p, op, g, d))
    cout = cfg["og"] * cfg["groups"]
    for o in range(cout):
        tr = trace_conv_transpose2d(x, w, b, *_args(cfg), batch=1, out_channel=o)
        zero = tr.zero_insertion
        # the three views sum in the engine's order: equal to the last bit (bytes: a -0.0 would show), every dtype
        for view in (tr.output, zero.output, tr.scatter.output, tr.matrix_view().output[o]):
            assert view.dtype == engine.dtype and view.tobytes() == engine[1, o].tobytes()
        # the zero-insertion view really is an ordinary convolution: the engine's conv2d with the flipped kernel
        plain = conv2d(zero.grid[None], zero.kernel[None], None if b is None else b[o : o + 1], 1, 0, cfg["d"])[0, 0]
        _close(plain, engine[1, o], cfg["dtype"])


def test_ordered_sum_adds_first_to_last():
    """The order the engine and the views share: ((a0 + a1) + a2) + a3, not numpy's pairwise sum."""
    from convcore.functional import ordered_sum

    terms = np.array([1e16] + [1.0] * 7 + [-1e16] + [0.0] * 7)  # each 1 added to 1e16 rounds away
    assert ordered_sum(terms, axis=0) == 0.0 and np.sum(terms) == 7.0  # numpy pairs 0 with 8, 1 with 9, ...
    np.testing.assert_array_equal(ordered_sum(np.stack([terms, 2 * terms], axis=1), axis=0), [0.0, 0.0])
    assert ordered_sum(np.zeros((0, 3), np.complex64), axis=0).dtype == np.complex64


def test_transposed_views_bit_exact_at_the_lessons_largest_size():
    """The lesson's limits (6 channels, 12x12 input, 7x7 kernel) stay in the engine's fixed-order range."""
    from convcore import functional
    from convcore.ui.params import LIMITS

    c, n, k = LIMITS["channels"], LIMITS["input_size"], LIMITS["kernel_size"]
    assert c * c * n * n * k * k <= functional.ORDERED_MAX_MACS
    rng = np.random.default_rng(12)
    x, w, b = (random_array(rng, shape, np.float64) for shape in ((1, c, n, n), (c, c, k, k), (c,)))
    engine = conv_transpose2d(x, w, b, 2, 1, 1)
    for o in (0, c - 1):
        tr = trace_conv_transpose2d(x, w, b, 2, 1, 1, out_channel=o)
        assert tr.zero_insertion.output.tobytes() == tr.scatter.output.tobytes() == engine[0, o].tobytes()


def test_zero_insertion_grid_layout():
    """Zeros between elements, padding d(k-1)-p, output_padding's extra bottom row / right column."""
    x = np.arange(1.0, 7.0).reshape(1, 1, 2, 3)
    w = np.ones((1, 1, 3, 3))
    tr = trace_conv_transpose2d(x, w, None, stride=2, padding=1, output_padding=1)
    zero = tr.zero_insertion
    k = zero.grid_kinds
    assert zero.grid.shape[1:] == (2 * 1 + 1 + 2 * 1 + 1, 2 * 2 + 1 + 2 * 1 + 1)  # (2-1)*2+1 + 2(d(k-1)-p) + op
    assert (k[-1] == CellKind.OUTPUT_PADDING).all() and (k[:, -1] == CellKind.OUTPUT_PADDING).all()
    assert (k[0, :-1] == CellKind.PADDING).all() and (k[:-1, 0] == CellKind.PADDING).all()
    np.testing.assert_array_equal(np.argwhere(k == CellKind.REAL), [[1, 1], [1, 3], [1, 5], [3, 1], [3, 3], [3, 5]])
    assert (k[2, 1:6] == CellKind.INSERTED).all()
    real = k == CellKind.REAL
    np.testing.assert_array_equal(zero.grid[0][real], x.ravel())
    assert (zero.grid[0][~real] == 0).all()
    # the window uses the flipped kernel, stride 1
    w2 = np.arange(9.0).reshape(1, 1, 3, 3)
    flipped = trace_conv_transpose2d(x, w2, None, 2, 1, 1).zero_insertion.kernel
    np.testing.assert_array_equal(flipped[0], w2[0, 0, ::-1, ::-1])
    # padding larger than d(k-1) crops the zero-inserted input instead
    cropped = trace_conv_transpose2d(np.ones((1, 1, 3, 3)), np.ones((1, 1, 2, 2)), None, 2, 2).zero_insertion
    assert cropped.grid.shape[1:] == (5 - 2, 5 - 2)


def test_scatter_view_accumulates_stamps():
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((1, 1, 3, 2)), rng.standard_normal((1, 1, 2, 3))
    tr = trace_conv_transpose2d(x, w, np.array([0.25]), stride=(2, 1), padding=(1, 0), output_padding=(1, 0),
                                dilation=(1, 2))
    sc = tr.scatter
    assert sc.n_steps == 6
    hist = sc.history()
    np.testing.assert_array_equal(hist[-1], sc.canvas)
    for s in range(sc.n_steps):  # step s adds exactly its stamp
        before = np.zeros(sc.canvas_size) if s == 0 else np.nan_to_num(hist[s - 1])
        expected = before.copy()
        i, j = sc.in_rows[s], sc.in_cols[s]
        np.add.at(expected, np.ix_(sc.stamp_rows[s], sc.stamp_cols[s]), x[0, 0, i, j] * w[0, 0])
        np.testing.assert_allclose(np.nan_to_num(hist[s]), expected, rtol=1e-14, atol=1e-14)
    top, left = sc.crop_origin
    ho, wo = sc.output_size
    np.testing.assert_array_equal(sc.output, sc.canvas[top : top + ho, left : left + wo] + 0.25)
    assert (sc.canvas_kinds[top + ho - 1, left : left + wo] == CellKind.OUTPUT_PADDING).all()
    assert sc.first_touch[0, 0] == 0 and sc.step_of(2, 1) == 5


@pytest.mark.parametrize("cfg", transpose_configs(12, seed=6), ids=lambda c: f"s{c['s']}-d{c['d']}-op{c['op']}")
def test_transpose_is_the_transposed_conv2d_matrix(cfg):
    rng = np.random.default_rng(5)
    x, w, _ = transpose_case(cfg, rng)
    tr = trace_conv_transpose2d(x, w, None, *_args(cfg))
    mv = tr.matrix_view()
    T = conv_transpose2d_matrix(x.shape[1:], w, *_args(cfg))
    np.testing.assert_array_equal(mv.matrix.T, T)  # each entry is one weight or 0: exactly equal
    # and C is the conv2d (torch) on the transposed output's shape
    s, p, op, g, d = _args(cfg)
    z = random_array(rng, mv.out_shape, cfg["dtype"])
    conv = F.conv2d(t(z[None]), t(w), None, s, p, d, g).numpy()[0][:, : x.shape[2], : x.shape[3]]
    _close(mv.matrix @ z.ravel(), conv.ravel(), cfg["dtype"])


def test_conv2d_matrix_with_padding_modes_matches_torch():
    rng = np.random.default_rng(8)
    x, w = rng.standard_normal((2, 4, 5)), rng.standard_normal((3, 2, 3, 3))
    for mode in ("zeros", "reflect", "circular"):
        C = conv2d_matrix(x.shape, w, 1, 1, 1, 1, mode)
        layer = torch.nn.Conv2d(2, 3, 3, 1, 1, padding_mode=mode, bias=False, dtype=torch.float64)
        with torch.no_grad():
            layer.weight.copy_(t(w))
            ref = layer(t(x)).numpy()
        _close(C @ x.ravel(), ref.ravel(), np.float64)
    with pytest.raises(ValueError, match="small sizes"):
        conv2d_matrix((1, 40, 40), np.ones((1, 1, 3, 3)))


# ---- index maps ------------------------------------------------------------------------------------------------

def _changed_outputs(op, x, w, cell, **kw):
    """The output cells that change when one input cell changes (the engine decides)."""
    x2 = x.copy()
    x2[(0, 0) + cell] += 1.0
    return op(x2, w, **kw)[0, 0] != op(x, w, **kw)[0, 0]


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_conv2d_index_map_agrees_with_the_engine(mode):
    rng = np.random.default_rng(9)
    size, k, s, p, d = (5, 6), (3, 2), (2, 1), (2, 1), (1, 2)
    x = rng.standard_normal((1, 1) + size)
    w = rng.uniform(0.5, 1.5, (1, 1) + k)  # positive weights: no two taps cancel
    layer = Conv2d(1, 1, k, s, p, d, 1, False, mode, dtype=np.float64)
    layer.weight = w
    forward = lambda xx, ww: layer(xx)  # noqa: E731
    imap = conv2d_index_map(size, k, s, p, d, mode)
    sources = np.zeros(imap.output_size + size, bool)
    for i in range(size[0]):
        for j in range(size[1]):
            changed = _changed_outputs(forward, x, w, (i, j))
            np.testing.assert_array_equal(imap.target_mask(i, j), changed, err_msg=f"input cell {(i, j)}")
            hits = imap.targets(i, j)
            assert set(zip(hits["out_row"], hits["out_col"])) == set(zip(*np.nonzero(changed)))
            sources[:, :, i, j] = changed
    for r in range(imap.output_size[0]):
        for c in range(imap.output_size[1]):
            np.testing.assert_array_equal(imap.source_mask(r, c), sources[r, c])
            src = imap.sources(r, c)
            assert len(src["tap_row"]) == k[0] * k[1]
            real = (src["in_row"] >= 0) & (src["in_col"] >= 0)
            assert mode != "zeros" or np.array_equal(~real, src["padding"])


def test_conv_transpose2d_index_map_agrees_with_the_engine():
    rng = np.random.default_rng(10)
    for size, k, s, p, op, d in [((3, 4), (3, 3), (2, 2), (1, 1), (1, 1), (1, 1)),
                                 ((2, 3), (2, 3), (3, 1), (0, 2), (2, 0), (1, 2)),
                                 ((4, 2), (4, 1), (1, 2), (2, 0), (0, 1), (2, 1))]:
        x = rng.standard_normal((1, 1) + size)
        w = rng.uniform(0.5, 1.5, (1, 1) + k)
        imap = conv_transpose2d_index_map(size, k, s, p, op, d)
        for i in range(size[0]):
            for j in range(size[1]):
                changed = _changed_outputs(conv_transpose2d, x, w, (i, j), stride=s, padding=p, output_padding=op,
                                           dilation=d)
                np.testing.assert_array_equal(imap.target_mask(i, j), changed)
        # overlap counts: the engine's, torch's and the map's agree
        counts = overlap_counts(size, k, s, p, op, d)
        ones = F.conv_transpose2d(torch.ones((1, 1) + size, dtype=torch.float64), torch.ones((1, 1) + k, dtype=torch.float64),
                                  None, s, p, op, 1, d)
        np.testing.assert_array_equal(counts, ones.numpy()[0, 0])
        np.testing.assert_array_equal(imap.tap_counts(), counts)


def test_channel_maps_agree_with_the_engine():
    rng = np.random.default_rng(12)
    for cin, cout, groups in [(4, 6, 2), (3, 3, 3), (2, 4, 1), (6, 3, 3)]:
        x = rng.standard_normal((1, cin, 4, 4))
        w = rng.uniform(0.5, 1.5, (cout, cin // groups, 3, 3))
        wt = rng.uniform(0.5, 1.5, (cin, cout // groups, 3, 3))
        cmap = channel_map(cin, cout, groups)
        for c in range(cin):
            x2 = x.copy()
            x2[0, c] += 1
            changed = (conv2d(x2, w, groups=groups) != conv2d(x, w, groups=groups)).any(axis=(0, 2, 3))
            np.testing.assert_array_equal(cmap[:, c], changed)
            changed_t = (conv_transpose2d(x2, wt, groups=groups) != conv_transpose2d(x, wt, groups=groups)).any(axis=(0, 2, 3))
            np.testing.assert_array_equal(cmap[:, c], changed_t)
        for o in range(cout):
            np.testing.assert_array_equal(input_channels_of(o, cin, cout, groups), np.flatnonzero(cmap[o]))


def test_steps_reading_a_cell_and_step_lookup():
    x = np.arange(25.0).reshape(1, 1, 5, 5)
    tr = trace_conv2d(x, np.ones((1, 1, 3, 3)), None, 2, 1)
    assert tr.step_of(1, 2) == 5 and tr.cell_of(5) == (1, 2)
    np.testing.assert_array_equal(tr.steps_reading(0, 0), [0])
    np.testing.assert_array_equal(tr.steps_reading(2, 2), [4])
    np.testing.assert_array_equal(tr.steps_reading(1, 1), [0, 1, 3, 4])
    rows, cols = tr.source_cells(4)
    assert set(zip(rows, cols)) == {(r, c) for r in (1, 2, 3) for c in (1, 2, 3)}


# ---- the arithmetic as text ------------------------------------------------------------------------------------

def test_format_number():
    cases = {7.0: "7", -0.0: "0", 2.5: "2.5", -1.0: "-1", 1 / 3: "0.3333", 12345.678: "1.235e4", 1e-7: "1e-7",
             0.1 + 0.2: "0.3", float("nan"): "nan", -float("inf"): "-inf"}
    for v, text in cases.items():
        assert format_number(v) == text
    assert format_number(np.float32(0.1)) == "0.1"
    assert format_number(1 + 2j) == "(1+2j)" and format_number(complex(0.5, -1)) == "(0.5-1j)"
    assert format_number(2 / 3, digits=2) == "0.67"


def test_arithmetic_text_shows_the_real_numbers():
    x = np.array([[[[2.0, 0.0, 1.0], [3.0, -1.0, 4.0], [0.0, 5.0, 2.0]]]])
    w = np.array([[[[1.0, -1.0], [2.0, 0.5]]]])
    b = np.array([0.5])
    tr = trace_conv2d(x, w, b)
    text = arithmetic_text(tr, 1)
    assert text == "out[0,0,0,1] = 0*1 + 1*(-1) + (-1)*2 + 4*0.5 + 0.5 (bias) = -0.5"
    assert float(text.rsplit("= ", 1)[1]) == tr.output[0, 1]
    lines = arithmetic_lines(tr, 1)
    assert lines == ["0*1 + 1*(-1) + (-1)*2 + 4*0.5 = -1", "-1 + 0.5 (bias) = -0.5", "out[0,0,0,1] = -0.5"]
    # zero padding can be left out, real zeros stay
    padded = trace_conv2d(x, w, None, padding=1)
    assert arithmetic_text(padded, 0, skip_zeros=True) == "out[0,0,0,0] = 2*0.5 = 1"
    assert arithmetic_text(padded, 0) == "out[0,0,0,0] = 0*1 + 0*(-1) + 0*2 + 2*0.5 = 1"
    assert "..." in arithmetic_text(padded, 5, max_terms=2)


def test_arithmetic_text_evaluates_to_the_result():
    """Evaluating the written products (parsed, not eval'd) gives the engine's cell."""
    rng = np.random.default_rng(13)
    x = rng.integers(-5, 6, (1, 2, 4, 4)).astype(float)
    w = rng.integers(-3, 4, (2, 1, 3, 3)).astype(float)
    b = np.array([1.0, -2.0])
    tr = trace_conv2d(x, w, b, padding=1, padding_mode="replicate", groups=2, out_channel=1)
    assert arithmetic_text(tr, 0).split(" = ")[1].endswith(" + (-2) (bias)")  # negatives in parentheses
    for s in range(tr.n_steps):
        lhs, rhs, result = arithmetic_text(tr, s).split(" = ")
        total = 0.0
        for term in rhs.split(" + "):
            if term.endswith("(bias)"):
                total += float(term.split(" ")[0].strip("()"))
            else:
                a, c = term.split("*")
                total += float(a.strip("()")) * float(c.strip("()"))
        assert total == float(result) == tr.results[s]


def test_fitted_line_shortens_but_keeps_the_result():
    from convcore.teaching.trace import StepText

    rng = np.random.default_rng(14)
    tr = trace_conv2d(rng.standard_normal((1, 2, 5, 5)), rng.standard_normal((1, 2, 3, 3)), np.array([-0.5]), padding=1)
    text = StepText(tr, 3, "·")
    result = format_number(tr.results[7], 3)
    full = text.line(7)
    lengths = []
    for max_chars in (400, 90, 60, 45, 10):
        fitted = text.fitted_line(7, max_chars)
        assert fitted.startswith("out[0,0,1,2] = ") and fitted.endswith(f"= {result}")
        assert len(fitted) <= max(max_chars, len(f"out[0,0,1,2] = {result}"))
        lengths.append(len(fitted))
    assert lengths[0] == len(full) and lengths == sorted(lengths, reverse=True)
    assert "(ch 0: " in text.fitted_line(7, 90)  # too long for products: the channel sums instead
    assert text.fitted_line(7, 45) == f"out[0,0,1,2] = {result}"  # and at last the result alone
