"""The generated PyTorch code runs in torch and prints the numbers convcore computes."""
import contextlib
import io

import numpy as np
import pytest
import torch

from convcore import Conv2d, ConvTranspose2d, conv2d_output_size, conv_transpose2d_output_size
from convcore.teaching import codegen

# torch's own note about 'same' with an even kernel (it pads a copy); the numbers are still compared below
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")


def run(code: str) -> dict:
    """exec the generated script (its prints swallowed) and return its namespace."""
    namespace: dict = {}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(code, "<generated>", "exec"), namespace)  # noqa: S102 - our own generated code
    return namespace


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_tensor_literal_reads_back_exactly(dtype):
    values = np.array([[0.1, -0.0, 1 / 3, 1e-5, -2.5e8], [7, -1, 123456.789, 3e-9, 0.5]], dtype=dtype)
    back = eval(codegen.tensor_literal(values), {"torch": torch})  # noqa: S307 - our own literal
    assert back.dtype == {np.float32: torch.float32, np.float64: torch.float64}[dtype]
    np.testing.assert_array_equal(back.numpy(), values)


def test_tensor_literal_nan_inf_and_shapes():
    values = np.array([[[np.nan, np.inf], [-np.inf, 1]]], np.float32)
    back = eval(codegen.tensor_literal(values), {"torch": torch})  # noqa: S307
    np.testing.assert_array_equal(back.numpy(), values)
    assert eval(codegen.tensor_literal(np.float32(2.5)), {"torch": torch}).shape == ()  # noqa: S307


def test_tensor_literal_rejects_integer_arrays():
    with pytest.raises(TypeError, match="float32 or float64"):
        codegen.tensor_literal(np.arange(3))


def test_layer_expr_leaves_out_defaults():
    assert codegen.layer_expr("conv2d", 1, 1, 3) == "nn.Conv2d(1, 1, kernel_size=3)"
    assert codegen.layer_expr("conv_transpose2d", 4, 2, (3, 3), stride=2, padding=1, output_padding=1, bias=False) == (
        "nn.ConvTranspose2d(4, 2, kernel_size=3, stride=2, padding=1, output_padding=1, bias=False)")
    with pytest.raises(ValueError, match="op must be"):
        codegen.layer_expr("conv3d", 1, 1, 3)


@pytest.mark.parametrize("op, kwargs", [
    ("conv2d", dict(in_channels=4, out_channels=6, kernel_size=(2, 3), stride=(1, 2), padding=(0, 2), dilation=(2, 1),
                    groups=2, bias=False, padding_mode="circular")),
    ("conv2d", dict(in_channels=3, out_channels=3, kernel_size=4, padding="same", groups=3, padding_mode="reflect")),
    ("conv_transpose2d", dict(in_channels=4, out_channels=2, kernel_size=(3, 2), stride=(2, 3), padding=(1, 0),
                              output_padding=(1, 2), groups=2, dilation=(1, 2))),
])
def test_layer_expr_builds_the_module_torch_would(op, kwargs):
    module = eval(codegen.layer_expr(op, **kwargs), {"nn": torch.nn})  # noqa: S307
    pair = lambda v: v if isinstance(v, (str, tuple)) else (v, v)  # noqa: E731
    for name in ("kernel_size", "stride", "padding", "dilation", "output_padding"):
        if name in kwargs:
            assert getattr(module, name) == pair(kwargs[name]), name
    assert module.groups == kwargs.get("groups", 1)
    assert (module.bias is not None) == kwargs.get("bias", True)
    assert module.padding_mode == kwargs.get("padding_mode", "zeros")


CONFIGS = [
    ("conv2d", dict(in_channels=1, out_channels=1, kernel_size=3), (1, 1, 5, 5), {}),
    ("conv2d", dict(in_channels=4, out_channels=6, kernel_size=(2, 3), stride=(2, 1), padding=(1, 2), dilation=(1, 2),
                    groups=2), (2, 4, 7, 6), {}),
    ("conv2d", dict(in_channels=2, out_channels=3, kernel_size=4, padding="same", bias=False), (1, 2, 5, 6), {}),
    ("conv2d", dict(in_channels=2, out_channels=2, kernel_size=3, padding="valid", dilation=2), (2, 7, 7), {}),
    ("conv2d", dict(in_channels=3, out_channels=3, kernel_size=3, padding=2, groups=3, padding_mode="reflect"),
     (1, 3, 5, 4), {}),
    ("conv2d", dict(in_channels=1, out_channels=2, kernel_size=(1, 3), padding=(0, 3), padding_mode="circular"),
     (1, 1, 3, 4), {}),
    ("conv2d", dict(in_channels=1, out_channels=1, kernel_size=2, padding=1, padding_mode="replicate"), (1, 1, 3, 3), {}),
    ("conv_transpose2d", dict(in_channels=2, out_channels=4, kernel_size=3, stride=2, padding=1, output_padding=1,
                              groups=2), (1, 2, 3, 4), {}),
    ("conv_transpose2d", dict(in_channels=3, out_channels=2, kernel_size=(2, 3), stride=(3, 2), dilation=(1, 2),
                              bias=False), (3, 2, 2), {}),
    ("conv_transpose2d", dict(in_channels=1, out_channels=1, kernel_size=3, stride=3, padding=1), (1, 1, 3, 3),
     {"output_size": (9, 8)}),
]


@pytest.mark.parametrize("op, kwargs, x_shape, call", CONFIGS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_generated_code_reproduces_convcore(op, kwargs, x_shape, call, dtype):
    rng = np.random.default_rng(len(x_shape) + sum(x_shape))
    module = (Conv2d if op == "conv2d" else ConvTranspose2d)(**kwargs, dtype=dtype, rng=rng)
    module.weight = np.round(rng.standard_normal(module.weight.shape), 2).astype(dtype)
    x = np.round(rng.standard_normal(x_shape), 2).astype(dtype)
    expected = module(x, **call)
    code = codegen.conv_code(op, x, module.weight, module.bias, module.stride, module.padding, module.dilation,
                             module.groups, module.padding_mode, getattr(module, "output_padding", 0),
                             call.get("output_size"))
    y = run(code)["y"].detach().numpy()
    assert y.dtype == dtype and y.shape == expected.shape
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5 if dtype == np.float32 else 1e-12)


def test_large_tensors_are_not_spelled_out_but_the_code_still_runs():
    x = np.zeros((1, 1, 80, 80), np.float32)  # 6400 elements > MAX_LITERAL
    w = np.ones((1, 1, 3, 3), np.float32)
    code = codegen.conv_code("conv2d", x, w, None, stride=2, padding=1)
    assert "torch.randn(1, 1, 80, 80)" in code and code.count("\n") < 30
    assert tuple(run(code)["y"].shape) == (1, 1) + conv2d_output_size((80, 80), 3, 2, 1)
    code = codegen.conv_code("conv2d", x, w, None, input_expr="torch.ones(1, 1, 80, 80)")
    assert float(run(code)["y"].detach().sum()) == 9 * 78 * 78


def test_sequential_code_runs_and_gives_the_chain_shape():
    layers = [
        dict(op="conv2d", in_channels=3, out_channels=8, kernel_size=3, stride=2, padding=1),
        dict(op="conv2d", in_channels=8, out_channels=16, kernel_size=3, stride=2, padding=1, groups=8),
        dict(op="conv_transpose2d", in_channels=16, out_channels=8, kernel_size=4, stride=2, padding=1),
        dict(op="conv_transpose2d", in_channels=8, out_channels=3, kernel_size=3, stride=2, padding=1,
             output_padding=(1, 0)),
    ]
    code = codegen.sequential_code(layers, (1, 3, 30, 29))
    namespace = run(code)
    model = namespace["model"]
    assert len(model) == 4
    size = (30, 29)
    for layer in layers:
        args = {k: v for k, v in layer.items() if k in ("kernel_size", "stride", "padding")}
        if layer["op"] == "conv2d":
            size = conv2d_output_size(size, **args)
        else:
            size = conv_transpose2d_output_size(size, output_padding=layer.get("output_padding", 0), **args)
    assert tuple(model(namespace["x"]).shape) == (1, 3) + size
