"""Capabilities: what CostPrism can answer, as functions over an open ledger.

Every edge (CLI, API, web) calls these; none of them filters by scope itself — they pass
the caller's scope to :mod:`costprism.engine`, which applies it.
"""
