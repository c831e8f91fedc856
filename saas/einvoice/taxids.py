"""Tax identifiers of Colombia, Italy and Mexico: validation and one normalised spelling each.

Normalised forms (what the portal stores and compares):

- CO, NIT: the number, "-", then the DIAN check digit, e.g. "900123456-8".
- IT: a Partita IVA as its 11 digits (no "IT" prefix), or a Codice Fiscale as 16 upper-case
  characters.
- MX, RFC: 12 (company) or 13 (person) upper-case characters, e.g. "H&E951128469".
"""

from __future__ import annotations

import re
import unicodedata

# DIAN weights for the NIT check digit, applied from the rightmost digit of the number.
NIT_WEIGHTS = (3, 7, 13, 17, 19, 23, 29, 37, 41, 43, 47, 53, 59, 67, 71)
NIT_MIN_DIGITS = 3

_NIT = re.compile(r"([0-9]+)(?:-([0-9]))?")
_PARTITA_IVA = re.compile(r"[0-9]{11}")
# Codice Fiscale: surname and name letters, year, month letter, day, municipality, check
# letter. Homocodes ("omocodia") replace digits with the letters LMNPQRSTUV.
_CODICE_FISCALE = re.compile(
    r"[A-Z]{6}[0-9LMNPQRSTUV]{2}[ABCDEHLMPRST][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]"
)
_RFC = re.compile(r"[A-ZÑ&]{3,4}[0-9]{6}[A-Z0-9]{3}")

# Value of a character in an odd (1st, 3rd, ...) position of a Codice Fiscale; digits count
# like the letter in the same place of the alphabet (0 like A, 1 like B, ...).
# fmt: off
_CF_ODD_VALUES = {
    "A": 1, "B": 0, "C": 5, "D": 7, "E": 9, "F": 13, "G": 15, "H": 17, "I": 19, "J": 21,
    "K": 2, "L": 4, "M": 18, "N": 20, "O": 11, "P": 3, "Q": 6, "R": 8, "S": 12, "T": 14,
    "U": 16, "V": 10, "W": 22, "X": 25, "Y": 24, "Z": 23,
}
# fmt: on


class InvalidTaxId(ValueError):
    """A tax id that is malformed or whose check digit is wrong; the message says which."""


def normalize_tax_id(country: str, raw: str) -> str:
    """Return the normalised spelling of ``raw``, a tax id of ``country`` ("CO", "IT", "MX").

    Raises InvalidTaxId, with an English message, when it is not a valid tax id of that country.
    """
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidTaxId("the tax id is empty")
    normalizers = {"CO": normalize_nit, "IT": _normalize_italian, "MX": normalize_rfc}
    normalize = normalizers.get(str(country).strip().upper())
    if normalize is None:
        raise InvalidTaxId(f"tax ids of country {country!r} are not supported")
    return normalize(raw)


def is_valid_tax_id(country: str, raw: str) -> bool:
    """True when ``raw`` is a valid tax id of ``country`` in any accepted spelling."""
    try:
        normalize_tax_id(country, raw)
    except InvalidTaxId:
        return False
    return True


# Colombia


def nit_check_digit(number: str) -> int:
    """The DIAN check digit ("dígito de verificación") of a NIT given without it."""
    if not re.fullmatch(r"[0-9]{1,15}", number):
        raise InvalidTaxId(f"{number!r} is not a NIT number of 1 to 15 digits")
    # zip stops at the number's last digit: shorter numbers use only the first weights.
    pairs = zip(reversed(number), NIT_WEIGHTS, strict=False)
    total = sum(int(digit) * weight for digit, weight in pairs)
    remainder = total % 11
    return remainder if remainder < 2 else 11 - remainder


def normalize_nit(raw: str) -> str:
    """A Colombian NIT as "number-checkdigit".

    Accepts "900.123.456-8", "900123456-8", "9001234568" (ten digits whose last one is the
    check digit of the first nine) and the bare number "900123456" (the check digit is
    computed). A ten-digit input whose last digit is not the check digit of the other nine is
    taken as a ten-digit number, as NITs of people are. A wrong explicit check digit raises.
    """
    cleaned = re.sub(r"[\s.,]", "", raw)
    match = _NIT.fullmatch(cleaned)
    if not match:
        raise InvalidTaxId(
            f"{raw.strip()!r} is not a Colombian NIT: expected digits and an optional check "
            "digit, like 900123456-8"
        )
    number, given = match.groups()
    if given is None and len(number) == 10 and nit_check_digit(number[:9]) == int(number[9]):
        number, given = number[:9], number[9]
    if not NIT_MIN_DIGITS <= len(number) <= len(NIT_WEIGHTS):
        raise InvalidTaxId(
            f"{raw.strip()!r} is not a Colombian NIT: the number must have "
            f"{NIT_MIN_DIGITS} to {len(NIT_WEIGHTS)} digits"
        )
    expected = nit_check_digit(number)
    if given is not None and int(given) != expected:
        raise InvalidTaxId(
            f"NIT {number}-{given} has a wrong check digit: {number} has check digit {expected}"
        )
    return f"{number}-{expected}"


def is_valid_nit(raw: str) -> bool:
    """True when ``raw`` is a NIT in an accepted spelling with a correct check digit if given."""
    return is_valid_tax_id("CO", raw)


# Italy


def partita_iva_check_digit(first_ten: str) -> int:
    """The check digit (11th digit) of a Partita IVA, from its first ten digits."""
    if not re.fullmatch(r"[0-9]{10}", first_ten):
        raise InvalidTaxId(f"{first_ten!r} is not the first ten digits of a Partita IVA")
    total = 0
    for position, char in enumerate(first_ten, start=1):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10


def codice_fiscale_check_char(first_fifteen: str) -> str:
    """The check letter (16th character) of a Codice Fiscale, from its first fifteen."""
    if not re.fullmatch(r"[A-Z0-9]{15}", first_fifteen):
        raise InvalidTaxId(f"{first_fifteen!r} is not the first 15 characters of a Codice Fiscale")
    total = 0
    for position, char in enumerate(first_fifteen, start=1):
        # Digits count as the letter in the same place of the alphabet (0 = A, 1 = B, ...).
        letter = chr(ord("A") + int(char)) if char.isdigit() else char
        if position % 2 == 1:
            total += _CF_ODD_VALUES[letter]
        else:
            total += ord(letter) - ord("A")
    return chr(ord("A") + total % 26)


def is_valid_partita_iva(raw: str) -> bool:
    """True for 11 digits (optionally prefixed "IT") with a correct check digit."""
    cleaned = _clean_italian(raw)
    return _is_partita_iva(cleaned)


def is_valid_codice_fiscale(raw: str) -> bool:
    """True for a 16-character Codice Fiscale (any case) with a correct check letter.

    The 11-digit Codice Fiscale of a company is a Partita IVA: use is_valid_partita_iva.
    """
    cleaned = _clean_italian(raw)
    return _is_codice_fiscale(cleaned)


def _clean_italian(raw: str) -> str:
    cleaned = re.sub(r"\s", "", raw).upper()
    if re.fullmatch(r"IT[0-9]{11}", cleaned):
        cleaned = cleaned[2:]
    return cleaned


def _is_partita_iva(cleaned: str) -> bool:
    return (
        bool(_PARTITA_IVA.fullmatch(cleaned))
        and cleaned != "0" * 11
        and partita_iva_check_digit(cleaned[:10]) == int(cleaned[10])
    )


def _is_codice_fiscale(cleaned: str) -> bool:
    return bool(_CODICE_FISCALE.fullmatch(cleaned)) and (
        codice_fiscale_check_char(cleaned[:15]) == cleaned[15]
    )


def _normalize_italian(raw: str) -> str:
    """A Partita IVA (11 digits, "IT" prefix removed) or a Codice Fiscale (16, upper-case)."""
    cleaned = _clean_italian(raw)
    if _PARTITA_IVA.fullmatch(cleaned):
        if not _is_partita_iva(cleaned):
            raise InvalidTaxId(f"Partita IVA {cleaned} has a wrong check digit")
        return cleaned
    if len(cleaned) == 16:
        if not _CODICE_FISCALE.fullmatch(cleaned):
            raise InvalidTaxId(f"{cleaned!r} is not shaped like an Italian Codice Fiscale")
        if not _is_codice_fiscale(cleaned):
            raise InvalidTaxId(f"Codice Fiscale {cleaned} has a wrong check character")
        return cleaned
    raise InvalidTaxId(
        f"{raw.strip()!r} is not an Italian tax id: expected a Partita IVA of 11 digits or a "
        "Codice Fiscale of 16 characters"
    )


# Mexico


def normalize_rfc(raw: str) -> str:
    """A Mexican RFC, trimmed and upper-cased; 12 characters (company) or 13 (person).

    The shape is 3 or 4 letters (Ñ and & included), a YYMMDD date and a 3-character
    homoclave; the generic RFCs XAXX010101000 and XEXX010101000 fit it.
    """
    # NFC so that an "Ñ" sent as N + combining tilde is one character, as SAT writes it.
    cleaned = re.sub(r"[\s-]", "", unicodedata.normalize("NFC", raw)).upper()
    if not _RFC.fullmatch(cleaned):
        raise InvalidTaxId(
            f"{raw.strip()!r} is not a Mexican RFC: expected 3 or 4 letters, 6 digits and 3 "
            "letters or digits, like ABC010203XY9"
        )
    return cleaned


def is_valid_rfc(raw: str) -> bool:
    """True when ``raw`` has the shape of a company or person RFC."""
    return is_valid_tax_id("MX", raw)
