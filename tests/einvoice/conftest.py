"""Fixtures of the e-invoice reader tests: the shared public samples and our own files."""

from __future__ import annotations

from pathlib import Path

import pytest

from saas.einvoice import InvoiceRecord, read_invoices

# Copies of the public samples, kept in the repository so that the suite does not depend
# on where the checkout lies (tests/samples/README.md names the sources and licences).
SAMPLES = Path(__file__).resolve().parents[1] / "samples"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def samples() -> Path:
    """The public samples folder."""
    return SAMPLES


def read_one(data: bytes, filename: str = "") -> InvoiceRecord:
    """The single record of a one-invoice file."""
    records = read_invoices(data, filename)
    assert len(records) == 1, records
    return records[0]
