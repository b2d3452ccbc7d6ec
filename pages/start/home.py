"""Home: what each page teaches and how to use the app in a classroom."""
import streamlit as st

st.title("Convolution Studio")
st.markdown(
    "PyTorch's `nn.Conv2d` and `nn.ConvTranspose2d`, step by step and with the real numbers. Every result on these "
    "pages comes from an engine that reproduces PyTorch exactly, and every page can give you the PyTorch code that "
    "prints the same numbers."
)

SECTIONS = {
    "Lessons": [
        ("pages/lessons/conv2d.py", ":material/grid_on:",
         "Every constructor argument; the window sliding over the input, the output-size formula with "
         "your numbers, and each output cell's arithmetic written out."),
        ("pages/lessons/conv_transpose2d.py", ":material/open_in_full:",
         "Everything the Conv2d lesson shows, seen three ways (zero insertion, scatter, matrix), plus output_padding, "
         "output_size and the overlap that causes checkerboards."),
    ],
    "Concepts": [
        ("pages/concepts/groups-depthwise.py", ":material/view_module:",
         "Which input channels feed which outputs, weight shapes, parameter and "
         "multiply-add counts, depthwise-separable against a full convolution."),
        ("pages/concepts/padding.py", ":material/border_outer:",
         "Zeros, reflect, replicate and circular side by side, where each padded value comes "
         "from, and 'same' with an even kernel."),
        ("pages/concepts/matrix.py", ":material/table_chart:",
         "A convolution as a matrix C, the transposed convolution as C^T, and why "
         "conv_transpose2d is the gradient of conv2d."),
        ("pages/concepts/checkerboards.py", ":material/grid_4x4:",
         "How uneven kernel overlap in a transposed convolution makes checkerboards, and "
         "what avoids them."),
        ("pages/concepts/planner.py", ":material/account_tree:",
         "Chain Conv2d and ConvTranspose2d layers, follow the shapes, fix a decoder that does not "
         "return to the input size, export `nn.Sequential` code."),
    ],
    "Practice": [
        ("pages/practice/practice.py", ":material/quiz:",
         "Questions generated from a seed and graded by the engine: output shapes, output values, which cells a "
         "window reads, padding and output_padding, weights, decoder chains; ten to a round."),
    ],
    "Lab": [
        ("pages/lab/lab.py", ":material/image:",
         "Any kernel and every parameter on your own photos (or the samples), with the output's "
         "values displayed the way you choose."),
        ("pages/lab/chain.py", ":material/linear_scale:",
         "Chains of layers on a photo: blur then Sobel, an encoder and its decoder (checkerboards appear and vanish), "
         "every step's output, A/B comparison, and the chain in the shape planner."),
    ],
    "Gallery": [
        ("pages/gallery/gallery.py", ":material/photo_library:",
         "Every animation of Dumoulin & Visin's convolution arithmetic guide, remade with labels and values, each "
         "with its transposed counterpart, as GIF, MP4, PNG or SVG for your slides."),
    ],
}

for section, pages in SECTIONS.items():
    st.subheader(section)
    columns = st.columns(2)
    for i, (path, icon, text) in enumerate(pages):
        with columns[i % 2].container(border=True):
            st.page_link(path, icon=icon)
            st.markdown(text)

st.subheader("In a classroom")
st.markdown(
    """
1. **Set it up once.** Choose the parameters and values on a page; every setting is written into the address bar.
2. **Share the link.** Copy the address and send it (chat, slides, QR code): each student opens exactly your
   configuration, and your step in an animation, and can change it from there without affecting anyone else.
3. **Project it.** The pages are laid out for a 1280x720 projector; Play, Pause and the step buttons walk through
   an animation one output cell at a time, with the arithmetic below it.
4. **Check it in PyTorch.** Open the *PyTorch code* panel and run the code: it prints the same numbers.

A link edited by hand, or made for different settings, never breaks a page: values that do not fit are replaced by
defaults and the page says which.
"""
)
st.subheader("On your own")
st.markdown(
    "Change one parameter at a time and predict the output shape before you look. When PyTorch would refuse a "
    "combination, the page tells you which rule was broken, with your numbers."
)
