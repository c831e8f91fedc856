"""In real Chromium: every element the keyboard reaches shows a focus ring of 3 px that
stands out 3:1 against what is behind it (WCAG 2.4.13), with the tenant's colours, a
pale one and a dark one; and the page carries the tenant's favicon."""

import re

import pytest
from flask import g

from saas.branding import contrast
from saas.extensions import db
from tests.conftest import LiveServer
from tests.factories import PASSWORD, make_user
from tests.invoices import fake_pdf, ubl_invoice
from tests.portal.conftest import publish_for

pytestmark = pytest.mark.browser

# The focused element's ring, and the colour just outside its box (where the ring is
# drawn): the first element there, under the focused one, with a background of its own.
RING = """() => {
  const e = document.activeElement;
  if (!e || e === document.body) return null;
  const s = getComputedStyle(e);
  const box = e.getBoundingClientRect();
  const x = Math.max(0, box.left - 3), y = box.top + box.height / 2;
  let background = "rgb(255, 255, 255)";
  for (const under of document.elementsFromPoint(x, y)) {
    if (under === e || e.contains(under)) continue;
    const b = getComputedStyle(under).backgroundColor;
    if (b !== "transparent" && !b.startsWith("rgba(0, 0, 0, 0")) { background = b; break; }
  }
  return {what: e.outerHTML.slice(0, 80), style: s.outlineStyle, width: parseFloat(s.outlineWidth),
          color: s.outlineColor, background};
}"""


def hex_of(css: str) -> str:
    r, g_, b = (int(v) for v in re.findall(r"\d+", css)[:3])
    return f"#{r:02x}{g_:02x}{b:02x}"


def rings(page, presses=40):
    seen = []
    for _ in range(presses):
        page.keyboard.press("Tab")
        ring = page.evaluate(RING)
        if ring is None or (seen and ring["what"] == seen[0]["what"]):
            break
        seen.append(ring)
    return seen


@pytest.mark.parametrize("primary", ["#f1c232", "#0b5394"])
def test_every_focused_element_shows_a_ring(make_app, tenants, page, primary):
    app = make_app()
    with app.app_context():
        tenant = g.tenant = tenants["intertec"].load()
        tenant.primary_color = primary
        db.session.commit()
        make_user(tenant, username="ana", role="admin")
    publish_for(app, "intertec", ubl_invoice("FE-1"), fake_pdf("FE-1"))
    with LiveServer(app) as server:
        found = []
        page.goto(f"{server.url}/t/intertec/")
        found += rings(page)
        page.goto(f"{server.url}/t/intertec/login")
        page.get_by_label("Correo electrónico o usuario").fill("ana")
        page.get_by_label("Contraseña").fill(PASSWORD)
        page.get_by_role("button", name="Iniciar sesión").click()
        page.wait_for_url("**/console/**")
        page.goto(f"{server.url}/t/intertec/console/invoices")
        found += rings(page, presses=60)
    assert len(found) > 20  # links, buttons, inputs, the brand bar's and the page's
    weak = [
        (r["what"], r["style"], r["width"], r["color"], r["background"])
        for r in found
        if r["style"] != "solid"
        or r["width"] < 3
        or contrast(hex_of(r["color"]), hex_of(r["background"])) < 3
    ]
    assert weak == [], "\n".join(map(str, weak))


def test_the_tenants_logo_is_the_tab_icon(live_server, page, tenants):
    page.goto(f"{live_server.url}/t/intertec/")
    icon = page.locator("link[rel=icon]").get_attribute("href")
    served = page.request.get(f"{live_server.url}{icon}")
    assert served.ok and served.headers["content-type"].startswith("image/svg+xml")
    assert icon == "/t/intertec/logo"
