"""PyTorch code that reproduces a configuration's numbers: modules built with torch's argument names, weights and
inputs written as literals at teaching sizes. Pure Python and numpy; torch is only needed to run the result."""
from __future__ import annotations

import numpy as np

from ..params import _pair

__all__ = ["tensor_literal", "layer_expr", "conv_code", "sequential_code"]

MAX_LITERAL = 4096  # elements; larger tensors are not spelled out (the code would be unreadable)

_TORCH_DTYPES = {np.dtype(np.float32): None, np.dtype(np.float64): "torch.float64"}


def _number(v, dtype: np.dtype) -> str:
    """The shortest decimal that reads back as the same value in dtype; always with a '.' so torch infers a float."""
    v = dtype.type(v)
    if np.isnan(v):
        return "float('nan')"
    if np.isinf(v):
        return "float('inf')" if v > 0 else "-float('inf')"
    if v != 0 and not 1e-4 <= abs(v) < 1e7:
        return np.format_float_scientific(v, trim="-")
    return np.format_float_positional(v, trim=".")


def tensor_literal(a, indent: int = 0) -> str:
    """`torch.tensor([...])` for a float32/float64 array, innermost rows on one line each."""
    arr = np.asarray(a)
    dtype = np.dtype(arr.dtype)
    if dtype not in _TORCH_DTYPES:
        raise TypeError(f"tensor_literal writes float32 or float64 arrays, got dtype {dtype}")

    def nested(x: np.ndarray, depth: int) -> str:
        if x.ndim == 0:
            return _number(x, dtype)
        if x.ndim == 1:
            return "[" + ", ".join(_number(v, dtype) for v in x) + "]"
        pad = " " * (indent + 4 + depth + 1)
        sep = "," + "\n" * (x.ndim - 1) + pad
        return "[" + sep.join(nested(sub, depth + 1) for sub in x) + "]"

    body = nested(arr, 0)
    if arr.ndim >= 2:  # start the nested lists on their own line, indented
        body = "\n" + " " * (indent + 4) + body
    dt = _TORCH_DTYPES[dtype]
    return f"torch.tensor({body}{', dtype=' + dt if dt else ''})"


def _arg(value) -> str:
    """A pair as torch prints it: an int when both entries agree, else a tuple; strings quoted."""
    if isinstance(value, str):
        return repr(value)
    h, w = _pair(value, "argument")
    return str(h) if h == w else f"({h}, {w})"


def layer_expr(op: str, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1, groups=1,
               bias: bool = True, padding_mode: str = "zeros", output_padding=0, dtype: str | None = None) -> str:
    """`nn.Conv2d(...)` / `nn.ConvTranspose2d(...)` with only the non-default arguments, in torch's order.

    dtype: e.g. "torch.float64" for a module that is not float32 (torch's default).
    """
    if op not in ("conv2d", "conv_transpose2d"):
        raise ValueError(f"op must be 'conv2d' or 'conv_transpose2d', got {op!r}")
    args = [str(in_channels), str(out_channels), f"kernel_size={_arg(kernel_size)}"]
    optional = [("stride", stride, "1"), ("padding", padding, "0")]
    if op == "conv_transpose2d":
        optional += [("output_padding", output_padding, "0"), ("groups", groups, "1")]
        optional += [("bias", bias, "True"), ("dilation", dilation, "1")]
    else:
        optional += [("dilation", dilation, "1"), ("groups", groups, "1"), ("bias", bias, "True")]
    optional.append(("padding_mode", padding_mode, "'zeros'"))
    for name, value, default in optional:
        text = str(value) if isinstance(value, (bool, int)) and name in ("groups", "bias") else _arg(value)
        if text != default:
            args.append(f"{name}={text}")
    if dtype is not None:
        args.append(f"dtype={dtype}")
    cls = "Conv2d" if op == "conv2d" else "ConvTranspose2d"
    return f"nn.{cls}({', '.join(args)})"


def _too_big(a) -> bool:
    return a is not None and np.asarray(a).size > MAX_LITERAL


def conv_code(op: str, input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1,
              padding_mode: str = "zeros", output_padding=0, output_size=None, input_expr: str | None = None) -> str:
    """A runnable script: the module, its weight and bias copied in, the input, the forward call and the output.

    After running it, `y` holds the result. The input is written as a literal unless input_expr is given or it is
    too large (then a random tensor of the same shape stands in, and a comment says so); the same for weights.
    """
    w = np.asarray(weight)
    x_shape = tuple(np.shape(input))
    if op == "conv2d":
        in_channels, out_channels = w.shape[1] * groups, w.shape[0]
    else:
        in_channels, out_channels = w.shape[0], w.shape[1] * groups
    layer = layer_expr(op, in_channels, out_channels, tuple(w.shape[2:]), stride, padding, dilation, groups,
                       bias is not None, padding_mode, output_padding, _TORCH_DTYPES.get(np.dtype(w.dtype)))
    lines = ["import torch", "from torch import nn", "", f"conv = {layer}"]
    if _too_big(w) or _too_big(bias):
        lines.append("# the weights are too large to print: torch's random initial weights stand in for them")
    else:
        lines += ["with torch.no_grad():", f"    conv.weight.copy_({tensor_literal(w, indent=4)})"]
        if bias is not None:
            lines.append(f"    conv.bias.copy_({tensor_literal(bias, indent=4)})")
    if input_expr is not None:
        lines.append(f"x = {input_expr}")
    elif _too_big(input):
        lines.append(f"x = torch.randn{x_shape}  # stands in for the input, too large to print")
    else:
        lines.append(f"x = {tensor_literal(input)}  # shape {x_shape}")
    call = "conv(x)" if output_size is None else f"conv(x, output_size={tuple(int(v) for v in output_size)})"
    lines += [f"y = {call}", "print(y.shape)", "print(y)"]
    return "\n".join(lines) + "\n"


def sequential_code(layers: list[dict], input_shape, name: str = "model") -> str:
    """`nn.Sequential` of conv layers (each a dict: op plus layer_expr's keyword arguments) and a shape check."""
    body = ",\n".join(f"    {layer_expr(**layer)}" for layer in layers)
    shape = tuple(int(v) for v in input_shape)
    return (
        "import torch\nfrom torch import nn\n\n"
        f"{name} = nn.Sequential(\n{body},\n)\n"
        f"x = torch.randn{shape}\n"
        f"print({name}(x).shape)\n"
    )
