"""Placement explorer: GPUs, host RAM, runtime and context → `vramkit.plan.summary` → text + bars."""

from __future__ import annotations

from typing import Any

from ..errors import VramkitError
from ..units import GB

GPU_SETS = (
    "rtx-4090-24gb",
    "rtx-4090-24gb:2",
    "rtx-3090-24gb,rtx-4090-24gb",
    "h100-sxm-80gb",
    "rtx-pro-6000-blackwell-96gb",
    "h200-sxm-141gb:2",
    "mac-studio-m3-ultra-512gb",
)
RAM = ("0GB", "64GB", "128GB", "256GB", "512GB")


def describe(model: str, gpus: str, ram: str, runtime: str, context: int) -> str:
    """The callback's text: fit, bytes per place, flags and bounds (tests call this directly)."""
    try:
        s = summary_for(model, gpus, ram, runtime, context)
    except VramkitError as err:
        return f"vramkit: {err}"
    lines = [f"{s['model']} {s['recipe']} on {s['machine']} ({s['runtime']}): "
             + ("fits" if s["fits"] else "does NOT fit")]  # fmt: skip
    for q in s["places"]:  # type: ignore[attr-defined]
        lines.append(f"  {q['name']:5} {q['total_gb']:8.1f} GB of {q['capacity_gb']:8.1f} GB")
    lines.append(f"decode <= {s['decode_tokens_per_s']:,.1f} tokens/s (upper bound)")
    lines.append(f"flags: {s['flags'] or '-'}")
    return "\n".join(lines)


def summary_for(model: str, gpus: str, ram: str, runtime: str, context: int) -> dict[str, Any]:
    """`vramkit.plan.summary` with the panel's values (RAM '0GB' = none)."""
    from ..plan import summary
    from ..units import parse_size

    return summary(model, gpus=gpus, ram=None if parse_size(ram) == 0 else ram,
                   runtime=runtime, context=context)  # fmt: skip


def panel(
    model: str = "deepseek-v4-flash", gpus: str = "rtx-4090-24gb:2", ram: str = "128GB"
) -> Any:
    """The widget panel (a VBox): controls on top, text + placement bars below."""
    import ipywidgets as w
    from IPython.display import display

    from ..catalog import V4_IDS
    from ..plots import plan as plan_plots
    from ..plots import show

    controls = {
        "model": w.Dropdown(options=list(V4_IDS), value=model, description="model"),
        "gpus": w.Dropdown(options=sorted({*GPU_SETS, gpus}), value=gpus, description="GPUs"),
        "ram": w.Dropdown(options=sorted({*RAM, ram}, key=lambda r: float(r[:-2])), value=ram, description="RAM"),
        "runtime": w.Dropdown(options=["llama.cpp", "ik_llama.cpp", "vllm", "sglang"], description="runtime"),
        "context": w.SelectionSlider(options=[4096, 16384, 32768, 65536, 131072, 262144, 1048576],
                                     value=32768, description="context"),
    }  # fmt: skip

    def update(**kw: Any) -> None:
        print(describe(**kw))
        try:
            s = summary_for(**kw)
        except VramkitError:
            return
        show(plan_plots.placement_bars(s["plan"]))

    out = w.interactive_output(update, controls)
    box = w.VBox([w.HBox(list(controls.values())[:3]), w.HBox(list(controls.values())[3:]), out])
    display(box)
    return box


__all__ = ["GB", "describe", "panel", "summary_for"]
