"""What a browser test checks on every page for the layout: nothing scrolls sideways on a
phone, nothing is clipped on a desktop, and a Spanish page shows no English UI text."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

PHONE = {"width": 390, "height": 844}
TABLET = {"width": 768, "height": 1024}
SMALL_DESKTOP = {"width": 1024, "height": 768}
DESKTOP = {"width": 1280, "height": 900}
ROOT = Path(__file__).resolve().parents[2]

# Where the page is wider than the window, which element sticks out, and which boxes
# scroll sideways inside themselves (a table in an overflow-auto container): a table
# that has to be scrolled hides its last columns just as well as a page that does.
MEASURE = """() => {
  const width = document.documentElement.clientWidth;
  const classes = (e) => typeof e.className === "string" && e.className.trim()
    ? "." + e.className.trim().split(/\\s+/).join(".") : "";
  const describe = (e) => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + classes(e);
  const all = [...document.body.querySelectorAll("*")];
  const visible = (e) => e.getClientRects().length > 0
    && getComputedStyle(e).visibility !== "hidden";
  const sticking = all.filter((e) => visible(e) && !e.closest(".visually-hidden, .skip-link")
      && e.getBoundingClientRect().right > width + 1)
    .map((e) => describe(e) + " right=" + Math.round(e.getBoundingClientRect().right));
  const scrolling = all.filter((e) => {
      const x = getComputedStyle(e).overflowX;
      return (x === "auto" || x === "scroll") && e.scrollWidth > e.clientWidth + 1;
    }).map((e) => describe(e) + " " + e.scrollWidth + ">" + e.clientWidth);
  const tables = [...document.querySelectorAll("table")]
    .map((t) => Math.round(t.getBoundingClientRect().width));
  return {scrollWidth: document.documentElement.scrollWidth, width, sticking: sticking.slice(0, 6),
          scrolling, tables};
}"""


@dataclass
class Measure:
    page: str
    viewport: int
    scroll_width: int
    tables: list[int]
    problems: list[str] = field(default_factory=list)

    def __str__(self):
        return f"{self.page} @{self.viewport}: scrollWidth={self.scroll_width} tables={self.tables}"


@dataclass
class LayoutLog:
    """Every page's measures at both widths; `problems` lists what is wrong on any."""

    measures: list[Measure] = field(default_factory=list)

    def check(self, page, name: str, spanish: bool = True) -> None:
        """Measure `page` on a phone and on a desktop (and back to the phone), and look
        for English UI text when the page is meant to be in Spanish."""
        page.wait_for_load_state("load")
        for size in (PHONE, TABLET, SMALL_DESKTOP, DESKTOP):
            page.set_viewport_size(size)
            found = page.evaluate(MEASURE)
            m = Measure(name, size["width"], found["scrollWidth"], found["tables"])
            if found["scrollWidth"] > size["width"]:
                m.problems.append(f"scrolls sideways: {found['sticking']}")
            elif found["sticking"]:
                m.problems.append(f"sticks out of the window: {found['sticking']}")
            if found["scrolling"]:
                m.problems.append(f"clipped, scrolls inside: {found['scrolling']}")
            self.measures.append(m)
        page.set_viewport_size(PHONE)
        if spanish:
            assert page.locator("html").get_attribute("lang") == "es", name
            english = english_on(page)
            if english:
                self.measures[-1].problems.append(f"English UI text: {english}")

    @property
    def problems(self) -> list[str]:
        return [f"{m.page} @{m.viewport}: {p}" for m in self.measures for p in m.problems]

    def report(self) -> str:
        return "\n".join(str(m) for m in self.measures)


@cache
def english_ui() -> tuple[frozenset[str], dict[str, re.Pattern]]:
    """The catalog's English msgids that Spanish says differently: short ones (labels,
    column heads) to compare whole, and the literal runs of three words or more of the
    longer ones to look for in a page's visible text."""
    with (ROOT / "translations/es/LC_MESSAGES/messages.po").open("rb") as po:
        catalog = read_po(po)
    labels, phrases = set(), set()
    for message in catalog:
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for msgid in ids:
            if msgid in strings:
                continue  # the same in both languages ("Total", "PDF", "Email"...)
            labels.add(msgid.strip())
            for run in re.split(r"%\(\w+\)[sd]|%[sd]|[:;.!?()“”\"]", msgid):
                run = " ".join(run.split())
                if len(run.split()) >= 3:
                    phrases.add(run)
    patterns = {p: re.compile(rf"(?<!\w){re.escape(p)}(?!\w)") for p in sorted(phrases)}
    return frozenset(labels), patterns


# Visible text, plus the captions a phone shows from data-label and the names that
# assistive technology reads (aria-label, title, placeholder).
UI_TEXT = """() => ({
  text: document.body.innerText,
  labels: [...document.querySelectorAll(
      "[data-label], th, button, [role=button], label, legend, h1, h2, a")]
    .map((e) => (e.getAttribute("data-label") || e.innerText || "").trim()).filter(Boolean),
  names: [...document.querySelectorAll("[aria-label], [title], [placeholder]")]
    .map((e) => e.getAttribute("aria-label") || e.getAttribute("title")
      || e.getAttribute("placeholder")),
})"""


def english_on(page) -> list[str]:
    labels, patterns = english_ui()
    shown = page.evaluate(UI_TEXT)
    found = [phrase for phrase, pattern in patterns.items() if pattern.search(shown["text"])]
    found += [x for x in shown["labels"] + shown["names"] if x in labels]
    return sorted(set(found))
