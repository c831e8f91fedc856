"""Where an outbox message goes: one interface chosen by MAIL_URL (as storage is by
STORAGE_URL), and what an SMTP server's answer means for the message.

A delivery job opens one connection for a batch of messages (`MailBackend.open()`): a
fan-out of thousands of notifications costs one TCP and TLS handshake per batch, not
per message.
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

from flask import current_app


class PermanentFailure(Exception):
    """The server refused this message for good (5xx for its address or its content):
    trying again cannot help."""


class MailBackend:
    keeps_only = False  # True: messages stay in the outbox (`kept`), no job sends them

    def open(self) -> Connection:
        raise NotImplementedError


class Connection:
    """Sends messages, one after the other, over what `open()` opened; closed at the end
    of a `with` block."""

    def send(self, message: EmailMessage) -> None:
        """Hand `message` over; PermanentFailure if refused for good, OSError or
        smtplib.SMTPException if worth trying again."""
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class OutboxOnly(MailBackend):
    """MAIL_URL=outbox://: kept and shown at /dev/outbox, for development."""

    keeps_only = True

    def open(self) -> Connection:
        raise RuntimeError("the outbox backend keeps messages; it sends none")


class Smtp(MailBackend):
    def __init__(self, settings: dict):
        self.settings = settings

    def open(self) -> SmtpConnection:
        return SmtpConnection(self.settings)


class SmtpConnection(Connection):
    """One SMTP session, opened at the first message and opened again after the server
    dropped it (a server may close an idle or long session: that is not the message's
    fault, so the message is tried once more on a fresh session)."""

    def __init__(self, settings: dict):
        self.settings = settings
        self.smtp: smtplib.SMTP | None = None
        self.unreachable: OSError | None = None

    def _connect(self) -> smtplib.SMTP:
        settings = self.settings
        cls = smtplib.SMTP_SSL if settings["ssl"] else smtplib.SMTP
        smtp = cls(settings["host"], settings["port"], timeout=settings["timeout"])
        try:
            if settings["starttls"]:
                smtp.starttls()
            if settings["username"]:
                smtp.login(settings["username"], settings["password"] or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(self, message: EmailMessage) -> None:
        reused = self.smtp is not None
        try:
            self._send(message)
        except smtplib.SMTPServerDisconnected:
            self.close()
            if not reused:
                raise
            self._send(message)  # the old session had gone stale: once more on a new one

    def _send(self, message: EmailMessage) -> None:
        if self.unreachable is not None:
            # The server could not be reached a moment ago, in this batch: the other
            # messages wait for their retry instead of each waiting out a timeout.
            raise self.unreachable
        if self.smtp is None:
            try:
                self.smtp = self._connect()
            except OSError as error:  # refused, timed out, TLS or login failed
                self.unreachable = error
                raise
        try:
            self.smtp.send_message(message)
        except smtplib.SMTPServerDisconnected:
            raise
        except smtplib.SMTPRecipientsRefused as error:
            self._reset()
            if refused_for_good(error):
                raise PermanentFailure(describe(error)) from error
            raise
        except smtplib.SMTPDataError as error:
            self._reset()
            # 5xx after DATA: the server refuses this message's content for good.
            if error.smtp_code >= 500:
                raise PermanentFailure(describe(error)) from error
            raise
        except smtplib.SMTPResponseException:
            # A refused sender (MAIL FROM) is the server's configuration, not this
            # message: tried again, once an operator has fixed it.
            self._reset()
            raise
        except OSError:  # the connection broke (SMTPException is an OSError too)
            self.close()
            raise

    def _reset(self) -> None:
        """RSET after a refusal, so the next message starts a clean transaction."""
        if self.smtp is not None:
            try:
                self.smtp.rset()
            except (smtplib.SMTPException, OSError):
                self.close()

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (smtplib.SMTPException, OSError):
                self.smtp.close()
            self.smtp = None


def refused_for_good(error: smtplib.SMTPRecipientsRefused) -> bool:
    """Every recipient got a 5xx: the address does not exist or may not receive mail.
    A 4xx (mailbox full, greylisting) is worth trying again."""
    return bool(error.recipients) and all(code >= 500 for code, _ in error.recipients.values())


def describe(error: smtplib.SMTPException) -> str:
    """The server's own words, as an operator and the Customers page show them."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        parts = [
            f"{address}: {code} {_text(reply)}"
            for address, (code, reply) in error.recipients.items()
        ]
        return "; ".join(parts)
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{error.smtp_code} {_text(error.smtp_error)}"
    return str(error)


def _text(reply) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def mail_backend() -> MailBackend:
    """The backend of the current app's MAIL settings (read each time: tests change them)."""
    settings = current_app.config["MAIL"]
    return OutboxOnly() if settings["backend"] == "outbox" else Smtp(settings)
