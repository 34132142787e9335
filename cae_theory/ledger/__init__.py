"""Machinery of the ledger: claims and verdicts, decision procedures, search, solver, report."""
