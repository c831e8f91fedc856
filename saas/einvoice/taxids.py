"""Tax identifiers of Colombia, Italy and Mexico: validation and one normalised spelling each.

The check-digit maths and the rules of each number are python-stdnum's (``stdnum.co.nit``,
``stdnum.it.iva``, ``stdnum.it.codicefiscale``, ``stdnum.mx.rfc``); this module adds what the
portal decides: the spellings it accepts, the one it stores, and the messages.

Normalised forms (what the portal stores and compares):

- CO, NIT: the number, "-", then the DIAN check digit, e.g. "900123456-8".
- IT: a Partita IVA as its 11 digits (no "IT" prefix), or a Codice Fiscale as 16 upper-case
  characters.
- MX, RFC: 12 (company) or 13 (person) upper-case characters, e.g. "H&E951128469".
"""

from __future__ import annotations

import re
import unicodedata
from types import ModuleType

from stdnum import luhn
from stdnum.co import nit
from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat, ValidationError
from stdnum.it import codicefiscale, iva
from stdnum.mx import rfc

# By hand: stdnum.co.nit.validate wants 7 to 15 digits before the check digit, but a person's
# NIT is their cédula number, which has fewer digits for older cédulas. The portal keeps its
# own bounds and uses stdnum only for the check digit.
NIT_MIN_DIGITS = 3
NIT_MAX_DIGITS = 15

_NIT = re.compile(r"([0-9]+)(?:-([0-9]))?")
_PARTITA_IVA = re.compile(r"[0-9]{11}")


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
    # stdnum would silently ignore digits past its 15 weights, and fail on non-digits.
    if not re.fullmatch(rf"[0-9]{{1,{NIT_MAX_DIGITS}}}", number):
        raise InvalidTaxId(f"{number!r} is not a NIT number of 1 to {NIT_MAX_DIGITS} digits")
    return int(nit.calc_check_digit(number))


def normalize_nit(raw: str) -> str:
    """A Colombian NIT as "number-checkdigit".

    Accepts "900.123.456-8", "900123456-8", "9001234568" (ten digits whose last one is the
    check digit of the first nine) and the bare number "900123456" (the check digit is
    computed). A ten-digit input whose last digit is not the check digit of the other nine is
    taken as a ten-digit number, as NITs of people are. A wrong explicit check digit raises.
    """
    # By hand: stdnum.co.nit.compact drops every "-", so "900123456-88" would pass as an
    # 11-digit NIT, and it always reads the last digit as the check digit; the portal also
    # takes the bare number.
    cleaned = re.sub(r"[\s.,]", "", raw)
    match = _NIT.fullmatch(cleaned)
    if not match:
        raise InvalidTaxId(
            f"{raw.strip()!r} is not a Colombian NIT: expected digits and an optional check "
            "digit, like 900123456-8"
        )
    number, given = match.groups()
    if given is None and len(number) == 10 and nit.is_valid(number):
        number, given = number[:9], number[9]
    if not NIT_MIN_DIGITS <= len(number) <= NIT_MAX_DIGITS:
        raise InvalidTaxId(
            f"{raw.strip()!r} is not a Colombian NIT: the number must have "
            f"{NIT_MIN_DIGITS} to {NIT_MAX_DIGITS} digits"
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

# The check-digit helpers test their input first: stdnum would fail on it with a KeyError or
# a ValueError of its own.


def partita_iva_check_digit(first_ten: str) -> int:
    """The check digit (11th digit) of a Partita IVA, from its first ten digits."""
    if not re.fullmatch(r"[0-9]{10}", first_ten):
        raise InvalidTaxId(f"{first_ten!r} is not the first ten digits of a Partita IVA")
    return int(luhn.calc_check_digit(first_ten))  # the Partita IVA's check digit is Luhn's


def codice_fiscale_check_char(first_fifteen: str) -> str:
    """The check letter (16th character) of a Codice Fiscale, from its first fifteen."""
    if not re.fullmatch(r"[A-Z0-9]{15}", first_fifteen):
        raise InvalidTaxId(f"{first_fifteen!r} is not the first 15 characters of a Codice Fiscale")
    return codicefiscale.calc_check_digit(first_fifteen)


def is_valid_partita_iva(raw: str) -> bool:
    """True for 11 digits (optionally prefixed "IT") with a correct check digit and office code."""
    cleaned = _clean_italian(raw)
    return bool(_PARTITA_IVA.fullmatch(cleaned)) and iva.is_valid(cleaned)


def is_valid_codice_fiscale(raw: str) -> bool:
    """True for a 16-character Codice Fiscale (any case) with a correct check letter and date.

    The 11-digit Codice Fiscale of a company is a Partita IVA: use is_valid_partita_iva.
    """
    cleaned = _clean_italian(raw)
    # stdnum's codicefiscale also takes 11 digits (as a Partita IVA): only 16 characters here.
    return len(cleaned) == 16 and codicefiscale.is_valid(cleaned)


def _clean_italian(raw: str) -> str:
    # By hand: stdnum would also drop "-" and ":" and an "IT" before anything; the portal
    # takes spaces only, and "IT" only before the 11 digits of a Partita IVA.
    cleaned = re.sub(r"\s", "", raw).upper()
    if re.fullmatch(r"IT[0-9]{11}", cleaned):
        cleaned = cleaned[2:]
    return cleaned


# What each of stdnum's refusals means, per kind of Italian number.
_ITALIAN_PROBLEMS = {
    (iva, InvalidChecksum): "Partita IVA {} has a wrong check digit",
    (iva, InvalidFormat): "Partita IVA {} has no company number: its first 7 digits are zeros",
    (iva, InvalidComponent): (
        "Partita IVA {} has no valid tax office code in digits 8 to 10 (001 to 100, 120, 121, "
        "888 or 999)"
    ),
    (codicefiscale, InvalidChecksum): "Codice Fiscale {} has a wrong check character",
    (codicefiscale, InvalidFormat): "{!r} is not shaped like an Italian Codice Fiscale",
    (codicefiscale, InvalidComponent): "Codice Fiscale {} has an impossible birth date",
}


def _normalize_italian(raw: str) -> str:
    """A Partita IVA (11 digits, "IT" prefix removed) or a Codice Fiscale (16, upper-case)."""
    cleaned = _clean_italian(raw)
    if not (_PARTITA_IVA.fullmatch(cleaned) or len(cleaned) == 16):
        raise InvalidTaxId(
            f"{raw.strip()!r} is not an Italian tax id: expected a Partita IVA of 11 digits or a "
            "Codice Fiscale of 16 characters"
        )
    kind: ModuleType = iva if len(cleaned) == 11 else codicefiscale
    try:
        kind.validate(cleaned)
    except ValidationError as exc:
        problem = _ITALIAN_PROBLEMS.get((kind, type(exc)), _ITALIAN_PROBLEMS[kind, InvalidFormat])
        raise InvalidTaxId(problem.format(cleaned)) from None
    return cleaned


# Mexico


def normalize_rfc(raw: str) -> str:
    """A Mexican RFC, trimmed and upper-cased; 12 characters (company) or 13 (person).

    The shape is 3 or 4 letters (Ñ and & included), a YYMMDD date and a 3-character
    homoclave; the generic RFCs XAXX010101000 and XEXX010101000 fit it. The homoclave's check
    digit is not checked: SAT has issued RFCs whose check digit does not match (stdnum leaves
    that check off by default for this reason).
    """
    # NFC so that an "Ñ" sent as N + combining tilde is one character, as SAT writes it.
    cleaned = re.sub(r"[\s-]", "", unicodedata.normalize("NFC", raw)).upper()
    # By hand: stdnum also takes a person's 10-character RFC without homoclave, which is not
    # the RFC of an invoice, and drops "_" (so its answer must be the input unchanged).
    if len(cleaned) in (12, 13):
        try:
            if rfc.validate(cleaned) == cleaned:
                return cleaned
        except InvalidComponent:
            raise InvalidTaxId(
                f"RFC {cleaned} is not one SAT assigns: {cleaned[-9:-3]} is not a YYMMDD date, "
                "or its first letters are a word SAT replaces"
            ) from None
        except ValidationError:
            pass
    raise InvalidTaxId(
        f"{raw.strip()!r} is not a Mexican RFC: expected 3 or 4 letters, 6 digits and 3 "
        "letters or digits, like ABC010203XY9"
    )


def is_valid_rfc(raw: str) -> bool:
    """True when ``raw`` has the shape of a company or person RFC, with a real date."""
    return is_valid_tax_id("MX", raw)
