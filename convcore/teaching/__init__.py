"""The teaching model on top of the engine: step-by-step traces, concept computations, the shape planner and its
layer chains, PyTorch code generation, and practice questions. numpy and the engine only (no viz, ui).
"""
