"""Figures of the MoE notebook: total vs active bytes, experts touched vs batch, offload bounds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..moe import (
    MoeSplit,
    decode_bound,
    expected_experts_touched,
    offload_gpu_bytes,
    step_read_bytes,
)
from ..units import GB
from . import PALETTE, new_figure


def bytes_bars(split: MoeSplit, *, batch: int, cached_experts: int, ax: Any = None) -> Any:
    """Bars (GB = 1e9 bytes): all weights, active per token, touched by a batch, GPU-resident with
    `cached_experts` experts per layer kept on the GPU. Returns the Figure."""
    fig, ax = new_figure() if ax is None else (ax.figure, ax)
    labels = [
        "all weights",
        "active\n(1 token)",
        f"touched by\nbatch {batch}",
        f"on GPU,\n{cached_experts} experts/layer",
    ]
    values = [
        split.total_bytes,
        split.active_bytes,
        step_read_bytes(split, batch),
        offload_gpu_bytes(split, cached_experts),
    ]
    colors = [PALETTE["weights"], PALETTE["active"], PALETTE["kv"], PALETTE["activations"]]
    bars = ax.bar(labels, [v / GB for v in values], color=colors)
    ax.bar_label(bars, labels=[f"{v / GB:,.1f}" for v in values])
    ax.set_ylim(0, max(values) / GB * 1.12)
    ax.set_ylabel("GB (1e9 bytes)")
    ax.set_title(f"{split.model_id} ({split.recipe_id}): loaded vs active weights")
    return fig


def touched_curve(
    experts: int,
    top_k: int,
    batches: Sequence[int],
    *,
    zipf: Sequence[float] = (0.0,),
    ax: Any = None,
) -> Any:
    """Expected distinct experts per layer vs batch size (log x), one line per skew s."""
    fig, ax = new_figure() if ax is None else (ax.figure, ax)
    for s in zipf:
        ys = [expected_experts_touched(experts, top_k, b, zipf_s=s) for b in batches]
        ax.plot(batches, ys, marker=".", label="uniform" if s == 0 else f"Zipf s = {s:g}")
    ax.axhline(experts, color=PALETTE["overhead"], linestyle="--", label=f"all {experts} experts")
    ax.set_xscale("log", base=2)
    from .ticks import token_axis

    token_axis(ax.xaxis, [b for b in batches if b & (b - 1) == 0][::2] or list(batches))
    ax.set_xlabel("tokens in the batch (log scale)")
    ax.set_ylabel("experts touched per layer")
    ax.set_title(f"Experts touched per layer (E = {experts}, top-{top_k})")
    ax.legend()
    return fig


def offload_speed(
    split: MoeSplit,
    *,
    hbm_bytes_per_s: float,
    links: Mapping[str, float],
    cached: Sequence[int],
    batch: int = 1,
    ax: Any = None,
) -> Any:
    """Decode tokens/s upper bound vs experts per layer kept on the GPU, one line per link
    (name → one-way bytes/s). Log y."""
    fig, ax = new_figure() if ax is None else (ax.figure, ax)
    for name, rate in links.items():
        ys = [
            decode_bound(
                split,
                batch=batch,
                hbm_bytes_per_s=hbm_bytes_per_s,
                cached_experts=c,
                link_bytes_per_s=rate,
            ).tokens_per_s
            for c in cached
        ]
        style = _LINE_STYLES[len(ax.lines) % len(_LINE_STYLES)]
        ax.plot(cached, ys, label=f"{name} ({rate / GB:,.0f} GB/s)", linewidth=1.8, **style)
    ax.set_yscale("log")
    ax.set_xlabel("routed experts per layer kept in GPU memory")
    ax.set_ylabel("decode tokens/s (upper bound)")
    ax.set_title(f"Expert offload: speed-of-light decode bound, batch {batch}")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), title="link (one-way)")
    return fig


_LINE_STYLES = (
    {"marker": "o", "linestyle": "-"},
    {"marker": "s", "linestyle": "--", "markerfacecolor": "none"},
    {"marker": "^", "linestyle": "-."},
    {"marker": "D", "linestyle": ":", "markerfacecolor": "none"},
)
"""Distinct marker and dash per line, so lines that coincide (two links of equal bandwidth)
stay visible on top of each other."""


def step_bytes(split: MoeSplit, *, batch: int, zipf_s: float = 0.0, ax: Any = None) -> Any:
    """Linear bars (GB = 1e9 bytes, axis from 0): the weights that must be resident (every
    expert: the next step may route anywhere), what one token reads (active) and what one decode
    step of `batch` tokens reads (`step_read_bytes`: dense + experts touched); each labelled with
    its multiple of the active bytes. A linear axis shows the gap as tall as it is (12.7× for
    V4-Flash official). Returns the Figure."""
    fig, ax = new_figure(figsize=(6.4, 4.2)) if ax is None else (ax.figure, ax)
    read = step_read_bytes(split, batch, zipf_s=zipf_s)
    values = [split.total_bytes, split.active_bytes, read]
    labels = [
        "must be resident\n(every expert)",
        "one token reads\n(active)",
        f"batch {batch}\nreads",
    ]
    colors = [PALETTE["weights"], PALETTE["active"], PALETTE["kv"]]
    bars = ax.bar(labels, [v / GB for v in values], color=colors, width=0.6)
    ax.bar_label(
        bars,
        labels=[f"{v / GB:,.1f} GB\n{v / split.active_bytes:.1f}× active" for v in values],
        fontsize=9,
    )
    ax.set_ylim(0, split.total_bytes / GB * 1.22)
    ax.set_ylabel("GB (1e9 bytes), linear scale")
    skew = "uniform routing" if zipf_s == 0 else f"Zipf s = {zipf_s:g}"
    ax.set_title(f"{split.model_id}: resident vs read per step ({skew})", fontsize=10)
    return fig


def batch_step(
    split: MoeSplit, *, batch: int, zipf_s: float = 0.0, batches: Sequence[int] = ()
) -> Any:
    """The MoE panel's figure: experts touched per layer vs batch (`touched_curve`, a line at
    `batch`) beside `step_bytes` (linear). `batches` defaults to 1, 2, 4 … 4096. Uses the first
    MoE layer's shape (E, top_k). Returns the Figure."""
    fig, (left, right) = new_figure(1, 2, figsize=(12.0, 4.4), layout="constrained")
    layer = split.layers[0]
    xs = list(batches) or [2**i for i in range(13)]
    zipf = (0.0,) if zipf_s == 0 else (0.0, zipf_s)
    touched_curve(layer.experts, layer.top_k, xs, zipf=zipf, ax=left)
    left.axvline(batch, color="black", linewidth=0.8)
    left.set_title(
        f"Experts touched per layer (E = {layer.experts}, top-{layer.top_k})", fontsize=10
    )
    step_bytes(split, batch=batch, zipf_s=zipf_s, ax=right)
    return fig
