"""Signed FatturaPA (.xml.p7m): CAdES / PKCS#7 SignedData in DER, BER or base64."""

from __future__ import annotations

import base64
import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID

from saas.einvoice import EInvoiceError, read_invoices
from tests.einvoice.conftest import FIXTURES

SIGNED_DATA_OID = bytes.fromhex("06092a864886f70d010702")
DATA_OID = bytes.fromhex("06092a864886f70d010701")


@pytest.fixture(scope="module")
def signer():
    """A self-signed certificate and its key, made for these tests."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Firma di prova")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return certificate, key


def sign(content: bytes, signer, options=()) -> bytes:
    """DER SignedData embedding ``content`` (no DetachedSignature option: content included)."""
    certificate, key = signer
    return (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(content)
        .add_signer(certificate, key, hashes.SHA256())
        .sign(serialization.Encoding.DER, list(options))
    )


def ber_signed_data(content: bytes) -> bytes:
    """An (unsigned) SignedData in BER with indefinite lengths and the content in 1000-byte
    chunks, as streaming signers produce; built by hand, as no library here writes BER."""
    end = b"\x00\x00"
    chunks = b"".join(
        b"\x04\x82" + len(chunk).to_bytes(2, "big") + chunk
        for chunk in (content[i : i + 1000] for i in range(0, len(content), 1000))
    )
    encapsulated = b"\x30\x80" + DATA_OID + b"\xa0\x80\x24\x80" + chunks + end + end + end
    signed_data = b"\x30\x80\x02\x01\x01\x31\x00" + encapsulated + b"\x31\x00" + end
    return b"\x30\x80" + SIGNED_DATA_OID + b"\xa0\x80" + signed_data + end + end


@pytest.fixture(scope="module")
def invoice_xml() -> bytes:
    return (FIXTURES / "fatturapa-ns2-windows1252.xml").read_bytes()


@pytest.fixture(scope="module")
def plain_records(invoice_xml):
    return read_invoices(invoice_xml, "IT03123450011_Z9.xml")


def test_der(signer, invoice_xml, plain_records):
    der = sign(invoice_xml, signer)
    assert der.startswith(b"\x30") and SIGNED_DATA_OID in der[:16]
    assert read_invoices(der, "IT03123450011_Z9.xml.p7m") == plain_records


def test_base64_with_line_breaks(signer, invoice_xml, plain_records):
    encoded = base64.encodebytes(sign(invoice_xml, signer))
    assert b"\n" in encoded
    assert read_invoices(encoded, "IT03123450011_Z9.xml.p7m") == plain_records


def test_base64_on_one_line_with_crlf_end(signer, invoice_xml, plain_records):
    encoded = base64.b64encode(sign(invoice_xml, signer)) + b"\r\n"
    assert read_invoices(encoded, "IT03123450011_Z9.xml.p7m") == plain_records


def test_pem_armour(signer, invoice_xml, plain_records):
    certificate, key = signer
    pem = (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(invoice_xml)
        .add_signer(certificate, key, hashes.SHA256())
        .sign(serialization.Encoding.PEM, [])
    )
    assert pem.startswith(b"-----BEGIN PKCS7-----")
    assert read_invoices(pem, "IT03123450011_Z9.xml.p7m") == plain_records


@pytest.mark.parametrize("filename", ["", "invoice.xml", "upload.bin"])
def test_detected_by_content_not_by_name(signer, invoice_xml, plain_records, filename):
    assert read_invoices(sign(invoice_xml, signer), filename) == plain_records


def test_several_bodies_inside(signer):
    xml = (FIXTURES / "fatturapa-two-bodies.xml").read_bytes()
    records = read_invoices(sign(xml, signer), "two.xml.p7m")
    assert [record.number for record in records] == ["2024/001", "2024/002"]


def test_signed_twice(signer, invoice_xml, plain_records):
    # Binary: without it the builder canonicalises line ends to CRLF, which breaks DER content.
    inner = sign(invoice_xml, signer)
    outer = sign(inner, signer, [pkcs7.PKCS7Options.Binary])
    assert read_invoices(outer, "x.xml.p7m.p7m") == plain_records


def test_ber_indefinite_length_with_chunked_content(invoice_xml, plain_records):
    assert read_invoices(ber_signed_data(invoice_xml), "x.xml.p7m") == plain_records


def test_plain_xml_named_p7m_is_read_as_xml(invoice_xml, plain_records):
    assert read_invoices(invoice_xml, "IT03123450011_Z9.xml.p7m") == plain_records


def test_detached_signature_carries_no_document(signer, invoice_xml):
    detached = sign(invoice_xml, signer, [pkcs7.PKCS7Options.DetachedSignature])
    with pytest.raises(EInvoiceError, match="carries no document"):
        read_invoices(detached, "x.xml.p7m")


def test_truncated_envelope(signer, invoice_xml):
    der = sign(invoice_xml, signer)
    with pytest.raises(EInvoiceError, match="could not be decoded") as caught:
        read_invoices(der[: len(der) // 2], "x.xml.p7m")
    assert caught.value.format is None


def test_garbage_named_p7m():
    with pytest.raises(EInvoiceError, match=r"\.p7m file is not a readable signed"):
        read_invoices(b"\x01\x02garbage" * 50, "IT01234567890_00001.xml.p7m")


def test_signed_content_gets_the_same_hardening(signer, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    xxe = (
        f'<?xml version="1.0"?><!DOCTYPE p [<!ENTITY x SYSTEM "{secret.as_uri()}">]>'
        "<FatturaElettronica versione='FPR12'>&x;</FatturaElettronica>"
    ).encode()
    with pytest.raises(EInvoiceError, match="DOCTYPE") as caught:
        read_invoices(sign(xxe, signer), "x.xml.p7m")
    assert "TOP-SECRET-VALUE" not in str(caught.value)


def test_signed_content_that_is_not_xml(signer):
    with pytest.raises(EInvoiceError, match="not an XML document"):
        read_invoices(sign(b"%PDF-1.7 not an invoice", signer), "x.pdf.p7m")
