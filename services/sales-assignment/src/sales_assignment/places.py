"""Places, segments and company domains: ISO country regions, size bands, free-mail providers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Sales regions as ISO 3166-1 alpha-2 sets; together they cover all 249 codes exactly once.
# Mexico sells with LATAM and Central Asia with EMEA, as most sales orgs split them.
REGIONS: Mapping[str, frozenset[str]] = {
    "NA": _words("BM CA PM UM US"),
    "LATAM": _words(
        """AG AI AR AW BB BL BO BQ BR BS BZ CL CO CR CU CW DM DO EC FK GD GF GP GS GT GY HN HT
        JM KN KY LC MF MQ MS MX NI PA PE PR PY SR SV SX TC TT UY VC VE VG VI"""
    ),
    "APAC": _words(
        """AF AQ AS AU BD BN BT CC CK CN CX FJ FM GU HK HM ID IN IO JP KH KI KP KR LA LK MH MM
        MN MO MP MV MY NC NF NP NR NU NZ PF PG PH PK PN PW SB SG TH TK TL TO TV TW VN VU WF
        WS"""
    ),
    "EMEA": _words(
        """AD AE AL AM AO AT AX AZ BA BE BF BG BH BI BJ BV BW BY CD CF CG CH CI CM CV CY CZ DE
        DJ DK DZ EE EG EH ER ES ET FI FO FR GA GB GE GG GH GI GL GM GN GQ GR GW HR HU IE IL IM
        IQ IR IS IT JE JO KE KG KM KW KZ LB LI LR LS LT LU LV LY MA MC MD ME MG MK ML MR MT MU
        MW MZ NA NE NG NL NO OM PL PS PT QA RE RO RS RU RW SA SC SD SE SH SI SJ SK SL SM SN SO
        SS ST SY SZ TD TF TG TJ TM TN TR TZ UA UG UZ VA YE YT ZA ZM ZW"""
    ),
}
COUNTRIES: frozenset[str] = frozenset().union(*REGIONS.values())
_HINTS = {"UK": "GB", "EU": "EMEA", "USA": "US", "AMER": "NA"}

# Company size bands by employees: smb < 100, mid_market 100-999, enterprise >= 1000.
SEGMENTS: Mapping[str, tuple[int, int | None]] = {
    "smb": (0, 99),
    "mid_market": (100, 999),
    "enterprise": (1000, None),
}

# Mailbox providers: their domain says nothing about the employer, so never owns an account.
FREE_MAIL_DOMAINS: frozenset[str] = _words(
    """gmail.com googlemail.com yahoo.com ymail.com rocketmail.com hotmail.com outlook.com
    live.com msn.com aol.com icloud.com me.com mac.com proton.me protonmail.com pm.me
    tutanota.com tuta.io fastmail.com hey.com zoho.com zohomail.com mail.com email.com
    gmx.de gmx.net gmx.com web.de t-online.de freenet.de posteo.de mailbox.org orange.fr
    wanadoo.fr free.fr laposte.net sfr.fr libero.it virgilio.it tiscali.it alice.it
    btinternet.com sky.com virginmedia.com ntlworld.com seznam.cz wp.pl o2.pl interia.pl
    onet.pl yandex.ru yandex.com mail.ru bk.ru inbox.ru list.ru rambler.ru ukr.net qq.com
    163.com 126.com sina.com naver.com daum.net hanmail.net rediffmail.com bol.com.br
    uol.com.br terra.com.br comcast.net verizon.net att.net sbcglobal.net bigpond.com
    protonmail.ch foxmail.com yeah.net sina.cn sohu.com aliyun.com 139.com hushmail.com
    mail.ua abv.bg"""
)
# yahoo.co.jp, hotmail.fr, gmx.at …: a provider's name followed by a public suffix only.
_FREE_MAIL_BRANDS = _words("yahoo hotmail outlook live gmx yandex aol gmail")


def expand_places(names: Sequence[str]) -> frozenset[str]:
    """Country codes named by ISO alpha-2 codes and region names (EMEA, NA, LATAM, APAC)."""
    codes: set[str] = set()
    for name in names:
        key = name.strip().upper()
        if key in REGIONS:
            codes |= REGIONS[key]
        elif key in COUNTRIES:
            codes.add(key)
        else:
            hint = f" (did you mean {_HINTS[key]}?)" if key in _HINTS else ""
            raise ValueError(
                f"unknown country or region {name!r}{hint}: use ISO 3166-1 alpha-2 codes "
                f"or {', '.join(REGIONS)}"
            )
    return frozenset(codes)


def _place(name: str) -> str:
    expand_places([name])
    return name.strip().upper()


# A country or region in a request body (a rep's territory, a rule's country), upper-cased.
Place = Annotated[str, Field(max_length=32), AfterValidator(_place)]


def segment_of(company_size: int | None) -> str | None:
    """The segment of a company size (see SEGMENTS), None when the size is unknown."""
    if company_size is None or company_size < 0:
        return None
    if company_size < 100:
        return "smb"
    return "mid_market" if company_size < 1000 else "enterprise"


def is_free_mail(domain: str) -> bool:
    """Whether a domain belongs to a mailbox provider rather than a company."""
    if domain in FREE_MAIL_DOMAINS:
        return True
    brand, _, suffix = domain.partition(".")
    return brand in _FREE_MAIL_BRANDS and all(0 < len(p) <= 3 for p in suffix.split("."))


def website_domain(url: str | None) -> str | None:
    """The host of a website URL, lower case, without `www.`; None when there is none."""
    text = (url or "").strip().lower()
    if not text:
        return None
    try:
        host = urlsplit(text if "://" in text else f"//{text}").hostname
    except ValueError:
        return None
    return host.rstrip(".").removeprefix("www.") or None if host else None


def company_domain(email_domain: str | None, website: str | None) -> str | None:
    """The company's domain: the email's unless free mail, else the website's."""
    for domain in (email_domain, website):
        if domain and "." in domain and not is_free_mail(domain):
            return domain
    return None
