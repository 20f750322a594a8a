"""The inter-node link in the speed bound of a multi-node plan (issue 25 item 5), every byte
pinned to arithmetic written out here (vramkit.plan.network)."""

from __future__ import annotations

import json

import pytest

from vramkit.catalog import get_model
from vramkit.cli import main
from vramkit.hardware import get_link
from vramkit.plan import build_machine, plan_for, plan_speed
from vramkit.plan.layers import layer_costs
from vramkit.plan.network import internode_step

PRO = get_model("deepseek-v4-pro")
# deepseek-ai/DeepSeek-V4-Pro config.json: hidden_size 7168, num_hidden_layers 61 (every layer
# MoE), num_experts_per_tok 6
HIDDEN, LAYERS, TOP_K = 7168, 61, 6


def _plan(gpus: str, **kw):
    m = build_machine([gpus])
    return plan_for(PRO, m, runtime="sglang", context=32768, **kw), m


def test_one_node_sends_nothing():
    p, _ = _plan("h200:8")
    n = internode_step(p, PRO, layer_costs(PRO, p.recipe_id))
    assert n.nodes == 1
    assert n.bytes_per_gpu == 0
    assert n.seconds == 0.0


def test_two_nodes_tp16_with_experts_in_parallel():
    p, _ = _plan("h200:16", sequences=4)
    assert (p.knobs["tp"], p.knobs["ep"]) == (16, True)
    n = internode_step(p, PRO, layer_costs(PRO, p.recipe_id))
    s = 4 * HIDDEN * 2  # 4 tokens' hidden states in bf16: 57,344 bytes
    # TP all-reduce, hierarchical over 2 nodes: 61 layers x 2 x 2(2-1)/2 x S / 8 GPUs a node
    assert n.bytes_by_cause["tensor parallel all-reduce"] == LAYERS * 2 * 1 * s // 8 == 874_496
    # EP dispatch + combine: 61 x 2 x top-6 x S x 1/2 off-node, over 16 NICs
    assert n.bytes_by_cause["expert parallel dispatch + combine"] == (
        LAYERS * 2 * TOP_K * s // 2 // 16
    )
    # one 400 Gb/s NDR port a GPU: 50e9 bytes/s
    assert get_link("ib-ndr-400").one_way_bytes_per_s == 400e9 / 8
    assert n.seconds == pytest.approx(n.bytes_per_gpu / 50e9)


def test_bound_is_never_faster_than_the_network():
    # t = max(reads, network): a step can be no shorter than its NIC time
    p, m = _plan("h200:16", sequences=64)
    sp = plan_speed(p, m, model=PRO)
    n = internode_step(p, PRO, layer_costs(PRO, p.recipe_id))
    assert sp.internode_bytes == n.bytes_per_gpu > 0
    assert sp.decode_step_seconds >= n.seconds


def test_plan_json_and_note_say_so(capsys):
    argv = ["plan", "--model", "deepseek-v4-pro", "--gpu", "h200:16", "--runtime", "sglang",
            "--context", "32768", "--sequences", "4", "--json"]  # fmt: skip
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["nodes"] == 2
    assert out["speed"]["internode_bytes_per_gpu"] > 0
    notes = json.dumps(out)
    assert "ib-ndr-400's line rate" in notes
    assert "does not model that link" not in notes
