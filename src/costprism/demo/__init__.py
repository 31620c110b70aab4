"""The Northwind Analytics demo: a fictional company's multi-cloud FOCUS 1.2 bills.

``generate(out, DemoSpec(...))`` writes daily cost files for AWS, Microsoft Azure,
Google Cloud and a SaaS observability vendor, with commitment discounts, credits, tax,
marketplace charges, untidy tags and a few injected anomalies (``anomalies.json``).
"""

from costprism.demo.generator import DemoResult, DemoSpec, InjectedAnomaly, generate

__all__ = ["DemoResult", "DemoSpec", "InjectedAnomaly", "generate"]
