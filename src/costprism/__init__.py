"""CostPrism: every provider's bill in one FOCUS ledger, a workspace per FinOps role."""

__version__ = "0.1.0"
