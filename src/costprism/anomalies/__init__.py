"""Cost anomalies: detection per scope, drivers, security rules, triage and owners.

* :mod:`~costprism.anomalies.detection` finds runs of days whose cost departs from the
  expected value (weekly season, month-start and month-end charges, trend), vectorized
  over every scope at once;
* :mod:`~costprism.anomalies.drivers` explains each one by the services, accounts,
  regions, resources and SKUs whose change made most of the impact;
* :mod:`~costprism.anomalies.security` adds the security rules (first spend in a region or
  service, GPU spend, egress spikes);
* :mod:`~costprism.anomalies.store` keeps them in the metadata database with a stable
  identity, triage states, history and suppressions;
* :mod:`~costprism.anomalies.owners` reads the owners file shared with alert routing.
"""
