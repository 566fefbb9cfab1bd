"""The seeded dataset (dataset.py): every number the API returns, worked out by hand.

The expected figures below are literals, derived from the table in dataset.py with the
working written beside them; nothing here calls the code under test to compute them.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from dataset import PERIOD, seed
from feedback_events import ADMIN

from leadflow.service import Runtime

pytestmark = pytest.mark.postgres


def quality(verdicts: int, low: float | None = None) -> dict[str, Any]:
    """Lead quality without rejections: every verdict an acceptance, so the rate is 1 and
    its Wilson lower bound n/(n + z²) (e.g. 12/15.841459 = .7575), given from 10 verdicts
    (LEADFLOW_MIN_VERDICTS' default); a verdict is an MQL contacted, at sql or closed."""
    measured = verdicts >= 10
    return {
        "rejected": 0, "verdicts": verdicts,
        "acceptance_rate": 1.0 if measured else None,
        "acceptance_wilson_lower": low, "acceptance_wilson_upper": 1.0 if measured else None,
        "acceptance_status": "measured" if measured else "insufficient_data",
        "rejection_reasons": {},
    }  # fmt: skip


# --- by source (36 leads in the period; X1, X2 and the never-captured lead are out)
WEBINAR = {
    "leads": 12, "mqls": 10, "sqls": 6, "won": 4, "lost": 4,  # MQL: W1–W10; SQL: W1–W6
    "mql_rate": 0.8333, "win_rate": 0.5,  # 10/12; 4/(4+4)
    "revenue": 10000.0, "currency": "EUR", "avg_deal_size": 2500.0,  # 1000+2000+3000+4000
    "median_sales_cycle_days": 13.0,  # won after 10, 12, 14, 20 days → (12+14)/2
    "median_speed_to_lead_seconds": 330.0,  # 60, 120 … 600 → (300+360)/2
    "median_assigned_to_contacted_seconds": 450.0,  # 100 … 800 → (400+500)/2
    "cost": 2000.0, "cost_currency": "EUR",  # spring, all of whose leads are webinar
    "cost_per_lead": 166.67, "cac": 500.0, "roi": 4.0,  # 2000/12; 2000/4; (10000-2000)/2000
    **quality(8),  # W1–W8 contacted; W9, W10 only assigned
    "win_rate_wilson_lower": 0.2152, "win_rate_wilson_upper": 0.7848,  # Wilson 95 % of 4/8
}  # fmt: skip
ADS = {
    "leads": 15, "mqls": 12, "sqls": 6, "won": 4, "lost": 8,  # MQL: A1–A9, A11–A13
    "mql_rate": 0.8, "win_rate": 0.3333,  # 12/15; 4/12
    "revenue": 5500.0, "currency": "EUR", "avg_deal_size": 1375.0,  # 500+1500+2500+1000
    "median_sales_cycle_days": 5.5,  # 5, 6, 7, 4 → (5+6)/2
    # 30 45 60 75 90 120 | 150 600 3600 7200 7200 172800 → (120+150)/2
    "median_speed_to_lead_seconds": 135.0,
    "median_assigned_to_contacted_seconds": 120.0,  # 15 45 60 60 [120] 120 180 3600 7200
    "cost": 3500.0, "cost_currency": "EUR",  # search 3000 + social 500, both only ads
    "cost_per_lead": 233.33, "cac": 875.0, "roi": 0.5714,  # 3500/15; 3500/4; 2000/3500
    **quality(12, 0.7575),  # every MQL closed
    "win_rate_wilson_lower": 0.1381, "win_rate_wilson_upper": 0.6094,  # Wilson 95 % of 4/12
}  # fmt: skip
ORGANIC = {
    "leads": 9, "mqls": 5, "sqls": 3, "won": 2, "lost": 1,
    "mql_rate": 0.5556, "win_rate": 0.6667,  # 5/9; 2/3
    "revenue": 4000.0, "currency": "EUR", "avg_deal_size": 2000.0,
    "median_sales_cycle_days": 6.0,  # 3 and 9 days
    "median_speed_to_lead_seconds": 40.0,  # 10 20 [40] 80 160
    "median_assigned_to_contacted_seconds": 40.0,  # 20 [40] 50
    "cost": None, "cost_currency": None, "cost_per_lead": None, "cac": None, "roi": None,
    **quality(3),  # O1–O3 closed; O4, O5 only assigned
    "win_rate_wilson_lower": 0.2077, "win_rate_wilson_upper": 0.9385,  # Wilson 95 % of 2/3
}  # fmt: skip
# --- by campaign: spring is the webinar group; organic leads have no campaign
SEARCH = {
    "leads": 10, "mqls": 9, "sqls": 5, "won": 3, "lost": 6,
    "mql_rate": 0.9, "win_rate": 0.3333,  # 9/10; 3/9
    "revenue": 4500.0, "currency": "EUR", "avg_deal_size": 1500.0,  # 500+1500+2500
    "median_sales_cycle_days": 6.0,  # 5 [6] 7
    "median_speed_to_lead_seconds": 150.0,  # 30 60 90 120 [150] 3600 7200 7200 172800
    "median_assigned_to_contacted_seconds": 120.0,  # 60 60 120 [120] 180 3600 7200
    "cost": 3000.0, "cost_currency": "EUR",
    "cost_per_lead": 300.0, "cac": 1000.0, "roi": 0.5,  # 3000/10; 3000/3; 1500/3000
    **quality(9),  # A1–A9 closed
    "win_rate_wilson_lower": 0.1206, "win_rate_wilson_upper": 0.6458,  # Wilson 95 % of 3/9
}  # fmt: skip
SOCIAL = {
    "leads": 5, "mqls": 3, "sqls": 1, "won": 1, "lost": 2,
    "mql_rate": 0.6, "win_rate": 0.3333,
    "revenue": 1000.0, "currency": "EUR", "avg_deal_size": 1000.0,
    "median_sales_cycle_days": 4.0,
    "median_speed_to_lead_seconds": 75.0,  # 45 [75] 600
    "median_assigned_to_contacted_seconds": 30.0,  # 15 and 45
    "cost": 500.0, "cost_currency": "EUR",
    "cost_per_lead": 100.0, "cac": 500.0, "roi": 1.0,  # 500/5; 500/1; 500/500
    **quality(3),  # A11–A13 closed
    "win_rate_wilson_lower": 0.0615, "win_rate_wilson_upper": 0.7923,  # Wilson 95 % of 1/3
}  # fmt: skip


async def _funnel(client: httpx.AsyncClient, group_by: str) -> list[dict[str, Any]]:
    response = await client.get(
        "/v1/metrics/funnel", params={"group_by": group_by, **PERIOD}, headers=ADMIN
    )
    assert response.status_code == 200, response.text
    groups: list[dict[str, Any]] = response.json()["groups"]
    return groups


def _figures(group: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in group.items() if k not in ("key", "label")}


async def test_the_funnel_by_source_and_by_campaign(rt: Runtime, client: httpx.AsyncClient) -> None:
    await seed(rt, client)
    by_source = await _funnel(client, "source")
    assert [g["key"] for g in by_source] == ["ads", "webinar", "organic"]  # most leads first
    assert [_figures(g) for g in by_source] == [ADS, WEBINAR, ORGANIC]
    by_campaign = await _funnel(client, "utm_campaign")
    assert [g["key"] for g in by_campaign] == ["spring", "search", None, "social"]
    assert [_figures(g) for g in by_campaign] == [WEBINAR, SEARCH, ORGANIC, SOCIAL]


async def test_the_funnel_by_country(rt: Runtime, client: httpx.AsyncClient) -> None:
    await seed(rt, client)
    by_country = {g["key"]: g for g in await _funnel(client, "country")}
    # DE: W1 W2 W3 W7 W8 W12 A1 A11 A12 O1 O2 O7 O8; won W1 W2 W3 A1 A11 O1 O2; lost W7 W8 A12
    de = by_country["DE"]
    assert (de["leads"], de["won"], de["lost"], de["win_rate"]) == (13, 7, 3, 0.7)
    assert (de["revenue"], de["avg_deal_size"]) == (11500.0, 1642.86)  # 1000+2000+3000+500+
    # …+1000+2000+2000 = 11500; / 7 = 1642.857…; spring, search, social all span countries
    assert (de["cost"], de["cac"], de["roi"]) == (None, None, None)
    fr, us = by_country["FR"], by_country["US"]
    assert (fr["leads"], fr["won"], fr["lost"], fr["revenue"]) == (11, 1, 7, 4000.0)
    assert (us["leads"], us["won"], us["lost"], us["revenue"]) == (12, 2, 3, 4000.0)


async def test_the_csv_export_has_the_same_numbers(rt: Runtime, client: httpx.AsyncClient) -> None:
    await seed(rt, client)
    response = await client.get(
        "/v1/metrics/funnel.csv", params={"group_by": "source", **PERIOD}, headers=ADMIN
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="funnel-source.csv"' in response.headers["content-disposition"]
    assert response.text.split("\r\n") == [
        "key,label,leads,mqls,sqls,won,lost,mql_rate,win_rate,revenue,currency,avg_deal_size,"
        "median_sales_cycle_days,median_speed_to_lead_seconds,"
        "median_assigned_to_contacted_seconds,cost,cost_currency,cost_per_lead,cac,roi,"
        "rejected,verdicts,acceptance_rate,acceptance_wilson_lower,acceptance_wilson_upper,"
        "acceptance_status,rejection_reasons,win_rate_wilson_lower,win_rate_wilson_upper",
        "ads,ads,15,12,6,4,8,0.8,0.3333,5500.0,EUR,1375.0,5.5,135.0,120.0,3500.0,EUR,233.33,"
        "875.0,0.5714,0,12,1.0,0.7575,1.0,measured,,0.1381,0.6094",
        "webinar,webinar,12,10,6,4,4,0.8333,0.5,10000.0,EUR,2500.0,13.0,330.0,450.0,2000.0,EUR,"
        "166.67,500.0,4.0,0,8,,,,insufficient_data,,0.2152,0.7848",
        "organic,organic,9,5,3,2,1,0.5556,0.6667,4000.0,EUR,2000.0,6.0,40.0,40.0,,,,,,"
        "0,3,,,,insufficient_data,,0.2077,0.9385",
        "",
    ]
    unauthenticated = await client.get("/v1/metrics/funnel.csv")
    assert unauthenticated.status_code == 401


# Verdicts per segment (MQLs contacted, at sql or closed), counted from the table; 10 of 10,
# 12 of 12 and 13 of 13 accepted have the lower bounds 10/13.841459, 12/15.841459, 13/16.841459.
VERDICTS = {"software": (13, 0.7719), "DE": (10, 0.7225), "retail": (10, 0.7225),
            "ads": (12, 0.7575), "webinar": (8, None), "spring": (8, None), "11-50": (9, None),
            "search": (9, None), "US": (5, None), "FR": (8, None), "201-1000": (5, None),
            "51-200": (4, None), "1-10": (3, None), "organic": (3, None), "social": (3, None),
            "1001+": (2, None)}  # fmt: skip


def _seg(dim: str, value: str, leads: int, won: int, lost: int, rate: float | None,
         low: float | None, high: float | None, rank: int | None) -> dict[str, Any]:  # fmt: skip
    q = quality(*VERDICTS[value])
    return {
        "dimension": dim, "value": value, "leads": leads, "won": won, "lost": lost,
        # No rejection here: the sample and the ranking key are the closed leads' win rate.
        "rejected": 0, "sample_size": won + lost, "win_rate": rate, "wilson_lower": low,
        "wilson_upper": high,
        **{k: v for k, v in q.items() if k.startswith("acceptance")},
        "yield_rate": rate, "yield_lower": low,
        "rank": rank, "status": "ranked" if rank else "insufficient_data",
    }  # fmt: skip


# Closed leads per segment counted from the table; the Wilson bounds (z = 1.96) by hand,
# e.g. DE 7/10: p = .7, z²/n = .38415; centre = (.7 + .19207)/1.38415 = .64449;
# margin = 1.95996/1.38415 × √(.021 + .0096037) = 1.41600 × .17494 = .24772 → .3968 – .8922.
RANKED = [
    _seg("industry", "software", 17, 10, 3, 0.7692, 0.4974, 0.9182, 1),
    _seg("country", "DE", 13, 7, 3, 0.7, 0.3968, 0.8922, 2),
    _seg("company_size_band", "201-1000", 5, 4, 1, 0.8, 0.3755, 0.9638, 3),
    _seg("source", "webinar", 12, 4, 4, 0.5, 0.2152, 0.7848, 4),  # ties spring: by dimension
    _seg("utm_campaign", "spring", 12, 4, 4, 0.5, 0.2152, 0.7848, 5),
    _seg("company_size_band", "11-50", 10, 4, 5, 0.4444, 0.1888, 0.7333, 6),
    _seg("source", "ads", 15, 4, 8, 0.3333, 0.1381, 0.6094, 7),
    _seg("utm_campaign", "search", 10, 3, 6, 0.3333, 0.1206, 0.6458, 8),
    _seg("country", "US", 12, 2, 3, 0.4, 0.1176, 0.7693, 9),
    _seg("country", "FR", 11, 1, 7, 0.125, 0.0224, 0.4709, 10),
    _seg("industry", "retail", 19, 0, 10, 0.0, 0.0, 0.2775, 11),  # 0/10: upper = z²/(n+z²)
]
UNDER_SAMPLED = [  # fewer than 5 closed: biggest sample first, then dimension and value
    _seg("company_size_band", "51-200", 6, 0, 4, 0.0, 0.0, 0.4899, None),
    _seg("company_size_band", "1-10", 6, 1, 2, 0.3333, 0.0615, 0.7923, None),
    _seg("source", "organic", 9, 2, 1, 0.6667, 0.2077, 0.9385, None),
    _seg("utm_campaign", "social", 5, 1, 2, 0.3333, 0.0615, 0.7923, None),
    _seg("company_size_band", "1001+", 6, 1, 1, 0.5, 0.0945, 0.9055, None),
]


async def test_segments_are_ranked_by_the_wilson_lower_bound(
    rt: Runtime, client: httpx.AsyncClient
) -> None:
    await seed(rt, client)
    response = await client.get(
        "/v1/insights/segments", params={"min_sample": "5", **PERIOD}, headers=ADMIN
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["confidence"], body["min_sample"]) == (0.95, 5)
    assert body["segments"] == RANKED + UNDER_SAMPLED


async def test_with_the_default_minimum_nothing_here_is_ranked(
    rt: Runtime, client: httpx.AsyncClient
) -> None:
    await seed(rt, client)
    response = await client.get("/v1/insights/segments", params=PERIOD, headers=ADMIN)
    body = response.json()
    assert body["min_sample"] == 20  # LEADFLOW_INSIGHTS_MIN_SAMPLE's default
    assert {s["status"] for s in body["segments"]} == {"insufficient_data"}
    assert {s["rank"] for s in body["segments"]} == {None}
    assert body["segments"][0]["value"] == "software"  # 13 closed: the biggest sample
    assert len(body["segments"]) == 16  # 3 sources, 3 campaigns, 3 countries, 2 + 5


async def test_the_dashboard_shows_the_same_figures(rt: Runtime, client: httpx.AsyncClient) -> None:
    await seed(rt, client)
    anonymous = await client.get("/", params={"from": "2026-03-02", "to": "2026-03-22"})
    assert anonymous.status_code == 200
    assert 'id="login-form"' in anonymous.text
    assert "kpi-leads" not in anonymous.text
    login = await client.post("/login", data={"token": ADMIN["Authorization"][7:], "next": "/"})
    assert login.status_code == 303
    page = await client.get("/", params={"from": "2026-03-02", "to": "2026-03-22"})
    html = page.text
    # All 36 leads: MQLs 27/36; won 10 of 23 closed; 19500 EUR from 5500 EUR of campaigns.
    for kpi, shown in {
        "leads": "36", "mql-rate": "75.0 %", "win-rate": "43.5 %",
        "revenue": "19,500 EUR", "cost": "5,500 EUR", "cac": "550 EUR",
        "roi": "+255 %",  # (19500 - 5500) / 5500 = 2.545
        "speed": "2 min 40 s",  # the 14th of the 27 assignment times: 160 s
        "contact": "2 min 30 s",  # the 10th and 11th of 20: (120 + 180) / 2
        "cycle": "8.0 d",  # 3 4 5 6 7 | 9 10 12 14 20 → (7 + 9) / 2
    }.items():  # fmt: skip
        assert f'id="kpi-{kpi}">{shown}<' in html, kpi
    # Weekly leads and win rates (weeks from Monday 2 March), the funnel and ROI bars.
    for title in (
        "02 Mar · webinar: 4", "09 Mar · webinar: 3", "16 Mar · organic: 5",
        "02 Mar · ads: 80 %", "09 Mar · ads: 0 %", "02 Mar · spring: 100 %",
        "Leads · Leads in the period: 36", "Won · Leads in the period: 10",
        "&lt; 1m · Captured → assigned: 5", "1–5m · Captured → assigned: 11",
        "&gt; 1d · Captured → assigned: 1", "1–4h · Assigned → contacted: 2",
        "spring: +400 %", "social: +100 %", "search: +50 %",
    ):  # fmt: skip
        assert f"<title>{title}</title>" in html, title
