"""Forecasting models: daily forecasts with prediction intervals, and their sums to periods.

No I/O here: :mod:`costprism.capabilities.forecast` reads the ledger and calls these.
"""

from costprism.forecasting.aggregate import period_end, period_start, period_totals, sum_sigma
from costprism.forecasting.models import Series, SeriesForecast, forecast_series

__all__ = [
    "Series",
    "SeriesForecast",
    "forecast_series",
    "period_end",
    "period_start",
    "period_totals",
    "sum_sigma",
]
