import json
from pathlib import Path

from costprism.capabilities.quarantine import quarantined_rows
from costprism.ingest.pipeline import IngestOptions, ingest
from costprism.ledger import Ledger
from tests.ingest.conftest import focus_csv


def test_quarantined_rows_list_rejects_with_their_findings(tmp_path: Path) -> None:
    ledger = Ledger.at_home(tmp_path / "home")
    assert quarantined_rows(ledger, source=None, limit=10) == []
    path = focus_csv(10).set(4, "BilledCost", "12,5x").write(tmp_path / "q.csv")
    ingest([path], ledger, IngestOptions(source="q", quarantine=True))
    rows = quarantined_rows(ledger, source="q", limit=10)
    assert len(rows) == 1
    [row] = rows
    assert (row["source"], row["line"], Path(row["file"]).name) == ("q", 5, "q.csv")
    assert row["findings"] == "bad-decimal BilledCost='12,5x'"
    assert json.loads(row["row"])["BilledCost"] == "12,5x"
    assert quarantined_rows(ledger, source="other", limit=10) == []
