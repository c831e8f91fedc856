"""Tax ids: NIT (CO), Partita IVA and Codice Fiscale (IT), RFC (MX)."""

from __future__ import annotations

import pytest

from saas.einvoice.taxids import (
    InvalidTaxId,
    codice_fiscale_check_char,
    is_valid_codice_fiscale,
    is_valid_nit,
    is_valid_partita_iva,
    is_valid_rfc,
    is_valid_tax_id,
    nit_check_digit,
    normalize_tax_id,
    partita_iva_check_digit,
)

# Colombia


@pytest.mark.parametrize(
    ("number", "check_digit"),
    [
        ("800197268", 4),  # DIAN itself, 800.197.268-4
        ("890903938", 8),  # Bancolombia, 890.903.938-8
        ("899999068", 1),  # Ecopetrol, 899.999.068-1: remainder 1 is kept as is
        ("900123456", 8),
        ("901210113", 3),  # parties of the samples
        ("900108281", 3),
        ("9000000", 3),
    ],
)
def test_nit_check_digit(number, check_digit):
    assert nit_check_digit(number) == check_digit


def test_nit_check_digit_remainders_zero_and_one_are_kept():
    # r = sum % 11, and r < 2 is the check digit itself: "4" -> 4*3 = 12, r = 1; "0" -> r = 0.
    assert nit_check_digit("4") == 1
    assert nit_check_digit("0") == 0
    assert nit_check_digit("11") == 1  # 1*3 + 1*7 = 10, r = 10 -> 11 - 10


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("900.123.456-8", "900123456-8"),
        ("900123456-8", "900123456-8"),
        ("9001234568", "900123456-8"),  # ten digits, the last one the matching check digit
        ("900123456", "900123456-8"),  # bare number: check digit computed
        (" 900 123 456 - 8 ", "900123456-8"),
        ("901.210.113-3", "901210113-3"),
        ("1020304050", "1020304050-8"),  # ten digits whose last is not a check digit: a number
        ("9000000", "9000000-3"),
    ],
)
def test_nit_spellings(raw, expected):
    assert normalize_tax_id("CO", raw) == expected
    assert is_valid_nit(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "900123456-7",  # wrong check digit
        "900.123.456-0",
        "9000000-9",  # the credit note sample's supplier
        "900123456-88",
        "90012345A",
        "NIT 900123456",
        "12",  # too short
        "1234567890123456",  # 16 digits: more than the weights
        "",
        "   ",
    ],
)
def test_invalid_nit(raw):
    with pytest.raises(InvalidTaxId):
        normalize_tax_id("CO", raw)
    assert not is_valid_nit(raw)


def test_wrong_nit_check_digit_message():
    with pytest.raises(InvalidTaxId) as caught:
        normalize_tax_id("CO", "900.123.456-7")
    assert str(caught.value) == (
        "NIT 900123456-7 has a wrong check digit: 900123456 has check digit 8"
    )


# Italy


def test_partita_iva_check_digit():
    assert partita_iva_check_digit("1234567890") == 3
    assert partita_iva_check_digit("0987654321") == 7


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("12345670157", "12345670157"),
        ("IT12345670157", "12345670157"),
        ("it 123 456 701 57", "12345670157"),
        ("13029381004", "13029381004"),
        ("09876540585", "09876540585"),
        ("80012340586", "80012340586"),  # a numeric Codice Fiscale follows the same rule
    ],
)
def test_partita_iva(raw, expected):
    assert normalize_tax_id("IT", raw) == expected
    assert is_valid_partita_iva(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "12345678901",
        "1234567890",
        "123456789012",
        "00000000000",
        "IT1234567890",
        "DE12345670157",
        "12345678903",  # right check digit, but 890 (digits 8 to 10) is no tax office
    ],
)
def test_invalid_partita_iva(raw):
    with pytest.raises(InvalidTaxId):
        normalize_tax_id("IT", raw)
    assert not is_valid_partita_iva(raw)


def test_codice_fiscale_check_char():
    assert codice_fiscale_check_char("RSSMRA85T10A562") == "S"
    assert codice_fiscale_check_char("MRTMTT91D08F205") == "J"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("RSSMRA85T10A562S", "RSSMRA85T10A562S"),
        ("rssmra85t10a562s", "RSSMRA85T10A562S"),
        (" RSS MRA 85T10 A562S ", "RSSMRA85T10A562S"),
        ("MRTMTT91D08F205J", "MRTMTT91D08F205J"),
        ("RSSMRA85T10A56NH", "RSSMRA85T10A56NH"),  # omocodia: the last 2 written as N
        ("BNCLRA90M41F205Z", "BNCLRA90M41F205Z"),  # a woman: day 01 + 40
    ],
)
def test_codice_fiscale(raw, expected):
    assert normalize_tax_id("IT", raw) == expected
    assert is_valid_codice_fiscale(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "RSSMRA85T10A562T",  # wrong check character
        "RSSMRA85T10A56NS",  # omocodia with the unchanged check character
        "RSSMRA85Z10A562S",  # Z is no month
        "RSSMRA85T10A562",  # 15 characters
        "RSSMRA85B30A562G",  # right check character, but there is no 30 February
        "1234567890123456",
    ],
)
def test_invalid_codice_fiscale(raw):
    with pytest.raises(InvalidTaxId):
        normalize_tax_id("IT", raw)
    assert not is_valid_codice_fiscale(raw)


# Mexico


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("H&E951128469", "H&E951128469"),  # company, 12 characters, with "&"
        ("KIJ0906199R1", "KIJ0906199R1"),
        ("BASJ600902KL9", "BASJ600902KL9"),  # person, 13 characters
        ("  aaa010101aaa ", "AAA010101AAA"),
        ("ñ&m850101ab1", "Ñ&M850101AB1"),
        ("MUN\N{COMBINING TILDE}O800101AB2", "MUÑO800101AB2"),  # decomposed Ñ
        ("BASJ-600902-KL9", "BASJ600902KL9"),
        ("XAXX010101000", "XAXX010101000"),  # generic RFC, Mexican public
        ("XEXX010101000", "XEXX010101000"),  # generic RFC, foreign customer
    ],
)
def test_rfc(raw, expected):
    assert normalize_tax_id("MX", raw) == expected
    assert is_valid_rfc(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "AA010101AAA",  # two letters
        "AAAAA010101AAA",  # five letters
        "AAA01010AAAA",  # five digits
        "AAA010101AA",  # two-character homoclave
        "AAA010101AA_",
        "A1A010101AAA",
        "AAA011301AAA",  # no 13th month
        "BASJ600902",  # a person's RFC without homoclave
        "AAA010101AAA_",
        "",
    ],
)
def test_invalid_rfc(raw):
    with pytest.raises(InvalidTaxId):
        normalize_tax_id("MX", raw)
    assert not is_valid_rfc(raw)


# Dispatch


def test_country_is_case_insensitive():
    assert normalize_tax_id("co", "900123456") == "900123456-8"
    assert is_valid_tax_id("it", "IT12345670157")


def test_unsupported_country():
    with pytest.raises(InvalidTaxId, match="'US'"):
        normalize_tax_id("US", "123456789")
    assert not is_valid_tax_id("US", "123456789")


def test_invalid_tax_id_is_a_value_error():
    assert issubclass(InvalidTaxId, ValueError)
