"""Practice: questions generated from a seed at three difficulties, answered by the engine, graded without eval.

- questions.py: the seven kinds (output shape, one output value, inputs feeding an output cell, outputs one input
  touches, padding / output_padding, weights and parameters, an encoder/decoder chain), question(seed, n, level).
- answers.py: reading answers as people type them (`3x3`, `(3, 3)`, `[1, 3, 3]`, `-2.5`, `impossible`) and grading.
Numpy only (the engine's layer): the Practice page draws and links, this package decides.
"""
from .answers import IMPOSSIBLE, Grade, Unreadable, grade_part, parse_cells, parse_number, parse_numbers
from .questions import KINDS, Part, Question, generate, layer_text, output_hw, question, round_kinds

__all__ = ["IMPOSSIBLE", "Grade", "Unreadable", "grade_part", "parse_cells", "parse_number", "parse_numbers",
           "KINDS", "Part", "Question", "generate", "layer_text", "output_hw", "question", "round_kinds"]
