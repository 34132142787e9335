"""lambda_min of the batch covariance with its gradient: inverse iteration vs svdvals vs eigvalsh, p in
{2, 3, 10, 50}, B in {100, 1000}, float32, errors against a float64 numpy reference; side by side in one process.

    python benchmarks/bench_spectral.py [--quick] [--threads 1] [--repeats 5] [--json PATH]
"""
from __future__ import annotations

import sys

from bench_common import script_main, summary, timed


def _spectral_methods():
    from cae_core.spectral import centred, covariance, lambda_min, min_singular_value

    def svdvals(z):
        return min_singular_value(centred(z), "svdvals") ** 2 / (z.shape[0] - 1)

    def eigvalsh(z):
        return lambda_min(covariance(z), "eigvalsh")

    def inverse_iteration(z):
        return lambda_min(covariance(z), "inverse_iteration")
    return {"inverse_iteration": inverse_iteration, "svdvals": svdvals, "eigvalsh": eigvalsh}


def bench_spectral(quick: bool, repeats: int, device="cpu", tol: float = 1e-3) -> dict:
    """Time value + gradient of lambda_min(V) in float32 for each method; compare value and gradient with a
    float64 reference (numpy eigh of V: lambda_min and its gradient (2/(B-1)) B_c v v^T). ``tol``: relative
    error allowed in float32 (eps 6e-8 times the condition number of V, ~10-100 here, with a wide margin)."""
    import numpy as np
    import torch
    methods = _spectral_methods()
    ps, Bs = ((2, 3), (100,)) if quick else ((2, 3, 10, 50), (100, 1000))
    inner = 5 if quick else 20
    rows = []
    for B in Bs:
        for p in ps:
            gen = torch.Generator().manual_seed(B * 100 + p)
            z64 = torch.randn(B, p, generator=gen, dtype=torch.float64) @ torch.diag(
                torch.linspace(1.0, 3.0, p, dtype=torch.float64))
            c = (z64 - z64.mean(0)).numpy()
            w, v = np.linalg.eigh(c.T @ c / (B - 1))
            ref_val, ref_grad = w[0], 2.0 / (B - 1) * c @ np.outer(v[:, 0], v[:, 0])
            z32 = z64.to(device=device, dtype=torch.float32)
            row = {"B": B, "p": p, "methods": {}}
            for name, fn in methods.items():
                z = z32.clone().requires_grad_(True)
                value = fn(z)
                value.backward()
                err_val = abs(float(value.detach()) - ref_val) / abs(ref_val)
                err_grad = float(np.abs(z.grad.cpu().numpy() - ref_grad).max() / np.abs(ref_grad).max())

                def once():
                    for _ in range(inner):
                        zz = z32.clone().requires_grad_(True)
                        fn(zz).backward()
                ts = [timed(once, device) / inner for _ in range(repeats)]
                row["methods"][name] = {"seconds": summary(ts), "rel_err_value": err_val,
                                        "rel_err_grad": err_grad,
                                        "correct": bool(err_val <= tol and err_grad <= tol)}
            correct = {n: m for n, m in row["methods"].items() if m["correct"]}
            row["fastest_correct"] = min(correct, key=lambda n: correct[n]["seconds"]["median"]) if correct else None
            rows.append(row)
    wins = [r["fastest_correct"] for r in rows]
    return {"dtype": "float32", "tol": tol, "rows": rows,
            "fastest_overall": max(set(wins), key=wins.count) if any(wins) else None}


def rows(sp: dict) -> list[tuple[str, str, str, str]]:
    """Table rows of :func:`bench_spectral`'s result."""
    out = []
    for r in sp["rows"]:
        cells = ", ".join(f"{n} {1e3 * m['seconds']['median']:.3g}" + ("" if m["correct"] else "(wrong)")
                          for n, m in r["methods"].items())
        out.append((f"spectral: B={r['B']} p={r['p']} (ms)", cells, f"fastest: {r['fastest_correct']}", ""))
    return out


if __name__ == "__main__":
    sys.exit(script_main("spectral", bench_spectral, rows, __doc__))
