"""Fixtures of the e-invoice reader tests: the shared public samples and our own files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from saas.einvoice import InvoiceRecord, read_invoices

# /work/shared/samples next to the checkout (see its README.md for the sources).
SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "samples"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def samples() -> Path:
    """The public samples folder; skipped when absent, except under CI where it must exist."""
    if not SAMPLES.is_dir():
        message = f"e-invoice samples folder {SAMPLES} is missing"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message} (required when CI=true)", pytrace=False)
        pytest.skip(message)
    return SAMPLES


def read_one(data: bytes, filename: str = "") -> InvoiceRecord:
    """The single record of a one-invoice file."""
    records = read_invoices(data, filename)
    assert len(records) == 1, records
    return records[0]
