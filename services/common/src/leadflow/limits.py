"""How long what a client sends may be, as pydantic types: over the limit is a 422 naming it.

Every string a request body carries is capped here, at the edge, before any pattern or
lookup reads it: a pattern that is linear is still slow on a megabyte, and a cache or a log
line keeps what it is given. The figures fit the meaning (RFC 5321 for an address, what a
person's name or a company's takes, a URL browsers still handle).
"""

from __future__ import annotations

from typing import Annotated, Final

from pydantic import Field

EMAIL_CHARS: Final = 254  # RFC 5321: 256 for the path, less its angle brackets
NAME_CHARS: Final = 100  # a first or last name, an industry, a source label
TITLE_CHARS: Final = 150  # a job title
COMPANY_CHARS: Final = 200  # a company's or a rep's name, a UTM value
URL_CHARS: Final = 2048
TEXT_CHARS: Final = 2000  # free text: a consent wording, a reason
PHONE_CHARS: Final = 64
CUSTOM_FIELDS: Final = 50  # extra fields of a lead (leadbody.normalize checks the rest)

Email = Annotated[str, Field(max_length=EMAIL_CHARS)]
PersonName = Annotated[str, Field(max_length=NAME_CHARS)]
JobTitle = Annotated[str, Field(max_length=TITLE_CHARS)]
CompanyName = Annotated[str, Field(max_length=COMPANY_CHARS)]
ShortText = Annotated[str, Field(max_length=NAME_CHARS)]
Label = Annotated[str, Field(max_length=COMPANY_CHARS)]
Url = Annotated[str, Field(max_length=URL_CHARS)]
FreeText = Annotated[str, Field(max_length=TEXT_CHARS)]
Phone = Annotated[str, Field(max_length=PHONE_CHARS)]
