"""Matrix view and gradient: conv2d as a matrix C over flattened pixels, conv_transpose2d as C^T, and
conv_transpose2d as the gradient of conv2d with respect to its input, checked by finite differences."""
import numpy as np
import streamlit as st

from convcore import conv2d, conv_transpose2d, ui
from convcore.teaching.concepts import conv2d_input_gradient, finite_difference_gradient
from convcore.teaching.trace import conv2d_matrix, conv_transpose2d_matrix
from convcore.ui import present
from convcore.ui.export import figure_downloads
from convcore.ui.values import named_values
from convcore.viz.concepts import grids_figure, matrix_figure

P = "mat"
EPS = 1e-6
FIGURES = ("C", "C^T", "Gradient")  # presentation mode shows one at a time
CONTROLS = 188  # page pixels of the two rows of controls above the figure (measured in Chromium)
G_CONTROL = 92  # the gradient's own control (g) above its grids

presenting = present.page_header(
    P, "Matrix view and gradient",
    "Every Conv2d is a linear map: flatten the input into a vector x and the output into y, and y = C x for a "
    "sparse matrix C built from the kernel. ConvTranspose2d with the same weight is exactly C^T, which is why it "
    "is the gradient of Conv2d with respect to its input. Single channel, no bias, small sizes.", figures=FIGURES)

cols = st.columns([1, 1, 1, 1, 1, 1, 1.7])
h, w, k, stride, padding, dilation = ui.int_row(P, [
    ("h", "input height", 1, 6, 4), ("w", "input width", 1, 6, 4), ("k", "kernel size", 1, 4, 3),
    ("s", "stride", 1, 3, 1), ("p", "padding", 0, 2, 0), ("d", "dilation", 1, 2, 1)], cols[:6])
with cols[6]:
    kernel_kind = ui.choice(P, "wv", "kernel values", ["small integers", "random integers", "edge x", "ones"],
                            "small integers")
ui.show_url_notes()

weight = named_values(kernel_kind, (1, 1, k, k), seed=1, kind="weight").astype(np.float64)
x = named_values("small integers", (1, 1, h, w), seed=0).astype(np.float64)
C = ui.run_engine(conv2d_matrix, (1, h, w), weight, stride, padding, dilation)
if C is None:
    st.stop()
y = conv2d(x, weight, None, stride, padding, dilation)
ho, wo = y.shape[2:]

out_row, out_col = ui.int_row(P, [("orow", "output row", 0, ho - 1, 0, "highlights this output pixel's row of C"),
                                  ("ocol", "output column", 0, wo - 1, 0)], st.columns([1, 1, 3]))
ui.show_url_notes()
row = out_row * wo + out_col


def transpose_matrix():
    """conv_transpose2d's matrix, built from one-hot inputs, with the output_padding that gives back h x w."""
    _, out_pad = conv2d_input_gradient(np.ones_like(y), weight, (h, w), stride, padding, dilation)
    return conv_transpose2d_matrix((1, ho, wo), weight, stride, padding, out_pad, 1, dilation), out_pad


def g_choice():
    """The upstream gradient g = dL/dy (a control of the gradient's own)."""
    with st.columns([1, 3])[0]:
        kind = ui.choice(P, "g", "upstream gradient g = dL/dy", ["random integers", "ones", "small integers"],
                         "random integers")
    ui.show_url_notes()
    return named_values(kind, y.shape, seed=2).astype(np.float64)


def gradients(g):
    """dL/dx for L = sum(conv2d(x, w) * g): by conv_transpose2d(g, w) and by finite differences."""
    analytic, _ = conv2d_input_gradient(g, weight, (h, w), stride, padding, dilation)

    def loss(batch):  # batch: (M, 1, 1, H, W) nudged copies of x
        return (conv2d(batch[:, 0], weight, None, stride, padding, dilation) * g).sum(axis=(1, 2, 3))

    return analytic, finite_difference_gradient(loss, x, EPS)


def gradient_figure(g, analytic, numeric, **size):
    return grids_figure({"x": x[0, 0], "g": g[0, 0], "transposed": analytic[0, 0], "numeric": numeric[0, 0]},
                        titles={"x": "input x", "g": "g = dL/dy", "transposed": "conv_transpose2d(g, w)",
                                "numeric": "finite differences"},
                        decimals=3, shared_scale=False, hover_name="value", **size)


def row_figure(**size):
    return grids_figure({"row": C[row].reshape(h, w)}, titles={"row": f"row {row} of C as an {h}x{w} grid"}, **size)


if presenting:  # the picked figure, as large as the screen allows, and nothing else
    size = present.screen().figure_size(CONTROLS, step_buttons=False)
    fonts, high = size["fonts"], size["max_height"]
    chart = {"config": {"displayModeBar": False}}
    if present.shown(P, "C"):
        left, right = st.columns([1.6, 1])
        left.plotly_chart(matrix_figure(C, (ho, wo), (h, w), row_symbol="y", col_symbol="x", height=high,
                                        title=f"C: {ho * wo} output pixels x {h * w} input pixels",
                                        highlight_row=row, fonts=fonts), key=f"{P}_C", **chart)
        right.plotly_chart(row_figure(max_width=int(size["max_width"] / 2.7), max_height=high, fonts=fonts),
                           key=f"{P}_row", width="content", **chart)
    elif present.shown(P, "C^T"):
        T, _ = transpose_matrix()
        st.plotly_chart(matrix_figure(T, (h, w), (ho, wo), row_symbol="x", col_symbol="y", height=high,
                                      title=f"matrix of conv_transpose2d: {h * w} x {ho * wo}", highlight_col=row,
                                      fonts=fonts), key=f"{P}_T", **chart)
    else:
        g = g_choice()
        figure = gradient_figure(g, *gradients(g), max_width=size["max_width"], max_height=high - G_CONTROL,
                                 fonts=fonts)
        st.plotly_chart(figure, key=f"{P}_grad", width="content", **chart)
    st.stop()

st.subheader("conv2d as a matrix C")
left, right = st.columns([1.6, 1])
with left:
    figure = matrix_figure(C, (ho, wo), (h, w), row_symbol="y", col_symbol="x",
                           title=f"C: {ho * wo} output pixels x {h * w} input pixels", highlight_row=row)
    st.plotly_chart(figure, key=f"{P}_C", config={"displayModeBar": False})
    figure_downloads(figure, f"{P}_C_export", "conv2d-matrix", columns=(1, 1, 3))
with right:
    figure = row_figure(max_width=420, max_height=360)
    st.plotly_chart(figure, key=f"{P}_row", width="content", config={"displayModeBar": False})
    figure_downloads(figure, f"{P}_row_export", f"matrix-row-{row}", columns=(1, 1, 1))
    st.caption(
        f"Row {row} of C computes y[{out_row},{out_col}]: it holds the kernel placed where that output's window "
        "sits on the input (padding cells fall outside and are dropped, dilation leaves gaps). Every row is the "
        "same kernel shifted by the stride, which is why C is sparse and banded."
    )
direct = float(np.max(np.abs(C @ x.ravel() - y.ravel())))
st.markdown(f"Check: max |C x - conv2d(x)| = **{direct:.1e}** over all {ho * wo} outputs.")

st.subheader("conv_transpose2d is C^T")
T, out_pad = transpose_matrix()
left, right = st.columns([1, 1.2])
with left:
    figure = matrix_figure(T, (h, w), (ho, wo), row_symbol="x", col_symbol="y",
                           title=f"matrix of conv_transpose2d: {h * w} x {ho * wo}", highlight_col=row)
    st.plotly_chart(figure, key=f"{P}_T", config={"displayModeBar": False})
    figure_downloads(figure, f"{P}_T_export", "conv_transpose2d-matrix", columns=(1, 1, 2))
with right:
    same = float(np.max(np.abs(T - C.T)))
    st.markdown(
        f"The matrix of `conv_transpose2d(·, weight, stride={stride}, padding={padding}, output_padding="
        f"{out_pad[0] if out_pad[0] == out_pad[1] else out_pad}, dilation={dilation})`, built by the engine from "
        f"one-hot inputs, equals C^T: max |T - C^T| = **{same:.1e}**. Column {row} (outlined) is row {row} of C: "
        f"y[{out_row},{out_col}] scatters the kernel back onto the input cells its window read."
    )
    remainder = [(n + 2 * padding - dilation * (k - 1) - 1) % stride for n in (h, w)]
    if any(remainder):
        st.info(
            f"output_padding = {tuple(out_pad)}: conv2d's floor division left {remainder[0]} row(s) and "
            f"{remainder[1]} column(s) of the padded input unread, so the plain transpose would be "
            f"{h - out_pad[0]}x{w - out_pad[1]}; output_padding gives back {h}x{w} (the unread cells get gradient 0).",
            icon=":material/straighten:",
        )

st.subheader("The gradient, numerically")
st.caption(
    "For a loss L = sum(conv2d(x, w) * g), with g = dL/dy coming from the layers above, the chain rule gives "
    "dL/dx = C^T g = conv_transpose2d(g, w). Finite differences measure the same thing without any formula: nudge "
    f"each input pixel by ±{EPS:g} and watch L change."
)
g = g_choice()
analytic, numeric = gradients(g)
gap = float(np.max(np.abs(numeric - analytic)))
figure = gradient_figure(g, analytic, numeric, max_height=300)
st.plotly_chart(figure, key=f"{P}_grad", width="content", config={"displayModeBar": False})
figure_downloads(figure, f"{P}_grad_export", "gradient")
left, right = st.columns(2)
left.metric("max |finite differences - conv_transpose2d(g, w)|", f"{gap:.1e}",
            help="Central differences (L(x + eps e_i) - L(x - eps e_i)) / (2 eps), all pixels in one batched "
                 "conv2d call. L is linear in x, so the only error is floating-point rounding.")
adjoint = float(np.sum(y * g) - np.sum(x * conv_transpose2d(g, weight, None, stride, padding, out_pad, 1, dilation)))
right.metric("<C x, g> - <x, C^T g>", f"{adjoint:.1e}", help="The defining property of the transpose (adjoint).")
with st.expander("PyTorch check (autograd)", icon=":material/code:"):
    st.code(
        "import torch\nimport torch.nn.functional as F\n\n"
        f"x = torch.randn(1, 1, {h}, {w}, dtype=torch.float64, requires_grad=True)\n"
        f"w = torch.randn(1, 1, {k}, {k}, dtype=torch.float64)\n"
        f"y = F.conv2d(x, w, stride={stride}, padding={padding}, dilation={dilation})\n"
        "g = torch.randn_like(y)\n(y * g).sum().backward()\n"
        f"manual = F.conv_transpose2d(g, w, stride={stride}, padding={padding}, "
        f"output_padding={tuple(out_pad)}, dilation={dilation})\n"
        "print(torch.allclose(x.grad, manual))  # True\n",
        language="python",
    )
