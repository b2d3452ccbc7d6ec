"""Named kernels, the custom-kernel parser and channel weights, checked against torch where it applies."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from convcore import conv2d, conv_transpose2d
from convcore.images.kernels import (
    CHANNEL_MATRICES,
    CHANNEL_MODES,
    MAX_KERNEL_SIZE,
    PRESETS,
    KernelParseError,
    bilinear_padding,
    bilinear_upsampling,
    box_blur,
    channel_weight,
    format_kernel,
    gaussian,
    identity,
    laplacian,
    make_kernel,
    motion_blur,
    outline,
    parse_kernel,
    sobel_x,
    sobel_y,
    unsharp_mask,
)

RNG = np.random.default_rng(5)


def torch_conv(x, w, **kw):
    return F.conv2d(torch.from_numpy(x), torch.from_numpy(w), **kw).numpy()


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_is_a_finite_2d_kernel_within_size_limits(name):
    k = make_kernel(name, size=5, sigma=1.5, amount=0.7, angle=30.0, factor=2)
    assert k.dtype == np.float64 and k.ndim == 2
    assert 1 <= min(k.shape) and max(k.shape) <= MAX_KERNEL_SIZE
    assert np.all(np.isfinite(k))


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_runs_through_the_engine_like_torch(name):
    k = make_kernel(name, size=5, sigma=1.5, amount=0.7, angle=30.0, factor=2)
    x = RNG.random((1, 1, 17, 19)) * 255
    ours = conv2d(x, k[None, None], padding=2)
    assert np.allclose(ours, torch_conv(x, k[None, None], padding=2), atol=1e-9)


def test_identity_copies_the_input_for_odd_sizes():
    x = RNG.random((1, 1, 9, 8))
    for size in (1, 3, 7):
        assert np.array_equal(conv2d(x, identity(size)[None, None], padding="same"), x)


@pytest.mark.parametrize("size", [1, 2, 3, 8, 31])
def test_averaging_kernels_sum_to_one(size):
    assert box_blur(size).sum() == pytest.approx(1.0)
    assert gaussian(size, 2.0).sum() == pytest.approx(1.0)
    assert unsharp_mask(size, 1.0, 1.5).sum() == pytest.approx(1.0)  # keeps flat regions unchanged
    assert motion_blur(size, 37.0).sum() == pytest.approx(1.0)


def test_gaussian_is_a_symmetric_sampled_gaussian():
    k = gaussian(5, 1.3)
    t = np.arange(5) - 2
    expected = np.exp(-(t[:, None] ** 2 + t[None, :] ** 2) / (2 * 1.3**2))
    assert np.allclose(k, expected / expected.sum())
    assert np.allclose(k, k.T) and np.allclose(k, k[::-1, ::-1])


def test_gradient_kernels_measure_the_slope_of_a_ramp_without_flipping():
    # cross-correlation (torch): sobel_x is positive where brightness grows to the right
    ramp = np.tile(np.arange(10.0) * 3, (10, 1))[None, None]
    assert np.allclose(torch_conv(ramp, sobel_x()[None, None]), 8 * 3)
    assert np.allclose(conv2d(ramp, sobel_x()[None, None]), 8 * 3)
    assert np.allclose(conv2d(ramp.transpose(0, 1, 3, 2).copy(), sobel_y()[None, None]), 8 * 3)
    assert np.allclose(conv2d(ramp, sobel_y()[None, None]), 0)


def test_laplacian_and_outline_vanish_on_linear_images():
    plane = (np.arange(8.0)[:, None] * 2 + np.arange(9.0)[None, :] * 5)[None, None]
    assert np.allclose(conv2d(plane, laplacian()[None, None]), 0)
    assert np.allclose(conv2d(plane, outline()[None, None]), 0)


def test_motion_blur_follows_its_angle():
    horizontal = motion_blur(7, 0)
    assert np.count_nonzero(horizontal.sum(axis=1)) == 1 and np.count_nonzero(horizontal[3]) == 7
    vertical = motion_blur(7, 90)
    assert np.allclose(vertical, horizontal.T)
    diagonal = motion_blur(7, 45)
    assert np.allclose(diagonal, diagonal[::-1, ::-1])  # a line through the centre
    # 45 degrees counter-clockwise: from bottom-left to top-right, 7 pixels long (so it stops short of the corners)
    assert diagonal[1, 5] > 0 and diagonal[5, 1] > 0 and diagonal[1, 1] == 0 and diagonal[5, 5] == 0


@pytest.mark.parametrize("factor", [2, 3, 4])
def test_bilinear_upsampling_matches_torch_bilinear_interpolation_inside(factor):
    x = RNG.random((1, 1, 6, 7))
    k = bilinear_upsampling(factor)
    up = conv_transpose2d(x, k[None, None], stride=factor, padding=bilinear_padding(factor))
    assert up.shape[-2:] == (6 * factor, 7 * factor)
    ref = F.interpolate(torch.from_numpy(x), scale_factor=factor, mode="bilinear", align_corners=False).numpy()
    inner = slice(factor, -factor)  # the borders differ: zero padding vs torch's edge clamping
    assert np.allclose(up[..., inner, inner], ref[..., inner, inner])


def test_bilinear_upsampling_has_no_checkerboard_on_a_flat_image():
    up = conv_transpose2d(np.ones((1, 1, 8, 8)), bilinear_upsampling(2)[None, None], stride=2, padding=1)
    assert np.allclose(up[..., 2:-2, 2:-2], 1.0)


@pytest.mark.parametrize("bad", [0, 32, -1])
def test_sizes_out_of_range_are_refused_with_the_limit(bad):
    with pytest.raises(ValueError, match="between 1 and 31"):
        box_blur(bad)


def test_bad_options_are_refused():
    with pytest.raises(ValueError, match="sigma"):
        gaussian(5, 0.0)
    with pytest.raises(ValueError, match="sigma"):
        gaussian(5, float("nan"))
    with pytest.raises(TypeError, match="int"):
        box_blur(3.0)
    with pytest.raises(ValueError, match="factor"):
        bilinear_upsampling(0)
    with pytest.raises(ValueError, match="between 1 and 31"):
        bilinear_upsampling(17)  # 2*17 - 1 = 33 taps
    with pytest.raises(ValueError, match="unknown kernel preset 'blurr'"):
        make_kernel("blurr")


# ---- the parser ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "1 2 1; 0 0 0; -1 -2 -1",
    "1 2 1\n0 0 0\n-1 -2 -1",
    "1,2,1;0,0,0;-1,-2,-1",
    "  1, 2 ,1 ;\n 0 0 0 ;; -1 -2 -1 \n",
    "[[1, 2, 1], [0, 0, 0], [-1, -2, -1]]",
    "[1 2 1]\n[0 0 0]\n[-1 -2 -1]",
    "1e0 2.0 1.; 0 .0 0; -1 -2e0 -1",
    "2/2 4/2 1; 0 0 0; -1 -2 -1",
])
def test_parse_accepts_the_usual_ways_of_writing_a_kernel(text):
    k = parse_kernel(text)
    assert k.dtype == np.float64
    assert np.array_equal(k, np.array([[1, 2, 1], [0, 0, 0], [-1, -2, -1]], float))


def test_parse_non_square_and_single_values():
    assert parse_kernel("1 2 3 4 5").shape == (1, 5)
    assert parse_kernel("1;2;3").shape == (3, 1)
    assert parse_kernel("-0.5").item() == -0.5
    assert parse_kernel("1/16 2/16 1/16").tolist() == [[0.0625, 0.125, 0.0625]]


@pytest.mark.parametrize("text, message", [
    ("", "empty"),
    ("  ;\n ; ", "empty"),
    ("1 2 1; 0 0; 1 1 1", "row 1 has 3, row 2 has 2"),
    ("1 2 x", "row 1, value 3: 'x' is not a number"),
    ("1 2\n3 four", "row 2, value 2: 'four' is not a number"),
    ("nan 1", "'nan' is not a number"),
    ("inf", "'inf' is not a number"),
    ("1e999", "too large"),
    ("1/0", "divides by zero"),
    ("1/2/3", "is not a number"),
    ("__import__('os').system('echo hi')", "is not a number"),
    ("(1+1)", "is not a number"),
    ("0x10", "is not a number"),
    ("1_000", "is not a number"),
    ("[[1, 2], [3, 4]", "unbalanced brackets"),
    (";".join(["1"] * 32), "32x1; the largest allowed is 31x31"),
    (" ".join(["1"] * 32), "1x32; the largest allowed is 31x31"),
])
def test_parse_rejects_bad_text_with_a_message_that_says_where(text, message):
    with pytest.raises(KernelParseError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        parse_kernel(text)


def test_parse_error_is_a_value_error_and_never_evaluates(tmp_path, monkeypatch):
    marker = tmp_path / "ran"
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError):
        parse_kernel(f"open('{marker}', 'w')")
    assert not marker.exists()
    with pytest.raises(KernelParseError, match="must be a string"):
        parse_kernel(None)


@pytest.mark.parametrize("name", list(PRESETS))
def test_format_then_parse_round_trips(name):
    k = make_kernel(name, size=7, sigma=1.1, amount=0.3, angle=20.0, factor=3)
    back = parse_kernel(format_kernel(k))
    assert np.array_equal(back.astype(np.float32), k.astype(np.float32))  # exact at the engine's float32


def test_format_is_short_for_simple_numbers():
    assert format_kernel(np.array([[1.0, -2.0, 0.5], [-0.0, 0.0, 1e-3]])) == "1 -2 0.5\n0 0 0.001"


def test_largest_kernel_parses():
    text = "\n".join(" ".join(["1"] * 31) for _ in range(31))
    assert parse_kernel(text).shape == (31, 31)


# ---- channel weights ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("mode, shape, groups", [
    ("grayscale", (1, 1, 3, 5), 1),
    ("per channel", (3, 1, 3, 5), 3),
    ("full mixing", (3, 3, 3, 5), 1),
])
def test_channel_weight_shapes_and_groups(mode, shape, groups):
    k = RNG.random((3, 5))
    w, g = channel_weight(k, mode, CHANNEL_MATRICES["sepia"])
    assert w.shape == shape and g == groups
    wt, gt = channel_weight(k, mode, CHANNEL_MATRICES["sepia"], transposed=True)
    assert wt.shape == shape and gt == groups  # 3 -> 3: (C_in, C_out/groups) has the same numbers


def test_full_mixing_is_the_matrix_applied_to_the_per_channel_results_in_torch():
    x = RNG.random((1, 3, 12, 13)) * 255
    k = RNG.standard_normal((3, 3))
    m = RNG.standard_normal((3, 3))
    w, g = channel_weight(k, "full mixing", m)
    mixed = torch_conv(x, w, groups=g, padding=1)
    depthwise = torch_conv(x, channel_weight(k, "per channel")[0], groups=3, padding=1)
    assert np.allclose(mixed, np.einsum("oi,nihw->nohw", m, depthwise))
    assert np.allclose(conv2d(x, w, groups=g, padding=1), mixed)


def test_transposed_full_mixing_keeps_the_matrix_meaning_in_torch():
    x = RNG.random((1, 3, 6, 7))
    k = RNG.standard_normal((3, 3))
    m = RNG.standard_normal((3, 3))
    w, g = channel_weight(k, "full mixing", m, transposed=True)
    mixed = F.conv_transpose2d(torch.from_numpy(x), torch.from_numpy(w), stride=2, groups=g).numpy()
    per_channel = F.conv_transpose2d(torch.from_numpy(x), torch.from_numpy(channel_weight(k, "per channel")[0]),
                                     stride=2, groups=3).numpy()
    assert np.allclose(mixed, np.einsum("oi,nihw->nohw", m, per_channel))
    assert np.allclose(conv_transpose2d(x, w, stride=2, groups=g), mixed)


def test_channel_weight_rejects_bad_modes_and_matrices():
    with pytest.raises(ValueError, match="unknown channel mode"):
        channel_weight(np.ones((3, 3)), "rgb")
    with pytest.raises(ValueError, match="3x3"):
        channel_weight(np.ones((3, 3)), "full mixing", np.eye(2))
    with pytest.raises(ValueError, match="finite"):
        channel_weight(np.ones((3, 3)), "full mixing", np.full((3, 3), np.nan))
    assert set(CHANNEL_MODES) == {"grayscale", "per channel", "full mixing"}
