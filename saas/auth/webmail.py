"""The way to a person's mailbox after we emailed them a link ("Go to Gmail").

Only providers whose webmail is known by the address's domain get a button: a
`mailto:` to the person's own address would only open a blank new email, and a company
domain may be read anywhere, so for every other address the page just says to open the
inbox.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Webmail:
    name: str  # the provider's own name, as its button shows it ("Go to Gmail")
    url: str


GMAIL = Webmail("Gmail", "https://mail.google.com/")
OUTLOOK = Webmail("Outlook", "https://outlook.live.com/mail/")
YAHOO = Webmail("Yahoo Mail", "https://mail.yahoo.com/")
ICLOUD = Webmail("iCloud Mail", "https://www.icloud.com/mail/")
PROTON = Webmail("Proton Mail", "https://mail.proton.me/")
ZOHO = Webmail("Zoho Mail", "https://mail.zoho.com/")
AOL = Webmail("AOL Mail", "https://mail.aol.com/")
LIBERO = Webmail("Libero Mail", "https://mail.libero.it/")
VIRGILIO = Webmail("Virgilio Mail", "https://mail.virgilio.it/")
TIM = Webmail("TIM Mail", "https://mail.tim.it/")
TISCALI = Webmail("Tiscali Mail", "https://mail.tiscali.it/")

# The free mailboxes common among the portals' people (Colombia, Italy, Mexico and
# everywhere): the provider's own domains, with their regional ones.
PROVIDERS: dict[Webmail, tuple[str, ...]] = {
    GMAIL: ("gmail.com", "googlemail.com"),
    OUTLOOK: (
        "outlook.com",
        "outlook.es",
        "outlook.it",
        "hotmail.com",
        "hotmail.es",
        "hotmail.it",
        "hotmail.com.mx",
        "live.com",
        "live.it",
        "live.com.mx",
        "msn.com",
    ),
    YAHOO: ("yahoo.com", "yahoo.es", "yahoo.it", "yahoo.com.mx", "ymail.com", "rocketmail.com"),
    ICLOUD: ("icloud.com", "me.com", "mac.com"),
    PROTON: ("proton.me", "protonmail.com", "protonmail.ch", "pm.me"),
    ZOHO: ("zoho.com", "zohomail.com"),
    AOL: ("aol.com",),
    LIBERO: ("libero.it", "inwind.it", "iol.it", "blu.it", "giallo.it"),
    VIRGILIO: ("virgilio.it",),
    TIM: ("tim.it", "alice.it", "tin.it"),
    TISCALI: ("tiscali.it",),
}
BY_DOMAIN = {domain: webmail for webmail, domains in PROVIDERS.items() for domain in domains}


def webmail_for(email: str) -> Webmail | None:
    """The webmail that reads `email`, when its domain tells (else None: no button)."""
    domain = email.strip().rpartition("@")[2].lower().rstrip(".")
    return BY_DOMAIN.get(domain)
