"""In a real browser: the dashboard draws its charts (ECharts, vendored, under the CSP), each beside
its table, reached by a boosted navigation too; clicking a bar opens the records it counts."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from coord.extensions import db
from tests.conftest import browser_login
from tests.test_oversight import END, START, story

pytestmark = pytest.mark.browser


def test_the_dashboard_draws_its_charts_and_drills_down(page):
    story()
    db.session.remove()
    problems: list[str] = []
    # favicon.ico is missing on every page (issue 13's): not this page's problem.
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error"
            and not msg.location.get("url", "").endswith("/favicon.ico") else None)
    page.on("pageerror", lambda err: problems.append(str(err)))
    browser_login(page, "admin")
    # A boosted navigation from the top bar: the chart library is loaded on demand.
    page.get_by_role("link", name="监督看板").first.click()
    expect(page.locator("h1")).to_have_text("柔性执法监督看板")
    page.goto(f"/oversight/?from={START}&to={END}")
    for chart in ("trend", "measures", "leads", "follow_ups"):
        box = page.locator(f'[data-chart="{chart}"]')
        expect(box).to_have_attribute("data-rendered", "1")
        expect(box.locator("svg path").first).to_be_attached()
        assert box.locator("svg path").count() > 5, chart
    # The chart of measures per agency names the agencies of its table, beside it.
    measures = page.locator('[data-chart="measures"]')
    expect(measures.locator("svg")).to_contain_text("区市场监管局")
    table = page.locator("#table-measures")
    expect(table).to_be_visible()
    chart_box, table_box = measures.bounding_box(), table.bounding_box()
    assert table_box["x"] > chart_box["x"] + chart_box["width"] / 2  # side by side at this width
    # Click the first agency's 劝导 bar: the register opens filtered to what the bar counts.
    point = page.evaluate("""() => {
        const el = document.querySelector('[data-chart="measures"]');
        el.scrollIntoView({block: "center"});
        const chart = echarts.getInstanceByDom(el);
        const opt = chart.getOption();
        const value = opt.series[0].data[0];
        const [x, y] = chart.convertToPixel({seriesIndex: 0}, [value / 2, 0]);
        const r = el.getBoundingClientRect();
        return {x: r.left + x, y: r.top + y, value: value, agency: opt.yAxis[0].data[0]};
    }""")
    assert point["value"] > 0
    page.mouse.move(point["x"], point["y"])  # the tooltip shows (drawn without inline styles)
    page.wait_for_timeout(300)
    page.mouse.click(point["x"], point["y"])
    page.wait_for_url(re.compile(r"/measures/\?.*kind=persuasion"))
    expect(page.locator("#measure-total")).to_have_text(f"共 {point['value']} 条")
    assert not problems, problems


def test_an_agency_dashboard_draws_its_own_figures(page):
    story()
    db.session.remove()
    browser_login(page, "cgj_officer")
    page.goto(f"/oversight/?from={START}&to={END}")
    trend = page.locator('[data-chart="trend"]')
    expect(trend).to_have_attribute("data-rendered", "1")
    expect(page.locator('[data-chart="measures"] svg')).to_contain_text("区城市管理局")
    expect(page.locator('[data-chart="measures"] svg')).not_to_contain_text("区市场监管局")
