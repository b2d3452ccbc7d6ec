"""Groups and depthwise: which input channels feed which outputs, the weight in torch's layout, parameter and
multiply-add counts, and a depthwise-separable block against a full convolution."""
import streamlit as st

from convcore import ui
from convcore.teaching.codegen import layer_expr
from convcore.teaching.concepts import common_divisors, conv_cost, separable_vs_full
from convcore.teaching.trace import channel_map
from convcore.ui import present
from convcore.ui.export import figure_downloads
from convcore.viz.concepts import channel_figure, counts_figure

P = "grp"
OPS = {"Conv2d": False, "ConvTranspose2d": True}
FIGURES = ("Channels", "Separable vs full")  # presentation mode shows one at a time
CONTROLS = 250  # page pixels of the controls above the figure (measured in Chromium)
MULT_CONTROL = 92  # the depth multiplier's own control above the counts

presenting = present.page_header(
    P, "Groups and depthwise convolution",
    "groups splits the channels into independent blocks: group g's output channels only read group g's input "
    "channels. groups=1 connects everything; groups = in_channels is depthwise (one filter per channel).",
    figures=FIGURES)

top = st.columns([1.3, 1, 1, 2.2])
with top[0]:
    op = ui.choice(P, "op", "layer", list(OPS), "Conv2d", horizontal=True)
cin, cout = ui.int_row(P, [("cin", "in_channels", 1, 32, 8, "C_in"), ("cout", "out_channels", 1, 32, 8, "C_out")],
                      top[1:3])
with top[3]:
    options = common_divisors(cin, cout)
    depthwise = f", {cin} = depthwise" if cin in options and cin > 1 else ""
    groups = ui.choice(P, "groups", f"groups (divisors of both channel counts: 1 = all to all{depthwise})", options,
                       4 if 4 in options else 1, horizontal=True)
transposed = OPS[op]

with st.expander("Kernel and input size (for the counts)", expanded=False, icon=":material/tune:"):
    k, stride, padding, size = ui.int_row(P, [("k", "kernel_size", 1, 11, 3), ("s", "stride", 1, 4, 1),
                                              ("p", "padding", 0, 5, 1), ("size", "input H = W", 1, 1024, 32)])

cmap = channel_map(cin, cout, groups)
options_out = ["all"] + list(range(cout))
focus = ui.choice(P, "focus", "highlight an output channel", options_out, "all", horizontal=cout <= 16,
                  format_func=str)
highlight = None if focus == "all" else int(focus)
ui.show_url_notes()


def mult_choice() -> int:
    with st.columns([1, 2])[0]:
        mult = ui.int_input(P, "mult", "depth multiplier (depthwise outputs per input channel)", 1, 4, 1)
    ui.show_url_notes()
    return mult


def separable_counts(cmp, **size):
    return counts_figure(["full", "depthwise", "pointwise", "separable"],
                         [cmp.full.params, cmp.depthwise.params, cmp.pointwise.params, cmp.separable_params],
                         [cmp.full.macs, cmp.depthwise.macs, cmp.pointwise.macs, cmp.separable_macs], **size)


if presenting:  # the picked figure, as large as the screen allows, and nothing else
    room = present.screen().figure_size(CONTROLS, step_buttons=False)
    if present.shown(P, "Channels"):
        figure = channel_figure(cmap, groups, transposed, highlight, height=room["max_height"], fonts=room["fonts"])
        st.plotly_chart(figure, key=f"{P}_channels", config={"displayModeBar": False})
    else:
        cmp = ui.run_engine(separable_vs_full, cin, cout, k, size, stride, padding, 1, mult_choice())
        if cmp is not None:
            figure = separable_counts(cmp, height=room["max_height"] - MULT_CONTROL, fonts=room["fonts"])
            st.plotly_chart(figure, key=f"{P}_bars", config={"displayModeBar": False})
    st.stop()

figure = channel_figure(cmap, groups, transposed, highlight)
st.plotly_chart(figure, key=f"{P}_channels", config={"displayModeBar": False})
figure_downloads(figure, f"{P}_channels_export", f"groups-{op}-{cin}-{cout}-g{groups}")
out_per, in_per = cout // groups, cin // groups
if highlight is None:
    g_text = "; ".join(f"group {g}: inputs {g * in_per}..{(g + 1) * in_per - 1} -> outputs {g * out_per}..{(g + 1) * out_per - 1}"
                       for g in range(min(groups, 6)))
    st.caption(g_text + ("; ..." if groups > 6 else ""))
else:
    g = highlight // out_per
    st.caption(f"Output channel {highlight} is in group {g}: it reads input channels {g * in_per}..{(g + 1) * in_per - 1} "
               f"({in_per} of {cin}), each through its own {k}x{k} kernel.")

cost = ui.run_engine(conv_cost, op, cin, cout, k, size, stride, padding, 1, groups, True)
if cost is None:
    st.stop()
full = conv_cost(op, cin, cout, k, size, stride, padding, 1, 1, True)  # valid when cost is: groups does not change sizes

st.subheader("Weight shapes and counts")
layout = "(C_in, C_out/groups, kH, kW)" if transposed else "(C_out, C_in/groups, kH, kW)"
st.markdown(
    f"`nn.{op}({cin}, {cout}, kernel_size={k}{', groups=' + str(groups) if groups > 1 else ''})` on a "
    f"{cin}x{size}x{size} input gives {cout}x{cost.out_size[0]}x{cost.out_size[1]}. Its weight has torch's layout "
    f"`{layout}` = `{cost.weight_shape}`."
)
other = "ConvTranspose2d" if not transposed else "Conv2d"
other_cost = ui.run_engine(conv_cost, other, cin, cout, k, size, stride, padding, 1, groups, True)
st.dataframe(
    [
        {"layer": f"{op}, groups={groups}", "weight shape": str(cost.weight_shape), "parameters": cost.params,
         "multiply-adds": cost.macs},
        {"layer": f"{op}, groups=1", "weight shape": str(full.weight_shape), "parameters": full.params,
         "multiply-adds": full.macs},
    ] + ([] if other_cost is None else [
        {"layer": f"{other}, groups={groups} (for comparison)", "weight shape": str(other_cost.weight_shape),
         "parameters": other_cost.params, "multiply-adds": other_cost.macs}]),
    hide_index=True, width="stretch", key=f"{P}_counts",
    column_config={"parameters": st.column_config.NumberColumn(format="localized"),
                   "multiply-adds": st.column_config.NumberColumn(format="localized")},
)
st.caption(
    f"groups={groups} divides the weights (bias aside) and the multiply-adds by {groups}: each output channel reads "
    f"{in_per} input channels instead of {cin}. Parameters include {cout} bias values. Multiply-adds are for one "
    "image, as torch.utils.flop_counter counts them (it reports 2 per multiply-add)."
)

st.subheader("Depthwise-separable against a full convolution")
st.caption(
    "MobileNet's block: a depthwise k x k convolution (groups = in_channels, spatial mixing only) followed by a "
    "1 x 1 pointwise convolution (channel mixing only). Same input and output shapes as one full k x k Conv2d."
)
mult = mult_choice()
cmp = ui.run_engine(separable_vs_full, cin, cout, k, size, stride, padding, 1, mult)
if cmp is None:
    st.stop()
mid = cin * mult
st.dataframe(
    [
        {"layer": f"full Conv2d({cin}, {cout}, {k})", "weight shape": str(cmp.full.weight_shape),
         "parameters": cmp.full.params, "multiply-adds": cmp.full.macs},
        {"layer": f"depthwise Conv2d({cin}, {mid}, {k}, groups={cin})", "weight shape": str(cmp.depthwise.weight_shape),
         "parameters": cmp.depthwise.params, "multiply-adds": cmp.depthwise.macs},
        {"layer": f"pointwise Conv2d({mid}, {cout}, 1)", "weight shape": str(cmp.pointwise.weight_shape),
         "parameters": cmp.pointwise.params, "multiply-adds": cmp.pointwise.macs},
        {"layer": "depthwise + pointwise", "weight shape": "", "parameters": cmp.separable_params,
         "multiply-adds": cmp.separable_macs},
    ],
    hide_index=True, width="stretch", key=f"{P}_separable",
    column_config={"parameters": st.column_config.NumberColumn(format="localized"),
                   "multiply-adds": st.column_config.NumberColumn(format="localized")},
)
left, right = st.columns([1, 1.3])
with left:
    st.markdown(
        f"The separable block needs **{cmp.param_ratio:.2f}x fewer parameters** and **{cmp.mac_ratio:.2f}x fewer "
        f"multiply-adds**; both give {cout}x{cmp.full.out_size[0]}x{cmp.full.out_size[1]}."
    )
    st.markdown(
        f"Why: the full layer pays C_in x k² x C_out per output pixel, the pair pays C_in x k² + C_in x C_out "
        f"(multiplier 1). Without bias their ratio is 1 / (1/C_out + 1/k²) = 1 / (1/{cout} + 1/{k * k}) = "
        f"{1 / (1 / cout + 1 / (k * k)):.2f}."
    )
with right:
    figure = separable_counts(cmp)
    st.plotly_chart(figure, key=f"{P}_bars", config={"displayModeBar": False})
    figure_downloads(figure, f"{P}_bars_export", f"separable-vs-full-{cin}-{cout}-k{k}", columns=(1, 1, 2))
with st.expander("PyTorch code for both", icon=":material/code:"):
    depthwise = layer_expr("conv2d", cin, mid, k, stride, padding, 1, cin)
    pointwise = layer_expr("conv2d", mid, cout, 1)
    full_expr = layer_expr("conv2d", cin, cout, k, stride, padding)
    st.code(
        "import torch\nfrom torch import nn\n\n"
        f"full = {full_expr}\n"
        f"separable = nn.Sequential(\n    {depthwise},\n    {pointwise},\n)\n"
        f"x = torch.randn(1, {cin}, {size}, {size})\n"
        "assert full(x).shape == separable(x).shape\n"
        "count = lambda m: sum(p.numel() for p in m.parameters())\n"
        f"print(count(full), count(separable))  # {cmp.full.params} {cmp.separable_params}\n",
        language="python",
    )
