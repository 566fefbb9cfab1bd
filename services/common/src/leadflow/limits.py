"""How long what a client sends may be, as pydantic types: over the limit is a 422 naming it.

Every string a request body carries is capped here, at the edge, before any pattern or
lookup reads it: a pattern that is linear is still slow on a megabyte, and a cache or a log
line keeps what it is given. The figures fit the meaning (RFC 5321 for an address, what a
person's name or a company's takes, a URL browsers still handle).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Final

from pydantic import AfterValidator, Field

EMAIL_CHARS: Final = 254  # RFC 5321: 256 for the path, less its angle brackets
NAME_CHARS: Final = 100  # a first or last name, an industry, a source label
TITLE_CHARS: Final = 150  # a job title
COMPANY_CHARS: Final = 200  # a company's or a rep's name, a UTM value
URL_CHARS: Final = 2048
TEXT_CHARS: Final = 2000  # free text: a consent wording, a reason
PHONE_CHARS: Final = 64
CUSTOM_FIELDS: Final = 50
CUSTOM_KEY_CHARS: Final = 64
CUSTOM_VALUE_CHARS: Final = 2000
CUSTOM_DEPTH: Final = 8

Email = Annotated[str, Field(max_length=EMAIL_CHARS)]
PersonName = Annotated[str, Field(max_length=NAME_CHARS)]
JobTitle = Annotated[str, Field(max_length=TITLE_CHARS)]
CompanyName = Annotated[str, Field(max_length=COMPANY_CHARS)]
ShortText = Annotated[str, Field(max_length=NAME_CHARS)]
Label = Annotated[str, Field(max_length=COMPANY_CHARS)]
Url = Annotated[str, Field(max_length=URL_CHARS)]
FreeText = Annotated[str, Field(max_length=TEXT_CHARS)]
Phone = Annotated[str, Field(max_length=PHONE_CHARS)]


def check_custom(value: Mapping[str, Any]) -> Mapping[str, Any]:
    """Raise ValueError unless extra fields are few, with short names, short strings and
    shallow nesting (the message says which bound)."""
    if len(value) > CUSTOM_FIELDS:
        raise ValueError(f"at most {CUSTOM_FIELDS} fields")
    for key, item in value.items():
        if len(key) > CUSTOM_KEY_CHARS:
            raise ValueError(f"field names are at most {CUSTOM_KEY_CHARS} characters")
        _check_value(item, 1)
    return value


def _check_value(value: object, depth: int) -> None:
    if depth > CUSTOM_DEPTH:
        raise ValueError(f"nested at most {CUSTOM_DEPTH} levels deep")
    if isinstance(value, str):
        if len(value) > CUSTOM_VALUE_CHARS:
            raise ValueError(f"values are at most {CUSTOM_VALUE_CHARS} characters")
    elif isinstance(value, Mapping):
        if len(value) > CUSTOM_FIELDS:
            raise ValueError(f"at most {CUSTOM_FIELDS} fields in an object")
        for key, item in value.items():
            _check_value(key, depth + 1)
            _check_value(item, depth + 1)
    elif isinstance(value, list):
        if len(value) > CUSTOM_FIELDS:
            raise ValueError(f"at most {CUSTOM_FIELDS} items in a list")
        for item in value:
            _check_value(item, depth + 1)


Custom = Annotated[
    dict[str, Any],
    Field(max_length=CUSTOM_FIELDS),
    AfterValidator(check_custom),
    Field(
        description=f"Extra fields: at most {CUSTOM_FIELDS}, names up to {CUSTOM_KEY_CHARS} "
        f"characters, strings up to {CUSTOM_VALUE_CHARS}, nested up to {CUSTOM_DEPTH} deep"
    ),
]
