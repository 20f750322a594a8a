"""vramkit.article.quick_summary and the fit widget's callback."""

from __future__ import annotations

from vramkit.article.quick_summary import quick_summary
from vramkit.widgets.fit import describe


def test_quick_summary_rows_follow_the_article() -> None:
    rows = quick_summary()
    assert [r.vram_text for r in rows] == [
        "24GB",
        "48GB",
        "80GB",
        "128GB",
        "192GB",
        "256GB",
        "512GB",
        "1TB+",
        "2TB+",
    ]
    by = {r.vram_text: r for r in rows}
    # Flash Q2_K weights ≈ 103 GB > 80 GB: nothing of V4 fits below 128 GB (the article agrees)
    assert by["80GB"].kit_fits == "no V4 variant"
    # the official Flash (156.0 GB main weights + 32K KV + llama.cpp overhead ≈ 158 GB) fits 192 GB,
    # where the article still calls it 'FP8 … more comfortable'
    assert "Flash official" in by["192GB"].kit_fits
    assert "Pro official" in by["1TB+"].kit_fits
    assert all(r.reason for r in rows)


def test_widget_callback_text() -> None:
    text = describe(
        "deepseek-v4-flash", "deepseek-v4-official", "h200-sxm-141gb", 2, 32768, 1, "tp", "vllm"
    )
    assert "fits" in text
    assert "GiB usable per GPU" in text
    assert describe(
        "deepseek-v4-flash", "deepseek-v4-official", "h200-sxm-141gb", 2, 0, 1, "tp", "vllm"
    ).startswith("vramkit:")


def test_quick_summary_rows_against_the_article() -> None:
    from vramkit.article.quick_summary import quick_summary

    rows = {r.vram_text: r for r in quick_summary()}
    # 80 GB: the article suggests "V4-Flash Q2/Q3"; the smallest real Flash file, antirez's
    # ~2.4-bit ds4-q2 recipe, is 86.8 GB of weights (80.8 GiB published), so nothing fits
    assert rows["80GB"].kit_fits == "no V4 variant"
    assert rows["80GB"].reason.startswith("disagrees")
    assert rows["24GB"].reason.startswith("agrees")
    # 192 GB: the released Flash (156.0 GB of weights, FP4 experts) fits with KV and overhead
    assert rows["192GB"].kit_fits.startswith("Flash official")
    # 512 GB is read as the Mac Studio M3 Ultra, unified: Metal's working set (430 GB), so
    # Pro's smallest mix (ds4-q2, 464.8 GB of weights, the input embedding of which llama.cpp
    # keeps in host RAM, + KV + its compute buffer + overhead = 464 GB on the device in the
    # planner's plan, the 1 GiB margin kept apart) needs the whole pool; the row says so. A
    # Q4_K_M Pro is 951.5 GB.
    assert "Pro" not in rows["512GB"].kit_fits
    assert "Pro ds4-q2 (464 GB)" in rows["512GB"].reason
    assert "would need the whole pool" in rows["512GB"].reason
    assert "Pro official" in rows["1TB+"].kit_fits
