"""Smoke test of the benchmarks (benchmarks/bench_*.py) and of ``cae bench``, their front, at tiny size. No timing assertions: timings are measured,
never asserted; what is asserted is the arithmetic the benchmark reports (FLOPs per step against a hand count
from the layer widths, medians, the JSON it writes) and its handling of bad options."""
from __future__ import annotations

import json

import pytest

from cae_cli.bench import benchmark_module
from cae_cli.main import main

bench = benchmark_module("bench_common")
bench_sweep = benchmark_module("bench_sweep")


def linear_flops(widths, B):
    """Matmul FLOPs of one training step of a dense stack with these widths on B rows (hand count): forward
    2*B*in*out per layer; backward 2*B*in*out for the weight gradient of every layer and 2*B*in*out for the
    input gradient of every layer except the first (its input, the data, needs no gradient)."""
    layers = list(zip(widths[:-1], widths[1:]))
    return sum(2 * B * a * b * 3 for a, b in layers) - 2 * B * layers[0][0] * layers[0][1]


def test_flops_per_step_matches_hand_count_from_widths():
    """FlopCounterMode's count (torch) equals the hand count for the --quick Patch-seq model: T arm 40 inputs,
    4 x 60, d = 3; E arm 8 inputs, 4 x 50; batch 100 (encoder and decoder of each arm; the decoder's input,
    the code, does need its gradient, so only the encoder's first layer is 2x instead of 3x), plus the one
    matmul in the backward of each arm's svdvals (the msv denominator)."""
    import torch
    data = bench.patchseq_data(quick=True)
    torch.manual_seed(0)
    model = bench.patchseq_builder(data)()
    step = bench.plain_loop(model, data)
    B = 100
    t_enc, t_dec = (40, 60, 60, 60, 60, 3), (3, 60, 60, 60, 60, 40)
    e_enc, e_dec = (8, 50, 50, 50, 50, 3), (3, 50, 50, 50, 50, 8)
    expected = (linear_flops(t_enc, B) + linear_flops(e_enc, B)
                + sum(2 * B * a * b * 3 for w in (t_dec, e_dec) for a, b in zip(w[:-1], w[1:]))
                + 2 * (2 * B * 3 * 3))  # svdvals' backward, U diag(g) V^T: one (B, p) x (p, p) product per arm
    assert bench.flops_per_step(step) == expected


def test_summary_is_median_and_spread():
    s = bench.summary([3.0, 1.0, 2.0, 10.0])
    assert (s["median"], s["min"], s["max"], s["n"]) == (2.5, 1.0, 10.0, 4)


def test_quick_sweep_matches_sequential_and_reports_speedup():
    """Quick sweep section: 4 lam x 2 seeds, 5 steps, float32. The logged losses of the vectorised sweep equal
    the sequential fits to 1e-4 relative (float32 eps 6e-8 per operation, amplified over 5 Adam steps; a wrong
    batch or dropout stream differs at O(1e-2) or more)."""
    for out in bench_sweep.bench_sweep(quick=True, repeats=1).values():
        assert out["max_rel_diff_logged_losses_float32"] <= 1e-4
        assert out["speedup"] > 0 and out["n_seeds"] == 2 and len(out["lams"]) == 4


def test_cli_quick_writes_json_and_table(tmp_path, capsys):
    path = tmp_path / "bench.json"
    assert main(["bench", "--quick", "--only", "train", "spectral", "--repeats", "1", "--json", str(path)]) == 0
    doc = json.loads(path.read_text())
    assert {"machine", "train", "spectral"} <= set(doc)
    assert doc["machine"]["torch_threads"] >= 1 and doc["machine"]["loadavg_end"] is not None
    t = doc["train"]
    assert set(t["steps_per_s"]) == {"plain", "plain_torch_dropout", "plain_fused_adam", "fit", "fit_log_every_end"}
    # the same quotient of the same two stored medians: equal, not close
    assert t["fit_vs_plain"] == t["steps_per_s"]["fit"]["median"] / t["steps_per_s"]["plain"]["median"]
    assert all(v >= 0 for v in t["peak_memory_mb"].values())
    for row in doc["spectral"]["rows"]:
        assert set(row["methods"]) == {"inverse_iteration", "svdvals", "eigvalsh"}
        # all three are correct here (well-conditioned V), so some method is the fastest correct one
        assert all(m["correct"] for m in row["methods"].values())
    assert "fit (default settings, 2000 steps) / plain" in capsys.readouterr().out
    c = t["fit_call"]                      # the set-up amortised over a call of fit's default length (arithmetic)
    plain_step = 1 / t["steps_per_s"]["plain"]["median"]
    # the bench's own expression on the same stored floats (JSON round-trips them exactly): equal, not close
    assert c["fit_vs_plain_at_default_steps"] == 2000 * plain_step / (c["setup_seconds"] + 2000 * c["step_seconds"])


@pytest.mark.parametrize("argv, message", [
    (["--repeats", "0"], "--repeats"),
    (["--threads", "0"], "--threads"),
    (["--device", "nonsense"], "--device"),
])
def test_cli_bad_options(tmp_path, capsys, argv, message):
    assert main(["bench", "--quick", "--only", "spectral", "--json", str(tmp_path / "b.json"), *argv]) == 2
    assert message in capsys.readouterr().err


def test_cli_json_directory_is_an_error(tmp_path, capsys):
    assert main(["bench", "--quick", "--only", "spectral", "--json", str(tmp_path)]) == 2
    assert "directory" in capsys.readouterr().err


def test_gemm_floor_times_exactly_the_products_torch_counts():
    """The matmul-only ceiling (bench.gemm_floor) times the products of bench.step_gemms; their FLOPs must be
    FlopCounterMode's count of a real training step minus the svdvals backward's two (B, p) x (p, p) products
    (oracle: torch's counter, itself checked against the hand count above). Batched form: runs x that."""
    import torch
    data = bench.patchseq_data(quick=True)
    torch.manual_seed(0)
    model = bench.patchseq_builder(data)()
    counted = bench.flops_per_step(bench.plain_loop(model, data))
    assert sum(2 * m * k * n for m, k, n in bench.step_gemms(model, 100)) == counted - 2 * (2 * 100 * 3 * 3)
    one = bench.gemm_floor(model, 100, repeats=1, inner=1)
    many = bench.gemm_floor(model, 100, runs=3, repeats=1, inner=1)
    assert many["flops"] == 3 * one["flops"] and one["seconds_per_step"] > 0 and many["run_steps_per_s"] > 0


def test_with_torch_dropout_swaps_every_dropout_layer():
    from torch import nn

    from cae_core.dropout import Dropout
    data = bench.patchseq_data(quick=True)
    model = bench.with_torch_dropout(bench.patchseq_builder(data)())
    kinds = [type(m) for m in model.modules()]
    assert Dropout not in kinds and kinds.count(nn.Dropout) == 2
    assert [m.p for m in model.modules() if isinstance(m, nn.Dropout)] == [0.5, 0.1]
