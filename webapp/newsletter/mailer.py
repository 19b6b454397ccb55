"""A Flask-Mailman backend that keeps mail in a folder instead of sending it.

Used when no `MAIL_SERVER` is configured (`make run` on a laptop): each message becomes one
`.eml` file in `OUTBOX_DIR`, which any mail client opens.
"""

import datetime as dt
import os
import secrets
from pathlib import Path

from flask import current_app
from flask_mailman.backends.base import BaseEmailBackend


class EmailBackend(BaseEmailBackend):
    """Write each message to `OUTBOX_DIR/<time>-<random>.eml`."""

    def __init__(self, *args, outbox: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.outbox = Path(outbox or current_app.config["OUTBOX_DIR"])

    def send_messages(self, email_messages) -> int:
        """Write the messages; return how many were written."""
        self.outbox.mkdir(parents=True, exist_ok=True)
        written = 0
        for message in email_messages:
            if not message.recipients():
                continue
            stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
            path = self.outbox / f"{stamp}-{secrets.token_hex(4)}.eml"
            partial = path.with_suffix(".part")
            partial.write_bytes(message.message().as_bytes())
            os.replace(partial, path)  # a reader of the folder never sees half a message
            current_app.logger.info("mail written to %s", path)
            written += 1
        return written
