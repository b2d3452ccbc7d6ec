"""Gallery: every animation of Dumoulin & Visin's "A guide to convolution arithmetic" (conv_arithmetic), computed by
our engine with the guide's sizes, each with its transposed counterpart, the layer in PyTorch terms, a link to the
lesson at that configuration and downloads (GIF, MP4, PNG, SVG). Only the open tab is built."""
import streamlit as st

from convcore.ui import gallery, present

INTRO = ("The animations of Dumoulin & Visin's *A guide to convolution arithmetic for deep learning*, remade with "
         "the guide's input and kernel sizes by the same engine as the lessons, each followed by its "
         "transposed counterpart (the ConvTranspose2d that brings the output back to the input size). "
         + gallery.LABELLED + " PNG and SVG show the first step; the lesson exports any step.")

present.page_header(gallery.P, "Classic figures", INTRO, figure_keys=True)  # the title and INTRO, or the bar

tabs = st.tabs([pair.title for pair in gallery.PAIRS], key=f"{gallery.P}_figure", bind="query-params",
               on_change="rerun")
for tab, pair in zip(tabs, gallery.PAIRS):
    if not tab.open:  # only the open tab is built and sent: the page opens fast
        continue
    with tab:
        gallery.show_pair(pair, present.screen())
