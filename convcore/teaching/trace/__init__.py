"""The teaching model: step records for the animations, built from the engine's own pieces (numpy only).

- window.py: trace_conv2d, every output position of one conv2d output channel, with the window, the taps
  (dilation), what each tap reads (padding and the real cell a reflect/replicate/circular pad copies), products,
  sums, result.
- transpose.py: trace_conv_transpose2d, conv_transpose2d three ways (zero insertion, scatter, matrix), each with its
  own numbers, equal to the engine's bit for bit.
- maps.py: index maps both ways, channel maps for groups, overlap counts, the conv as a matrix.
- text.py: the arithmetic of a step as text.

Import everything from here (convcore.teaching.trace); each module's __all__ is the package's.
"""
from . import maps, text, transpose, window
from .maps import *  # noqa: F403
from .text import *  # noqa: F403
from .transpose import *  # noqa: F403
from .window import *  # noqa: F403

__all__ = window.__all__ + transpose.__all__ + maps.__all__ + text.__all__
