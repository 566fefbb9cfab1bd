"""The dashboard's form posts (login, lab): a bounded urlencoded body read into its fields."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl

from fastapi import Request


@dataclass(frozen=True, slots=True)
class Refused:
    """A form refused: the status to answer and what the page says."""

    status: int  # 400 or 413
    message: str


@dataclass(frozen=True, slots=True)
class FormLimits:
    """The most a form may hold: bytes of body and fields."""

    max_bytes: int
    max_fields: int

    def too_large(self) -> Refused:
        return Refused(413, f"The form is too large (at most {self.max_bytes // 1024} KiB).")


NOT_UNDERSTOOD = Refused(400, "The form was not understood; please try again.")


def parse_form(body: bytes, max_fields: int) -> dict[str, str] | None:
    """The first value of each field of an urlencoded body; None when it has more than
    `max_fields` fields or is not UTF-8."""
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True,
                          max_num_fields=max_fields, errors="strict")  # fmt: skip
    except ValueError:  # too many fields, or not UTF-8 (UnicodeDecodeError)
        return None
    form: dict[str, str] = {}
    for name, value in pairs:
        form.setdefault(name, value)
    return form


async def read_form(request: Request, limits: FormLimits) -> dict[str, str] | Refused:
    """The posted form's first value of each field, or why it is refused: its body is read
    only up to the limit, never whole."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limits.max_bytes:
            return limits.too_large()
    form = parse_form(bytes(body), limits.max_fields)
    return NOT_UNDERSTOOD if form is None else form
