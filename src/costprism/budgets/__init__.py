"""Budgets as data: the YAML definition and its checks (:mod:`~costprism.budgets.spec`) and
the periods a budget follows (:mod:`~costprism.budgets.periods`). The figures (budget vs
actual vs forecast) are :mod:`costprism.capabilities.budgets`."""
