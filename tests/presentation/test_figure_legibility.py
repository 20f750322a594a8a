"""Every figure the notebooks show, drawn and measured (issue 17): no two texts overlap (tick
labels, titles, axis labels, bar labels, annotations, legend entries, colour-bar labels), no
legend covers a text, token axes read 1K … 1M, log axes carry plain numbers, one unit system per
figure, the heatmap's numbers contrast with their cells."""

from __future__ import annotations

import itertools
import re

import pytest

mpl = pytest.importorskip("matplotlib")

from vramkit import budget, plots  # noqa: E402
from vramkit.article import headline  # noqa: E402
from vramkit.plots import fit as fit_plots  # noqa: E402
from vramkit.plots import kv as kv_plots  # noqa: E402
from vramkit.plots import moe as moe_plots  # noqa: E402
from vramkit.plots import quant as quant_plots  # noqa: E402
from vramkit.plots.ticks import fmt_tokens  # noqa: E402

FLASH = "deepseek-v4-flash"


def _headline():
    return headline.headline()


def _figures():
    """name → builder of every notebook figure, with the notebooks' default inputs."""
    from vramkit import anatomy, moe
    from vramkit.article import audit
    from vramkit.catalog import V4_IDS, get_model
    from vramkit.hardware import get_gpu, get_link

    split = moe.moe_split(get_model(FLASH), "deepseek-v4-official")
    gpu = get_gpu("rtx-pro-6000-blackwell-96gb")
    links = ["pcie-gen5-x16", "nvlink-c2c-900", "ddr5-4800-12ch-epyc9004", "nvme-gen5-t705"]
    assumptions = audit.BudgetAssumptions(32768, 131072, runtime="vllm")
    return {
        "budget_bar": lambda: fit_plots.budget_bar(
            budget.budget(FLASH, "h200-sxm-141gb", count=2, context=32768)
        ),
        "heatmap": lambda: fit_plots.min_gpus_heatmap(
            budget.fit_grid(
                list(V4_IDS), ["official", "gguf-Q4_K_M"], [8192, 131072, 1048576], "h200-sxm-141gb"
            ),
            gpu="h200-sxm-141gb",
        ),
        "kv_growth": lambda: kv_plots.growth(
            [
                "deepseek-v4-flash",
                "deepseek-v4-pro",
                "deepseek-v3.2",
                "deepseek-v3",
                "gemma-4-31b",
                "llama-3.1-70b",
            ]
        ),
        "kv_breakdown": lambda: kv_plots.breakdown(
            "deepseek-v4-pro", [4096, 65536, 262144, 1048576]
        ),
        "moe_bytes": lambda: moe_plots.bytes_bars(split, batch=32, cached_experts=32),
        "moe_touched": lambda: moe_plots.touched_curve(
            256, 6, [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024], zipf=(0.0, 1.0)
        ),
        "moe_step_bytes": lambda: moe_plots.step_bytes(split, batch=32),
        "moe_panel": lambda: moe_plots.batch_step(split, batch=32, zipf_s=1.0),
        "moe_panel_4k": lambda: moe_plots.batch_step(split, batch=4096, zipf_s=2.0),
        "moe_offload": lambda: moe_plots.offload_speed(
            split,
            hbm_bytes_per_s=gpu.bandwidth_bytes_per_s,
            links={n: get_link(n).one_way_bytes_per_s for n in links},
            cached=[0, 8, 16, 32, 64, 128, 192, 256],
        ),
        "bits_anatomy": lambda: quant_plots.bits_anatomy(anatomy.anatomy_table()),
        "variants": lambda: quant_plots.variants_by_recipe(
            {m: audit.first_principles_table(m, assumptions=assumptions) for m in V4_IDS}
        ),
        "article_vs_kit": lambda: quant_plots.article_vs_kit(audit.article_diff(assumptions)),
        "weights_by_recipe": lambda: plots.summary.weights_by_recipe(_headline()),
        "active_vs_resident": lambda: plots.summary.active_vs_resident(_headline()),
    }


FIGURES = list(_figures())


def _texts(fig):
    """(label, bbox) of every visible non-empty text artist, after a draw."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)  # what savefig renders with; measures text in pixels
    canvas.draw()
    renderer = canvas.get_renderer()
    found = []
    for t in fig.findobj(mpl.text.Text):
        if not t.get_visible() or not t.get_text().strip():
            continue
        bb = t.get_window_extent(renderer)
        if bb.width < 1 or bb.height < 1:
            continue
        found.append((t, bb))
    return found, renderer


def _overlap(a, b, tol: float = 1.0) -> bool:
    return min(a.x1, b.x1) - max(a.x0, b.x0) > tol and min(a.y1, b.y1) - max(a.y0, b.y0) > tol


@pytest.fixture(scope="module")
def drawn():
    plots.use_style()
    builders = _figures()
    return {name: builders[name]() for name in FIGURES}


@pytest.mark.parametrize("name", FIGURES)
def test_no_two_texts_overlap(drawn, name) -> None:
    fig = drawn[name]
    texts, _ = _texts(fig)
    clashes = [
        (a.get_text()[:30], b.get_text()[:30])
        for (a, ba), (b, bb) in itertools.combinations(texts, 2)
        if _overlap(ba, bb)
    ]
    assert clashes == []


@pytest.mark.parametrize("name", FIGURES)
def test_no_legend_covers_a_text(drawn, name) -> None:
    fig = drawn[name]
    texts, renderer = _texts(fig)
    legends = [lg for ax in fig.axes if (lg := ax.get_legend()) is not None]
    covered = []
    for lg in legends:
        box = lg.get_window_extent(renderer)
        own = set(lg.get_texts()) | {lg.get_title()}
        covered += [t.get_text()[:30] for t, bb in texts if t not in own and _overlap(box, bb)]
    assert covered == []


@pytest.mark.parametrize("name", FIGURES)
def test_one_unit_system_per_figure(drawn, name) -> None:
    labels = " ".join(
        t.get_text() for ax in drawn[name].axes for t in (ax.xaxis.label, ax.yaxis.label)
    )
    has_gb = re.search(r"\bGB\b", labels) is not None
    has_gib = re.search(r"\bGiB\b", labels) is not None
    assert not (has_gb and has_gib), labels


@pytest.mark.parametrize("name", ["kv_growth", "kv_breakdown", "heatmap", "moe_touched"])
def test_token_ticks_are_human(drawn, name) -> None:
    ax = drawn[name].axes[0]
    ticks = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert ticks
    for t in ticks:
        assert re.fullmatch(r"\d+(\.\d+)?[KM]?", t), ticks  # 1K … 1M, never 2^10 or '1,024K'
    if name == "kv_growth":
        assert "1M" in ticks
        assert "1K" in ticks


def test_fmt_tokens() -> None:
    assert [fmt_tokens(n) for n in (100, 1024, 1536, 131072, 1048576, 4 * 2**20)] == [
        "100", "1K", "1.5K", "128K", "1M", "4M",
    ]  # fmt: skip


@pytest.mark.parametrize("name", ["variants", "article_vs_kit"])
def test_log_axes_read_plain_numbers(drawn, name) -> None:
    ax = drawn[name].axes[0]
    ticks = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert len(ticks) >= 4, ticks  # more than the bare 10^2 and 10^3
    assert all(re.fullmatch(r"[\d,]+(\.\d+)?", t) for t in ticks), ticks


def test_heatmap_has_a_colour_bar_and_contrasting_numbers(drawn) -> None:
    from vramkit.plots.fit import text_colour

    fig = drawn["heatmap"]
    assert len(fig.axes) == 2  # the map and its colour bar
    assert fig.axes[1].get_ylabel() == "GPUs (log scale)"
    image = fig.axes[0].images[0]
    for t in fig.axes[0].texts:
        if t.get_text() == "-":
            continue
        x, y = t.get_position()
        rgba = image.cmap(image.norm(image.get_array()[round(y), round(x)]))
        assert t.get_color() == text_colour(rgba)
    # WCAG: black on white and white on black; the threshold sits at luminance 0.179
    assert text_colour((1.0, 1.0, 1.0)) == "black"
    assert text_colour((0.0, 0.0, 0.0)) == "white"
    assert text_colour((1.0, 1.0, 0.0)) == "black"  # yellow
    assert text_colour((0.27, 0.0, 0.33)) == "white"  # viridis purple


def test_budget_bar_is_in_gib_everywhere(drawn) -> None:
    b = budget.budget(FLASH, "h200-sxm-141gb", count=2, context=32768)
    for fig in (drawn["budget_bar"], plots.summary.budget_bars(b)):
        assert "GiB" in fig.axes[0].get_xlabel()
