"""Model types vramkit recognises but does not count: the error says why, from sourced data."""

from __future__ import annotations

import pytest

from vramkit.errors import VramkitError
from vramkit.model.configfile import model_from_config, not_counted


def test_deepseek_v41_is_refused_with_the_sourced_gap():
    cfg = {"model_type": "deepseek_v41", "text_config": {"model_type": "deepseek_v41"}}
    with pytest.raises(VramkitError, match=r"DeepSeek-V4\.1-Flash") as err:
        model_from_config(cfg)
    assert "will not guess" in str(err.value)


def test_every_not_counted_type_is_really_not_counted():
    from vramkit.families import model_types

    gaps = not_counted()
    assert "deepseek_v41" in gaps
    assert not set(gaps) & set(model_types())


def test_llama4_left_the_not_counted_list_for_its_family():
    # Llama 4 is counted since issue 14 (vramkit/families/llama4.py)
    from vramkit.families import family_of_model_type

    assert "llama4" not in not_counted()
    assert family_of_model_type("llama4").name == family_of_model_type("llama4_text").name
