"""The blueprint: every claim of the supplement, section by section, in the supplement's order.

Each section module registers its claims where it checks them (``CLAIMS``, in print order); this module only
collects them, by plain imports. Reading order of the supplement -> module:

- Definition of the k-CAE, Eq. 1 and the assumptions below it ........ :mod:`cae_theory.definition`
- Remark and Eq. 2 ..................................................... :mod:`cae_theory.prop1.remark`
- Proposition 1 (statement, its hypotheses at their edges) ............ :mod:`cae_theory.prop1.statement`
- Proof of Prop. 1, Eqs. 3-4 and the closing sentence ................. :mod:`cae_theory.prop1.shrink`
- mu_i, V_i, W_ij, W and the Definition of the k-CBNAE ................ :mod:`cae_theory.prop2.notation`
- Proposition 2 (statement, its hypotheses at their edges) ............ :mod:`cae_theory.prop2.statement`
- Proof of Prop. 2: n, b, gamma and Eqs. 5-8 .......................... :mod:`cae_theory.prop2.eqs5_8`
- Eqs. 9-15: D_i, M_i and the new statistics .......................... :mod:`cae_theory.prop2.construction`
- Eqs. 16-22: Gamma_1 ................................................. :mod:`cae_theory.prop2.gamma1`
- Eqs. 23-31: Gamma_2 ................................................. :mod:`cae_theory.prop2.gamma2`
- Eqs. 32-39: the new coupling and the quadratic Q .................... :mod:`cae_theory.prop2.new_coupling`
- Eqs. 40-43: the coordinate gap and the closing sentence ............. :mod:`cae_theory.prop2.gap`
- Calculation of the minimum singular value, Algorithm 1 .............. :mod:`cae_theory.algorithm1`
"""
from __future__ import annotations

from cae_theory import algorithm1, definition
from cae_theory.ledger.claims import Claim
from cae_theory.prop1 import remark, shrink
from cae_theory.prop1 import statement as prop1_statement
from cae_theory.prop2 import construction, eqs5_8, gamma1, gamma2, gap, new_coupling, notation, statement

SECTIONS = (definition, remark, prop1_statement, shrink, notation, statement, eqs5_8, construction, gamma1, gamma2,
            new_coupling, gap, algorithm1)


def all_claims() -> list[Claim]:
    """Every claim, in the supplement's order. Ids are unique; every id a claim ``uses`` exists."""
    claims = [c for section in SECTIONS for c in section.CLAIMS]
    ids = [c.id for c in claims]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise RuntimeError(f"duplicate claim ids in the ledger: {dupes}")
    return claims


__all__ = ["SECTIONS", "all_claims"]
