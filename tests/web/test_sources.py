"""``/sources``: slices within the caller's scope, freshness, paged history, import findings,
and the quarantine for those who may see it; the JSON twin equals the capability output."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from costprism.capabilities.datasources import (
    import_findings,
    list_slices,
    slice_history,
    source_freshness,
)
from costprism.capabilities.quarantine import quarantined_rows
from costprism.db import User, UserRole
from costprism.engine.backends import open_ledger
from costprism.engine.filters import parse_filters
from costprism.ledger import Ledger
from tests.web.fixtures_admin import (
    ENG_ACCOUNT,
    Site,
    admin_home,
    seeded_database,
    signed_in,
    site,
)

__all__ = ["admin_home", "seeded_database", "site"]


def page_json(site: Site, username: str, query: str = "") -> dict[str, Any]:
    with signed_in(site, username) as client:
        response = client.get(f"/sources?format=json{query}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def slice_records(ledger: Ledger, scope: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    return [s.record() for s in list_slices(ledger, open_ledger(ledger), parse_filters(scope))]


def test_the_page_shows_slices_freshness_history_and_findings(site: Site) -> None:
    with signed_in(site, "ada") as client:
        response = client.get("/sources")
    assert response.status_code == 200
    html = response.text
    for heading in ("Freshness", "Slices", "Version history", "Validation findings per import"):
        assert f"<h2>{heading}</h2>" in html
    assert ENG_ACCOUNT in html
    assert "focus-1.0_sample_1000.csv" in html
    assert "<code>datetime-format</code> 4,000" in html
    assert "Totals over the whole ledger." in html


def test_json_slices_equal_list_slices(site: Site) -> None:
    body = page_json(site, "ada")
    assert body["slices"] == slice_records(site.ledger)
    assert body["version"] == 3
    assert {s["source"] for s in body["slices"]} == {"demo", "sample", "uploads"}


def test_a_scoped_caller_sees_only_their_slices_and_sources(site: Site) -> None:
    scope = (f"BillingAccountId={ENG_ACCOUNT}",)
    body = page_json(site, "eng")
    assert body["slices"] == slice_records(site.ledger, scope)
    assert {s["BillingAccountId"] for s in body["slices"]} == {ENG_ACCOUNT}
    assert len(body["slices"]) == 2
    assert [f["source"] for f in body["freshness"]] == ["demo"]
    with signed_in(site, "eng") as client:
        html = client.get("/sources").text
    assert "Totals within your scope" in html
    assert "741852963001" not in html.split('id="history"')[0]


def test_freshness_equals_the_capability_and_ages_from_now(site: Site) -> None:
    before = datetime.now(UTC)
    body = page_json(site, "ada")
    expected = [f.record() for f in source_freshness(site.ledger, open_ledger(site.ledger))]
    without_age = [{k: v for k, v in f.items() if k != "age_hours"} for f in body["freshness"]]
    assert without_age == [{k: v for k, v in f.items() if k != "age_hours"} for f in expected]
    for shown in body["freshness"]:
        imported = datetime.fromisoformat(shown["last_import_at"])
        assert abs(shown["age_hours"] - (before - imported).total_seconds() / 3600) < 0.1
    demo = next(f for f in body["freshness"] if f["source"] == "demo")
    assert demo["newest_ChargePeriodStart"] > "2024-10-31"


def test_history_pages_follow_the_cursor_to_the_whole_history(site: Site) -> None:
    expected = [v.record() for v in slice_history(site.ledger)]
    assert len(expected) > 12
    seen: list[dict[str, Any]] = []
    query = "&limit=5"
    with signed_in(site, "ada") as client:
        while True:
            history = client.get(f"/sources?format=json{query}").json()["history"]
            assert len(history["items"]) <= 5
            seen.extend(history["items"])
            if history["next"] is None:
                break
            query = f"&limit=5&cursor={history['next']}"
    assert seen == expected


def test_history_is_narrowed_by_source_and_period(site: Site) -> None:
    body = page_json(site, "ada", "&source=sample&period=2024-09")
    expected = slice_history(site.ledger, source="sample", period="2024-09")
    assert body["history"] == {"items": [v.record() for v in expected], "next": None}
    assert body["filters"] == {"source": "sample", "period": "2024-09"}
    assert [i["source"] for i in body["imports"]["items"]] == ["sample"]


def test_the_html_pager_links_swap_only_their_section(site: Site) -> None:
    with signed_in(site, "ada") as client:
        html = client.get("/sources?limit=5").text
        link = html.split('id="history"')[1].split('hx-get="')[1].split('"')[0]
        assert 'hx-select="#history"' in html
        following = client.get(link.replace("&amp;", "&") + "&format=json").json()
    assert "cursor=" in link
    expected = [v.record() for v in slice_history(site.ledger)][5:10]
    assert following["history"]["items"] == expected


def test_import_findings_equal_the_capability(site: Site) -> None:
    body = page_json(site, "pat")
    assert body["imports"] == {
        "items": [f.record() for f in import_findings(site.ledger)],
        "next": None,
    }
    uploads = body["imports"]["items"][0]
    assert (uploads["source"], uploads["rows"], uploads["rejected"]) == ("uploads", 9, 1)


def test_the_quarantine_is_shown_only_with_view_quarantine(site: Site) -> None:
    body = page_json(site, "pat")
    assert body["quarantine"] == quarantined_rows(site.ledger, source=None, limit=100)
    assert len(body["quarantine"]) == 1
    with signed_in(site, "pat") as client:
        assert "bad-decimal BilledCost=&#39;12,5x&#39;" in client.get("/sources").text
    assert "quarantine" not in page_json(site, "eng")
    with signed_in(site, "eng") as client:
        html = client.get("/sources").text
    assert 'id="quarantine"' not in html
    assert "bad-decimal" not in html


def test_a_user_whose_roles_grant_nothing_is_refused_with_the_reason(site: Site) -> None:
    with site.db.session() as session:
        user = session.scalar(select(User).where(User.username == "eng"))
        assert user is not None
        user.roles = [UserRole(role="retired-role")]
    with signed_in(site, "eng") as client:
        response = client.get("/sources?format=json")
        page = client.get("/sources")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "access.denied"
    message = response.json()["error"]["message"]
    assert message.startswith("view-sources needs one of the roles practitioner")
    assert message.endswith("eng has retired-role")
    assert page.status_code == 403
    assert "view-sources needs one of the roles" in page.text


def test_signed_out_callers_are_sent_to_the_login_page(site: Site) -> None:
    with signed_in(site, "ada") as client:
        client.cookies.clear()
        page = client.get("/sources?source=demo")
        data = client.get("/sources?format=json")
    assert (page.status_code, page.headers["location"]) == (
        303,
        "/login?next=%2Fsources%3Fsource%3Ddemo",
    )
    assert data.status_code == 401


def test_a_damaged_cursor_is_a_clear_error(site: Site) -> None:
    with signed_in(site, "ada") as client:
        response = client.get("/sources?format=json&cursor=%%%")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "query.bad_cursor"
