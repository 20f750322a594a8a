"""GPU-fit explorer: dropdowns and sliders → `vramkit.budget.budget` (the planner's plan and
verdict for these GPUs) → a table and a bar."""

from __future__ import annotations

from typing import Any

from ..budget import PARALLEL, budget, candidate_recipes
from ..catalog import V4_IDS
from ..errors import VramkitError
from ..hardware import gpus
from ..runtimes import runtimes
from ..units import GiB
from . import set_options_keeping


def describe(
    model: str,
    recipe: str,
    gpu: str,
    count: int,
    context: int,
    batch: int,
    parallel: str,
    runtime: str,
) -> str:
    """The callback's text: per-GPU bytes and the verdict (tests call this directly)."""
    try:
        b = budget(
            model,
            gpu,
            recipe=recipe,
            count=count,
            context=context,
            batch=batch,
            parallel=parallel,
            runtime=runtime,
        )
    except VramkitError as err:
        return f"vramkit: {err}"
    verdict = (
        b.verdict.headline if b.verdict is not None else ("fits" if b.fits else "does NOT fit")
    )  # type: ignore[attr-defined]
    lines = [
        f"{b.model_id} {b.recipe_id} on {b.count} x {b.gpu_id} ({b.layout or b.parallel}, "
        f"{b.runtime_id}): {verdict}",
        f"weights {b.weights_bytes / GiB:,.1f} GiB + KV {b.kv_bytes / GiB:,.1f} GiB + workspace "
        f"{b.workspace_bytes / GiB:,.1f} GiB + overhead {b.overhead_bytes / GiB:,.1f} GiB = "
        f"{b.total_bytes / GiB:,.1f} GiB of {b.usable_bytes / GiB:,.1f} GiB usable per GPU "
        "(GiB = 2**30 bytes)",
    ]
    return "\n".join(lines)


def panel(model: str = V4_IDS[0], gpu: str = "h200-sxm-141gb") -> Any:
    """The widget panel (a VBox): controls on top, text + budget bar below."""
    import ipywidgets as w
    from IPython.display import display

    from ..plots import fit as fit_plots
    from ..plots import show

    controls = {
        "model": w.Dropdown(options=list(V4_IDS), value=model, description="model"),
        "recipe": w.Dropdown(options=candidate_recipes(model), description="recipe"),
        "gpu": w.Dropdown(options=list(gpus()), value=gpu, description="GPU"),
        "count": w.Dropdown(options=[1, 2, 4, 8, 16, 24, 32, 64], value=8, description="count"),
        "context": w.IntSlider(
            value=32768, min=1024, max=1_048_576, step=1024, description="context"
        ),
        "batch": w.IntSlider(value=1, min=1, max=256, description="batch"),
        "parallel": w.ToggleButtons(options=list(PARALLEL), description="parallel"),
        "runtime": w.Dropdown(options=list(runtimes()), value="vllm", description="runtime"),
    }

    def update(**kw: Any) -> None:
        print(describe(**kw))
        try:
            b = budget(
                kw["model"], kw["gpu"], **{k: v for k, v in kw.items() if k not in ("model", "gpu")}
            )
        except VramkitError:
            return
        show(fit_plots.budget_bar(b))

    def on_model(change: dict[str, Any]) -> None:
        options = candidate_recipes(change["new"])
        set_options_keeping(controls["recipe"], options, options[0])

    controls["model"].observe(on_model, names="value")
    out = w.interactive_output(update, controls)
    box = w.VBox([w.HBox(list(controls.values())[:4]), w.HBox(list(controls.values())[4:]), out])
    display(box)
    return box
