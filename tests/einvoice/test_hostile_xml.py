"""CPU-hostile XML: the parser's budget refuses it while parsing, before any tree exists."""

from __future__ import annotations

import re

import pytest
from lxml import etree

from saas.einvoice import MAX_BYTES, EInvoiceError, read_invoices
from saas.einvoice import xml as einvoice_xml
from saas.einvoice.xml import MAX_ATTRIBUTES, MAX_ELEMENTS, parse_xml
from tests.einvoice.conftest import SAMPLES

CFDI_OPEN = b'<cfdi:Comprobante xmlns:cfdi="http://www.sat.gob.mx/cfd/4" Version="4.0">'
CFDI_CLOSE = b"</cfdi:Comprobante>"


@pytest.fixture
def no_tree(monkeypatch):
    """Fail the test if a file over budget ever reaches the tree-building parse."""

    def never_build(*args, **kwargs):
        raise AssertionError("a file over the parser's budget was parsed into a tree")

    monkeypatch.setattr(einvoice_xml.etree, "fromstring", never_build)


def flat(count: int) -> bytes:
    return CFDI_OPEN + b"<a/>" * count + CFDI_CLOSE


def test_millions_of_empty_elements_are_refused_by_the_parser(no_tree):
    data = flat(2_400_000)
    assert 9_500_000 < len(data) <= MAX_BYTES
    with pytest.raises(EInvoiceError) as caught:
        read_invoices(data, "flood.xml")
    assert str(caught.value) == (
        "Unrecognised e-invoice: the XML has more than 200,000 elements, the limit"
    )
    assert caught.value.field is None


def test_element_limit_is_exact():
    assert MAX_ELEMENTS == 200_000
    parse_xml(flat(MAX_ELEMENTS - 1))  # the root element counts too
    with pytest.raises(EInvoiceError, match="more than 200,000 elements"):
        parse_xml(flat(MAX_ELEMENTS))


def test_attribute_flood_is_refused(no_tree):
    attributes = b" ".join(b'a%d=""' % n for n in range(MAX_ATTRIBUTES + 1))
    with pytest.raises(EInvoiceError, match="more than 400,000 attributes"):
        parse_xml(b"<r " + attributes + b"/>")


def test_namespace_declaration_flood_is_refused(no_tree):
    declarations = b" ".join(b'xmlns:n%d="u"' % n for n in range(MAX_ATTRIBUTES + 1))
    assert len(declarations) < MAX_BYTES
    with pytest.raises(EInvoiceError, match="more than 400,000 attributes"):
        parse_xml(b"<r " + declarations + b"/>")


def test_elements_spread_over_many_attributes_count_too(no_tree):
    element = b"<e " + b" ".join(b'a%d=""' % n for n in range(1000)) + b"/>"
    with pytest.raises(EInvoiceError, match="more than 400,000 attributes"):
        parse_xml(b"<r>" + element * 500 + b"</r>")


def test_deep_nesting_is_refused_by_the_parser(no_tree):
    with pytest.raises(EInvoiceError, match="deeper than 100 levels"):
        parse_xml(b"<x>" * 101 + b"</x>" * 101)


def test_doctype_is_refused_by_the_parser_too(monkeypatch, no_tree):
    # With the byte scan disabled, the parser's target stops at "<!DOCTYPE" itself.
    monkeypatch.setattr(einvoice_xml, "_DOCTYPE", re.compile(rb"(?!)"))
    with pytest.raises(EInvoiceError, match="DOCTYPE"):
        parse_xml(b'<!DOCTYPE c [<!ENTITY x "y">]><c>&x;</c>')


def test_broken_xml_is_still_reported_as_not_well_formed():
    with pytest.raises(EInvoiceError, match="not well-formed"):
        parse_xml(b"<a><b></a>")


ALL_SAMPLES = sorted(p.relative_to(SAMPLES).as_posix() for p in SAMPLES.glob("*/*.xml"))
# The samples that are complete invoices (the others lack a stamp, a CUDE or are payments).
COMPLETE = ["co/ubl21-invoice.xml", "mx/ingreso_iva16_stamped.xml"] + [
    s for s in ALL_SAMPLES if s.startswith("it/")
]


@pytest.mark.parametrize("sample", ALL_SAMPLES)
def test_every_public_sample_parses_whole(sample):
    data = (SAMPLES / sample).read_bytes()
    plain = etree.fromstring(data, etree.XMLParser(remove_comments=True))
    assert len(list(parse_xml(data).iter())) == len(list(plain.iter()))


@pytest.mark.parametrize("sample", COMPLETE)
def test_the_complete_samples_still_read(sample):
    records = read_invoices((SAMPLES / sample).read_bytes(), sample)
    assert records and all(r.number for r in records)
