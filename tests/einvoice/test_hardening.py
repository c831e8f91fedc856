"""Hostile uploads: every one raises EInvoiceError, returns no data, reads and fetches nothing."""

from __future__ import annotations

import random
import re
import socket
import threading
import time

import pytest

from saas.einvoice import MAX_BYTES, EInvoiceError, read_invoices
from saas.einvoice import xml as einvoice_xml
from saas.einvoice.xml import MAX_DEPTH, parse_xml
from tests.einvoice.conftest import FIXTURES

CFDI_ROOT = '<cfdi:Comprobante xmlns:cfdi="http://www.sat.gob.mx/cfd/4" Version="4.0"'


class Listener:
    """A loopback TCP server that counts the connections made to it (and answers none)."""

    def __init__(self) -> None:
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.05)
        self._count = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.getsockname()[1]}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._server.accept()
            except TimeoutError:
                continue
            self._count += 1
            connection.close()  # a fetch gets nothing and cannot hang the test

    def connections(self) -> int:
        self._stop.set()
        self._thread.join()
        # A connection the kernel completed but the thread had not accepted yet counts too.
        self._server.setblocking(False)
        try:
            while True:
                self._server.accept()[0].close()
                self._count += 1
        except BlockingIOError:
            return self._count

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._server.close()


@pytest.fixture
def listener():
    server = Listener()
    yield server
    server.close()


@pytest.fixture
def secret_file(tmp_path):
    """A local file whose contents must never show up anywhere."""
    path = tmp_path / "secret.txt"
    path.write_text("TOP-SECRET-VALUE")
    return path


def refused(data: bytes, filename: str = "", match: str | None = None) -> EInvoiceError:
    """Assert that reading ``data`` raises EInvoiceError (optionally matching), return it."""
    with pytest.raises(EInvoiceError, match=match) as caught:
        read_invoices(data, filename)
    return caught.value


# Entities and DOCTYPE


def test_billion_laughs():
    data = (FIXTURES / "billion-laughs.xml").read_bytes()
    started = time.monotonic()
    error = refused(data, match="DOCTYPE")
    assert time.monotonic() - started < 5
    assert "lol" not in str(error)


def test_external_entity_etc_passwd():
    data = (
        '<?xml version="1.0"?>\n<!DOCTYPE c [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
        f'{CFDI_ROOT} Serie="&xxe;"/>'
    ).encode()
    error = refused(data, match="DOCTYPE")
    assert "root:" not in str(error)


def test_external_entity_local_file(secret_file):
    data = (
        f'<!DOCTYPE c [<!ENTITY xxe SYSTEM "{secret_file.as_uri()}">]>{CFDI_ROOT} Serie="&xxe;"/>'
    ).encode()
    assert "TOP-SECRET-VALUE" not in str(refused(data, match="DOCTYPE"))


def test_external_entity_http(listener):
    data = (
        f'<!DOCTYPE c [<!ENTITY xxe SYSTEM "{listener.url}/entity">]>{CFDI_ROOT} Serie="&xxe;"/>'
    ).encode()
    refused(data, match="DOCTYPE")
    assert listener.connections() == 0


def test_external_dtd_http(listener):
    data = f'<!DOCTYPE c SYSTEM "{listener.url}/evil.dtd">{CFDI_ROOT}/>'.encode()
    refused(data, match="DOCTYPE")
    assert listener.connections() == 0


def test_parameter_entity_http(listener):
    data = (
        f'<!DOCTYPE c [<!ENTITY % remote SYSTEM "{listener.url}/p.dtd"> %remote;]>{CFDI_ROOT}/>'
    ).encode()
    refused(data, match="DOCTYPE")
    assert listener.connections() == 0


def test_doctype_only_file():
    refused((FIXTURES / "doctype-only.xml").read_bytes(), match="DOCTYPE")


@pytest.mark.parametrize(
    "data",
    [
        b'<!doctype c SYSTEM "file:///etc/passwd"><c/>',  # lower case
        b"<?xml version='1.0'?>\n<!-- note -->\n<!DocType c><c/>",  # mixed case, after a comment
        b"<!--" + b"x" * 200_000 + b"-->\n<!DOCTYPE c><c/>",  # pushed far from the start
        '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE c><c/>'.encode("utf-16"),
        '<?xml version="1.0" encoding="UTF-16BE"?><!DOCTYPE c><c/>'.encode("utf-16-be"),
        b"\xef\xbb\xbf<!DOCTYPE c><c/>",  # after a UTF-8 byte order mark
    ],
    ids=["lower", "mixed-case", "far", "utf-16", "utf-16be", "bom"],
)
def test_doctype_in_any_spelling_or_encoding(data):
    refused(data, match="DOCTYPE")


def test_exotic_encoding_that_could_hide_markup():
    # In UTF-7 "+ADw-" is "<": libxml2 decodes it, so "<!DOCTYPE" could be written unseen.
    data = b'<?xml version="1.0" encoding="UTF-7"?>+ADw-!DOCTYPE c+AD4-<c/>'
    refused(data, match="encoding 'UTF-7' is not supported")


@pytest.mark.parametrize(
    "payload",
    ["file-entity", "http-entity", "billion-laughs"],
)
def test_parser_settings_hold_even_without_the_doctype_scan(
    monkeypatch, listener, secret_file, payload
):
    # Second line of defence: with the pre-parse scan disabled, lxml's settings still neither
    # read nor fetch nor expand anything, and the parsed DOCTYPE is refused afterwards (the
    # billion laughs stops earlier, at libxml2's entity amplification limit).
    monkeypatch.setattr(einvoice_xml, "_DOCTYPE", re.compile(rb"(?!)"))
    documents = {
        "file-entity": f'<!DOCTYPE c [<!ENTITY x SYSTEM "{secret_file.as_uri()}">]><c>&x;</c>',
        "http-entity": f'<!DOCTYPE c [<!ENTITY x SYSTEM "{listener.url}/e">]><c>&x;</c>',
        "billion-laughs": (FIXTURES / "billion-laughs.xml").read_text(),
    }
    started = time.monotonic()
    with pytest.raises(EInvoiceError, match=r"DOCTYPE|entity amplification") as caught:
        parse_xml(documents[payload].encode())
    assert time.monotonic() - started < 5
    assert "TOP-SECRET-VALUE" not in str(caught.value)
    assert listener.connections() == 0


# Size and depth


def test_over_max_bytes_is_refused_before_parsing(monkeypatch):
    def never_parse(*args, **kwargs):
        raise AssertionError("an oversized file reached the XML parser")

    monkeypatch.setattr(einvoice_xml.etree, "fromstring", never_parse)
    data = b"<c>" + b" " * (MAX_BYTES + 1 - len(b"<c></c>")) + b"</c>"
    assert len(data) == MAX_BYTES + 1
    error = refused(data, match="larger than the limit of 10 MiB")
    assert error.format is None and error.field is None


def test_max_bytes_exactly_is_accepted(samples):
    data = (samples / "mx" / "ingreso_iva16_stamped.xml").read_bytes()
    # Padded after the root element with 1 MiB comments (libxml2 refuses a single text or
    # comment over 10,000,000 bytes without huge_tree), then spaces.
    comment = b"\n<!--" + b"x" * (1024 * 1024) + b"-->"
    data += comment * ((MAX_BYTES - len(data)) // len(comment))
    data += b" " * (MAX_BYTES - len(data))
    assert len(data) == MAX_BYTES
    assert read_invoices(data)[0].number == "A123456"


def test_200_deep_nesting():
    data = (CFDI_ROOT + ">" + "<x>" * 200 + "</x>" * 200 + "</cfdi:Comprobante>").encode()
    refused(data, match=f"deeper than {MAX_DEPTH} levels")


def test_depth_limit_is_exact():
    assert MAX_DEPTH == 100
    parse_xml(b"<x>" * 100 + b"</x>" * 100)
    with pytest.raises(EInvoiceError, match="deeper than 100"):
        parse_xml(b"<x>" * 101 + b"</x>" * 101)


def test_nesting_beyond_libxml2_limit():
    refused(b"<x>" * 5000 + b"</x>" * 5000, match=r"not well-formed|deeper")


# Not XML at all


@pytest.mark.parametrize("seed", range(5))
def test_garbage_bytes(seed):
    data = random.Random(seed).randbytes(4096)
    refused(data, filename="invoice.xml")


def test_garbage_that_starts_like_xml():
    refused(b"<" + random.Random(7).randbytes(4096), match="not well-formed")


@pytest.mark.parametrize("data", [b"", b"   \n\t ", b"\x00" * 10])
def test_empty_file(data):
    error = refused(data)
    assert str(error) in (
        "Unrecognised e-invoice: the file is empty",
        "Unrecognised e-invoice: the file is neither XML nor a signed .p7m envelope",
    )


def test_empty_file_message():
    assert str(refused(b"")) == "Unrecognised e-invoice: the file is empty"


def test_unknown_root_element():
    error = refused(b'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"/>')
    assert error.format is None
    assert error.field is None
    assert str(error) == (
        "Unrecognised e-invoice: the root element html in namespace http://www.w3.org/1999/xhtml "
        "is not a DIAN UBL 2.1, FatturaPA 1.2, FatturaPA semplificata or CFDI 4.0 document"
    )


def test_error_is_a_value_error_with_its_parts():
    error = refused((FIXTURES / "cfdi-untrimmed.xml").read_bytes().replace(b"Moneda", b"Coin"))
    assert isinstance(error, ValueError)
    assert (error.format, error.field) == ("cfdi-40", "cfdi:Comprobante/@Moneda")
    assert error.message == str(error) == "CFDI 4.0: missing field cfdi:Comprobante/@Moneda"
