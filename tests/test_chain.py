"""Layer chains: every preset and random chains on a real photo against the same torch nn.Sequential (built by
running the exported code), the text form, weights, bad chains, and the prefix cache."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from convcore.images import imaging
from convcore.teaching.chain import (
    PRESET_CHAINS,
    ChainError,
    PrefixCache,
    chain_shapes,
    chain_text,
    conv_layers,
    layer_weight,
    parse_chain,
    psnr,
    run_chain,
    sequential_code,
    with_layers,
)
from convcore.teaching.planner import chain_from_text, chain_to_text
from convcore.ui.lab import sample_path
from tests.torch_compare import assert_matches

torch.set_num_threads(1)


def photo(channels: int, side: int = 96) -> np.ndarray:
    pixels = imaging.fit_within(imaging.load_path(sample_path("astronaut")).pixels, side)
    return imaging.to_channels(pixels, channels)


def torch_model(steps, in_channels):
    scope: dict = {}
    exec(sequential_code(steps, in_channels), scope)  # the export the lab and the planner show
    return scope["model"]


CHAINS = [(c, text) for c, text, _ in PRESET_CHAINS.values()] + [
    (3, "C8k3s2p1~r1.R.C4k3p1d2g2~r2.A.T3k4s2p1~r3.S0.5,1,2o-10,0,10"),
    (1, "C4k5psame~r4.R.T2k3s3p1o2~r5.S2.T1k2~r6"),
    (3, "C6k3g3~gaussian@1.5,sobel x.R.C3k1~r7"),
]


@pytest.mark.parametrize("channels,text", CHAINS)
def test_chain_matches_torch_sequential_on_a_photo(channels, text):
    steps = parse_chain(text)
    x = photo(channels)
    outputs = run_chain(steps, x)
    model = torch_model(steps, channels)
    with torch.no_grad():
        ref = torch.from_numpy(x[None].copy())
        for i, module in enumerate(model):
            ref = module(ref)
            assert_matches(outputs[i], ref[0])  # every step's picture, not only the last


@pytest.mark.parametrize("channels,text", CHAINS)
def test_text_round_trip(channels, text):
    assert chain_text(parse_chain(chain_text(parse_chain(text)))) == chain_text(parse_chain(text))


def test_planner_reads_the_layers_and_its_edits_keep_weights_and_elementwise_steps():
    steps = parse_chain("C8k3s2p1~r1.R.T3k3s2p1~b.A")
    layers = conv_layers(steps)
    assert chain_to_text(layers) == "C8k3s2p1.T3k3s2p1"
    edited = chain_from_text("C8k3s2p1.T3k3s2p1o1")  # the planner's fix
    assert chain_text(with_layers(steps, edited)) == "C8k3s2p1~r1.R.T3k3s2p1o1~b.A"
    assert chain_text(with_layers(steps, edited + chain_from_text("C1k1"))).endswith(".C1k1~r4")


def test_named_weights_filter_each_channel_and_bilinear_upsamples_flat_to_flat():
    (step,) = parse_chain("C2k3p1g1~sobel x,sobel y")
    w = layer_weight(step, 1)
    assert w.shape == (2, 1, 3, 3) and w[0, 0, 0, 0] == -1 and w[1, 0, 0, 0] == -1 and w[0, 0, 1, 0] == -2
    flat = np.full((3, 16, 16), 7.0, np.float32)
    out = run_chain(parse_chain("T3k4s2p1g3~b"), flat)[-1]
    assert out.shape == (3, 32, 32)
    np.testing.assert_allclose(out[:, 1:-1, 1:-1], 7.0, rtol=1e-6)


@pytest.mark.parametrize("text,channels,index,words", [
    ("C1k3~r0.C4k3g2~r1", 3, 1, ["step 2", "groups", "2", "1"]),  # in_channels 1 not divisible by groups 2
    ("C3k3~r0.C3k99~r1", 3, 1, ["step 2", "99"]),  # empty output
    ("C3k3~r0.T3k16s16~r1", 3, 1, ["step 2", "cap"]),  # bigger than the cap
    ("C2k1~r0.S1,2,3", 3, 1, ["step 2", "3 values", "2 channels"]),
    ("C1k5~sobel x", 1, 0, ["step 1", "3x3", "5x5"]),
])
def test_bad_chains_name_the_step_the_rule_and_the_numbers(text, channels, index, words):
    steps = parse_chain(text)
    shapes, error = chain_shapes(steps, (channels, 40, 40), max_pixels=100_000)
    assert error is not None and error.index == index and len(shapes) == index
    for word in words:
        assert word in str(error), (word, str(error))


@pytest.mark.parametrize("text", ["C3k3.X", "C3k3~v1,2", "Sxo1", "R." * 9])
def test_unreadable_text_is_a_chain_error(text):
    try:
        steps = parse_chain(text)
    except ChainError as err:
        assert "step" in str(err) or "at most" in str(err)
        return
    assert isinstance(chain_shapes(steps, (3, 20, 20))[1], ChainError)


def test_prefix_cache_recomputes_only_the_changed_step_and_those_after_it():
    x = photo(3, 48)
    cache, ran = PrefixCache(10**8), []
    base = parse_chain("C3k3p1g3~gaussian@1.R.C3k3p1g3~sobel x.A")
    run_chain(base, x, "img", cache, on_step=ran.append)
    assert ran == [0, 1, 2, 3]
    ran.clear()
    edited = base[:2] + parse_chain("C3k3p1g3~sobel y.A")
    out = run_chain(edited, x, "img", cache, on_step=ran.append)
    assert ran == [2, 3]
    np.testing.assert_array_equal(out[-1], run_chain(edited, x)[-1])
    ran.clear()
    run_chain(base, x, "other image", cache, on_step=ran.append)
    assert ran == [0, 1, 2, 3]


def test_prefix_cache_is_bounded_in_bytes():
    cache = PrefixCache(3 * 4000)
    for i in range(10):
        cache.put(("k", str(i)), np.zeros(1000, np.float32))
    assert cache.bytes <= 12000 and len(cache) == 3 and cache.get(("k", "9")) is not None
    assert cache.get(("k", "0")) is None


def test_psnr():
    a = np.zeros((1, 4, 4))
    assert psnr(a, a) == float("inf")
    assert psnr(a, a + 255) == pytest.approx(0.0)


@pytest.mark.parametrize("kind,stride,padding,output_padding,groups,bias", [
    ("Conv2d", 1, "same", 0, 3, 0.0), ("Conv2d", 2, 1, 0, 1, 12.5), ("ConvTranspose2d", 2, 1, 1, 3, -3.0)])
def test_the_image_labs_layer_as_a_chain_gives_the_same_output(kind, stride, padding, output_padding, groups, bias):
    from convcore.teaching.chain import single_layer_text

    rng = np.random.default_rng(3)
    x = photo(3, 40)
    weight = rng.standard_normal((3, 3 // groups, 3, 3)).astype(np.float32)
    out = run_chain(parse_chain(single_layer_text(kind, weight, stride, padding, output_padding, 1, groups, bias)), x)
    tx, tw = torch.from_numpy(x[None].copy()), torch.from_numpy(weight)
    if kind == "Conv2d":
        ref = torch.nn.functional.conv2d(tx, tw, None, stride, padding, 1, groups)
    else:
        ref = torch.nn.functional.conv_transpose2d(tx, tw, None, stride, padding, output_padding, groups)
    assert_matches(out[-1], (ref + bias)[0])
