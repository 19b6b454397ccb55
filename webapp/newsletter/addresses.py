"""Email addresses, names and IP addresses: checked and reduced to what we keep."""

import ipaddress
import unicodedata
from dataclasses import dataclass

from email_validator import EmailNotValidError, EmailUndeliverableError, validate_email

MAX_EMAIL = 254
MAX_NAME = 100
# Line breaks, control characters and the invisible bidirectional overrides that make a name in a
# CSV or an email header read differently from what it is.
FORBIDDEN_CATEGORIES = {"Cc", "Cs", "Co", "Cn", "Zl", "Zp"}
BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")

NOT_AN_ADDRESS = "That doesn't look like an email address. Check it, for example name@example.com."


class InvalidAddress(ValueError):
    """The address cannot be used; the message says why, in words for the reader."""


@dataclass(frozen=True)
class Address:
    email: str  # as typed, with the domain lower-cased and IDNA-normalised
    key: str  # the whole address lower-cased: one person, one row


def has_forbidden_characters(text: str, allow_format: bool = False) -> bool:
    """Tell whether `text` holds line breaks, control characters or direction overrides."""
    for char in text:
        category = unicodedata.category(char)
        if category in FORBIDDEN_CATEGORIES or char in BIDI_CONTROLS:
            return True
        if category == "Cf" and not allow_format:
            return True
    return False


def normalise_email(raw: str, check_deliverability: bool = False) -> Address:
    """Return the address to store and its key, or raise InvalidAddress with a clear message."""
    text = (raw or "").strip(" ")
    if not text:
        raise InvalidAddress("Enter your email address.")
    if len(text) > MAX_EMAIL:
        raise InvalidAddress(f"That's too long for an email address (at most {MAX_EMAIL} characters).")
    if has_forbidden_characters(text):
        raise InvalidAddress("An email address can't contain line breaks or control characters.")
    try:
        result = validate_email(text, check_deliverability=check_deliverability, allow_smtputf8=False)
    except EmailUndeliverableError:
        raise InvalidAddress("That domain doesn't accept email. Check the part after the @.") from None
    except EmailNotValidError:
        if "@" in text and not text.split("@", 1)[0].isascii():
            raise InvalidAddress("We can only send to addresses with plain letters before the @.") from None
        raise InvalidAddress(NOT_AN_ADDRESS) from None
    email = result.normalized
    if len(email) > MAX_EMAIL:  # a Unicode domain can grow when normalised
        raise InvalidAddress(f"That's too long for an email address (at most {MAX_EMAIL} characters).")
    return Address(email=email, key=email.lower())


def email_key(raw: str) -> str:
    """Return the key an address is filed under, also for input that no longer validates."""
    try:
        return normalise_email(raw).key
    except InvalidAddress:
        return (raw or "").strip().lower()


def clean_name(raw: str | None) -> str | None:
    """Return the first name to store (None when empty), or raise InvalidAddress."""
    name = (raw or "").strip()
    if not name:
        return None
    if len(name) > MAX_NAME:
        raise InvalidAddress(f"Please keep your first name under {MAX_NAME} characters.")
    # Zero-width joiners belong to some scripts' spelling, so format characters are allowed here.
    if has_forbidden_characters(name, allow_format=True):
        raise InvalidAddress("A name can't contain line breaks or control characters.")
    return name


def stored_ip(remote_addr: str | None, mode: str) -> str | None:
    """Return what the consent record keeps of an IP address: all, its network, or nothing."""
    if mode == "none" or not remote_addr:
        return None
    try:
        ip = ipaddress.ip_address(remote_addr)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if mode == "full":
        return str(ip)
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False).network_address)
