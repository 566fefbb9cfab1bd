"""Company names compared as sales ops reads them: pure, linear in the (capped) input.

`normalise("The ACME Int'l Technologies, Inc.")` → `("acme", "international", "technology")`:
Unicode NFKD without diacritics, casefold, `&` → `and`, apostrophes dropped, other punctuation
a word break, runs of single letters joined (`S.A.` → `sa`, `J. P. Morgan` → `jp morgan`),
plurals folded, common abbreviations spelled out, a leading `the` and legal forms of many
countries removed (trailing ones, and the few that lead: `PT`, `OOO`, `AB` …), then a trailing
`group`/`holding(s)` when a distinctive name is left.

`similarity(a, b)` is in [0, 1]: 1 for the same words; 0.98 for the same letters spaced
differently (`Face Book` / `Facebook`); else the Dice coefficient of the words, a word one
letter inserted, deleted or transposed from the other (both of 6+ letters) counting 0.85,
and × 0.8 when the shared words come in another order (`Smith & Jones` ≠ `Jones & Smith`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

MAX_NAME_CHARS = 200  # longer input is cut here: every step below is linear in it
MAX_WORDS = 24  # no real company name has more; bounds the pairwise word comparison


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Latin letters NFKD does not decompose into a base letter plus a mark.
_LETTERS = str.maketrans(
    {"ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ı": "i", "ħ": "h"}
)
_APOSTROPHES = re.compile(r"['’`´]")
_WORD = re.compile(r"[0-9a-z]+")

# Spelled-out forms; keys are as written or with their plural folded.
ABBREVIATIONS: dict[str, str] = {
    "intl": "international",
    "tech": "technology",
    "techn": "technology",
    "technologie": "technology",
    "mfg": "manufacturing",
    "mfrs": "manufacturer",
    "svc": "service",
    "svcs": "service",
    "sys": "system",
    "lab": "laboratory",
    "labs": "laboratory",
    "laboratorie": "laboratory",
    "mgmt": "management",
    "mgt": "management",
    "assoc": "associate",
    "assn": "association",
    "bros": "brother",
    "natl": "national",
    "univ": "university",
    "inst": "institute",
    "ind": "industry",
    "inds": "industry",
    "industrie": "industry",
    "ins": "insurance",
    "fin": "financial",
    "grp": "group",
    "hldg": "holding",
    "hldgs": "holding",
    "mktg": "marketing",
    "dev": "development",
    "eng": "engineering",
    "engg": "engineering",
    "pharma": "pharmaceutical",
    "chem": "chemical",
    "elec": "electric",
    "sci": "science",
    "ctr": "center",
    "centre": "center",
    "solns": "solution",
    "soln": "solution",
    "comms": "communication",
    "comm": "communication",
    "telecom": "telecommunication",
    "mach": "machine",
    "dist": "distribution",
    "distr": "distribution",
    "mfr": "manufacturer",
}

# Legal forms, as word sequences after the steps above (`S.A.` is `sa`, `sp. z o.o.` is
# `sp zoo`). Removed from the end, longest first, as long as a name is left.
_LEGAL = """inc|incorporated|corp|corporation|co|company|llc|llp|lp|ltd|limited|plc|lc|pllc|
gmbh|mbh|ag|kg|kgaa|ohg|ug|ev|eg|gmbh co kg|ag co kg|co kg|se|sa|sas|sasu|sarl|sca|scs|snc|
srl|spa|sapa|scarl|bv|nv|bvba|cvba|vof|oy|oyj|ab|publ|ab publ|as|asa|aps|hf|ehf|kk|yk|gk|
kabushiki kaisha|pty|pte|pvt|private|na|sdn bhd|bhd|berhad|tbk|ltda|lda|sl|slu|sau|sa de cv|
de cv|cv|s de rl|sab|sab de cv|sro|spol sro|sp zoo|sp j|ska|doo|dd|kft|zrt|nyrt|
ou|uab|sia|ood|eood|jsc|pjsc|ojsc|cjsc|ooo|oao|zao|pao|ao|tov|pc|
proprietary|unlimited|ulc|lllp|rllp|cic|fze|fzco|fzllc|wll|saog|saoc|bsc|qsc|
co ltd|pty ltd|pte ltd|pvt ltd|private limited|public limited company|limited company|
limited partnership|limited liability company|corp ltd|inc ltd|ltd co|co inc|and co|and company"""
LEGAL_SUFFIXES: frozenset[tuple[str, ...]] = frozenset(
    tuple(form.split()) for form in _LEGAL.replace("\n", "").split("|")
)
_LEGAL_LONGEST = max(len(form) for form in LEGAL_SUFFIXES)
# Legal forms written before the name (Indonesia, Russia, Sweden, Japan …).
LEGAL_PREFIXES: frozenset[str] = _words("pt cv ooo oao zao pao ao ab kk tov")
# Dropped at the end only when the name left is more than one of these generic words:
# "Acme Group" is Acme, "Capital Group" is not "Capital".
_GROUPING = frozenset({"group", "holding"})
GENERIC: frozenset[str] = _words(
    """capital energy national first global international united general american media
    financial consulting investment management service solution system technology data
    health trust partner associate industry enterprise resource power pacific atlantic
    standard central western eastern northern southern new royal universal digital"""
)
STOPWORDS: frozenset[str] = _words("and of the de du des la le el di da van von")


def _letters(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text[:MAX_NAME_CHARS].casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return (
        _APOSTROPHES.sub("", plain.translate(_LETTERS)).replace("&", " and ").replace("+", " and ")
    )


def _fold(word: str) -> str:
    """One spelling per word: the abbreviation spelled out, a plural made singular."""
    if word in ABBREVIATIONS:
        return ABBREVIATIONS[word]
    if len(word) > 4 and word.endswith("ies"):
        word = word[:-3] + "y"
    elif len(word) >= 4 and word.endswith("s") and not word.endswith(("ss", "us", "is", "os")):
        word = word[:-1]
    return ABBREVIATIONS.get(word, word)


def _join_initials(words: list[str]) -> list[str]:
    """Runs of single letters as one word: `s a` → `sa`, `j p morgan` → `jp morgan`."""
    out: list[str] = []
    run = ""
    for word in words:
        if len(word) == 1 and word.isalpha():
            run += word
            continue
        if run:
            out.append(run)
            run = ""
        out.append(word)
    if run:
        out.append(run)
    return out


def _strip_legal(words: list[str]) -> list[str]:
    """Trailing legal forms (repeatedly, longest first) and a dangling `and`, a name kept."""
    changed = True
    while changed and len(words) > 1:
        changed = False
        for size in range(min(_LEGAL_LONGEST, len(words) - 1), 0, -1):
            if tuple(words[-size:]) in LEGAL_SUFFIXES:
                del words[-size:]
                changed = True
                break
        if words[-1] == "and" and len(words) > 1:
            del words[-1]
            changed = True
    return words


def normalise(name: str) -> tuple[str, ...]:
    """The words that identify a company name (see the module docstring); () for none."""
    words = _join_initials(_WORD.findall(_letters(name)))[:MAX_WORDS]
    words = [_fold(w) for w in words]
    while len(words) > 1 and (words[0] == "the" or words[0] in LEGAL_PREFIXES):
        del words[0]
    words = _strip_legal(words)
    if len(words) > 1 and words[-1] in _GROUPING:
        core = words[:-1]
        if len(core) > 1 or (core[0] not in GENERIC and len(core[0]) >= 3):
            words = _strip_legal(core)
    return tuple(words)


MIN_FUZZY = 6  # shorter words differ by one letter too often: Meta / Metal, Nova / Novo
FUZZY_WORD = 0.85


def one_edit_apart(a: str, b: str) -> bool:
    """One letter inserted, deleted or two adjacent ones swapped; both words of 6+ letters."""
    if min(len(a), len(b)) < MIN_FUZZY or abs(len(a) - len(b)) > 1 or a == b:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        )
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    i = 0
    while i < len(short) and short[i] == long_[i]:
        i += 1
    return short[i:] == long_[i + 1 :]


OUT_OF_ORDER = 0.8
SPACING = 0.98


def similarity(a: Sequence[str], b: Sequence[str]) -> float:
    """How alike two normalised names are, in [0, 1] (see the module docstring)."""
    if not a or not b:
        return 0.0
    if tuple(a) == tuple(b):
        return 1.0
    if "".join(a) == "".join(b):
        return SPACING
    unmatched = dict(enumerate(b))
    order: list[int] = []  # b's positions of a's words, in a's order
    score = 0.0
    fuzzy_a: list[str] = []
    for word in a:
        j = next((j for j, w in unmatched.items() if w == word), None)
        if j is None:
            fuzzy_a.append(word)
            continue
        del unmatched[j]
        order.append(j)
        score += 1.0
    for word in fuzzy_a:
        j = next((j for j, w in unmatched.items() if one_edit_apart(word, w)), None)
        if j is not None:
            del unmatched[j]
            score += FUZZY_WORD
    dice = 2 * score / (len(a) + len(b))
    if order != sorted(order):
        dice *= OUT_OF_ORDER
    return round(dice, 4)


__all__ = ["MAX_NAME_CHARS", "normalise", "one_edit_apart", "similarity"]
