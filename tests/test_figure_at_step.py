"""lesson_chart.at_step opens a configuration's figure (built once, at step 0) at any step: it must send exactly the
JSON of the figure built at that step, for every view and every step, and the same object for the same step."""
import numpy as np
import plotly.io as pio
import pytest

from convcore.teaching.trace import trace_conv2d, trace_conv_transpose2d
from convcore.ui import lesson_chart
from convcore.viz import conv2d_figure, is_animated, matrix_figure, scatter_figure, zero_insertion_figure

SIZE = {"max_width": 820, "max_height": 430}
RNG = np.random.default_rng(11)


def arrays(*shapes):
    return [RNG.normal(size=s).astype(np.float32).round(2) for s in shapes]


CONV = {
    "5x5 k3 p1": trace_conv2d(*arrays((1, 1, 5, 5), (1, 1, 3, 3), (1,)), 1, 1),
    "6x5 k(3,2) s(2,1) d(1,2) reflect": trace_conv2d(*arrays((1, 1, 6, 5), (1, 1, 3, 2), (1,)), (2, 1), (1, 1),
                                                    (1, 2), 1, "reflect"),
    "2 channels, same": trace_conv2d(*arrays((1, 2, 5, 5), (2, 2, 3, 3), (2,)), 1, "same", out_channel=1),
}
TRANSPOSED = {
    "3x3 s2 p1": trace_conv_transpose2d(*arrays((1, 1, 3, 3), (1, 1, 3, 3), (1,)), 2, 1),
    "2 channels 3x4 s(2,1) op(1,0) d(1,2)": trace_conv_transpose2d(*arrays((1, 2, 3, 4), (2, 1, 3, 3), (1,)), (2, 1),
                                                                   0, (1, 0), 1, (1, 2)),
}
BUILDS = {f"conv2d {name}": (lambda s, t=t: conv2d_figure(t, s, **SIZE), t.n_steps) for name, t in CONV.items()}
BUILDS.update({f"conv2d {name}, clicked input cell": (lambda s, t=t: conv2d_figure(t, s, focus_input=(1, 2), **SIZE),
                                                      t.n_steps) for name, t in CONV.items()})
for name, t in TRANSPOSED.items():
    BUILDS[f"zero insertion {name}"] = (lambda s, t=t: zero_insertion_figure(t, s, **SIZE), t.zero_insertion.n_steps)
    BUILDS[f"scatter {name}"] = (lambda s, t=t: scatter_figure(t, s, **SIZE), t.scatter.n_steps)
    BUILDS[f"matrix {name}"] = (lambda s, t=t: matrix_figure(t, s, view=t.matrix_view(), **SIZE),
                                t.zero_insertion.n_steps)


def sent_json(fig) -> str:
    return pio.to_json(fig.to_dict(), validate=False)


@pytest.mark.parametrize("name", list(BUILDS))
def test_every_step_sends_the_json_of_the_figure_built_at_that_step(name):
    build, n_steps = BUILDS[name]
    base = lesson_chart.clickable_frames(build(0))
    assert is_animated(base) and n_steps > 1
    for step in range(n_steps):
        direct = sent_json(lesson_chart.clickable_frames(build(step)))
        moved = lesson_chart.at_step(base, step)
        assert sent_json(moved) == direct, f"step {step}"
        assert lesson_chart.at_step(base, step) is moved  # an unrelated rerun sends the very same figure
    assert sent_json(base) == sent_json(lesson_chart.at_step(base, 0))  # the base itself is untouched
    assert not base.built  # plotly's objects were never needed
