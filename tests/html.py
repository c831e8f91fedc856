"""Reading HTML answers as documents (lxml): a test says which element shows what, so it
does not pass on a word found in another place of the page, nor break when markup
around it changes. Plain-text answers (emails, CSV, the theme) are checked as text."""

from __future__ import annotations

import re

import lxml.html

_SPACES = re.compile(r"[ \t\n\r\f]+")  # not \xa0: amounts keep their no-break spaces


def doc(answer) -> lxml.html.HtmlElement:
    """A whole page (a response or its text)."""
    return lxml.html.document_fromstring(getattr(answer, "text", answer))


def rows_doc(answer) -> lxml.html.HtmlElement:
    """Table rows sent alone (htmx "load more"), inside the body they replace rows of."""
    text = getattr(answer, "text", answer)
    return lxml.html.fromstring(f'<table><tbody id="invoice-rows">{text}</tbody></table>')


def text(node, xpath: str = ".") -> str:
    """The text of the first element `xpath` finds, with runs of spaces made one."""
    found = node.xpath(xpath)
    assert found, f"nothing at {xpath}"
    return _flat(found[0])


def texts(node, xpath: str) -> list[str]:
    """The text of every element `xpath` finds, in document order."""
    return [_flat(e) for e in node.xpath(xpath)]


def _flat(element) -> str:
    content = element if isinstance(element, str) else element.text_content()
    return _SPACES.sub(" ", content).strip()


def invoice_rows(page) -> list:
    """The rows of an invoice list (portal or console), without the "load more" row."""
    return page.xpath("//tbody[@id='invoice-rows']/tr[not(@id='load-more')]")


def invoice_numbers(page) -> list[str]:
    """The invoice numbers of a list, top to bottom (the portal links them)."""
    return [text(row, "(td[1]/a | td[1][not(a)])") for row in invoice_rows(page)]


def alerts(page) -> list[str]:
    """Flashed messages and error summaries (role alert or status)."""
    return texts(page, "//*[contains(concat(' ', @class, ' '), ' alert ')]")


def problems(answer) -> list[str]:
    """What an answer says went wrong, in document order: the text of every field error
    (<small class="field-error">), every alert (class alert: flashes, error summaries) and
    every other element of role alert (the pause of a throttled sign-in). Hidden ones (a
    list filter's empty error, kept for htmx) are not shown, so not counted. A response,
    its text or a parsed page."""
    page = answer if isinstance(answer, lxml.html.HtmlElement) else doc(answer)
    return texts(
        page,
        "//*[contains(concat(' ', normalize-space(@class), ' '), ' field-error ')"
        " or contains(concat(' ', normalize-space(@class), ' '), ' alert ')"
        " or @role='alert'][not(@hidden)]",
    )


def field_error(answer, field_id: str) -> str:
    """The error shown under the field of id `field_id` (<small id="<id>-error">)."""
    page = answer if isinstance(answer, lxml.html.HtmlElement) else doc(answer)
    return text(
        page,
        f"//small[@id='{field_id}-error']"
        "[contains(concat(' ', normalize-space(@class), ' '), ' field-error ')]",
    )
