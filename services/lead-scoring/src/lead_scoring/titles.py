"""Seniority from a free-text job title, in EN, DE, FR, ES, PT, IT and NL.

The title is lower-cased, stripped of accents and punctuation, then matched against an
ordered table of word patterns; the first tier that matches wins. Order matters because
titles nest: "Vice President" contains "President", "Director General" contains "Director",
"Teamleiter" contains "Leiter", "Assistant to the CEO" contains "CEO".
"""

from __future__ import annotations

import functools
import re
import sys
import unicodedata
from typing import Final, Literal

Seniority = Literal["c_level", "vp", "director", "manager", "individual"]

#: Most senior first; rules and the learned model use these exact strings.
SENIORITIES: tuple[Seniority, ...] = ("c_level", "vp", "director", "manager", "individual")

# Each tier: (seniority, regex alternatives over the normalised title). Patterns match whole
# words; `\w*` prefixes catch German/Dutch compounds (Vertriebsleiter, accountmanager).
_TIERS: tuple[tuple[Seniority, tuple[str, ...]], ...] = (
    # Titles that name a senior person but are not one.
    (
        "individual",
        (
            r"(executive |personal )?assistant (to|of)",
            r"(assistent|assistentin|assistente|assistante|asistente)"
            r" (de|del|della|der|des|du|van)",
            r"product owner",
            r"process owner",
            r"intern",
            r"internship",
            r"trainee",
            r"working student",
            r"werkstudent(in)?",
            r"praktikant(in)?",
            r"stagiaire",
            r"stagiair",
            r"stagista",
            r"becario|becaria",
            r"estagiario|estagiaria",
        ),
    ),
    (
        "vp",
        (
            r"vp",
            r"svp",
            r"evp",
            r"avp",
            r"vice ?president",
            r"vizeprasident(in)?",
            r"vicepresident(e|a)?",
            r"vice presidente",
        ),
    ),
    (
        "c_level",
        (
            r"c[efotmirspd]o",
            r"chro|ciso|cdao|chief",
            r"founder|co ?founder|cofounder",
            r"owner|co ?owner",
            r"president",
            r"managing director|managing partner|founding partner|senior partner",
            r"executive director|general manager|board member|chairman|chairwoman",
            r"geschaftsfuhr\w*|geschaeftsfuehr\w*|gesellschafter(in)?",
            r"inhaber(in)?|grunder(in)?|mitgrunder(in)?|vorstand\w*|vorsitzende(r)?",
            r"pdg|dg|directeur general|directrice generale|fondateur|fondatrice",
            r"gerant|gerante|president directeur general",
            r"director general|directora general|consejero delegado|consejera delegada",
            r"gerente general|fundador(a)?|cofundador(a)?|propietario|propietaria|dueno|duena",
            r"presidente|diretor geral|diretora geral|diretor executivo|diretora executiva",
            r"socio fundador|socia fundadora|socio gerente|socio|socia|proprietario|proprietaria",
            r"amministratore delegato|direttore generale|direttrice generale|titolare",
            r"fondatore|fondatrice|cofondatore",
            r"algemeen directeur|eigenaar|oprichter|mede oprichter|zaakvoerder|bestuurder",
            r"directeur eigenaar|dga",
        ),
    ),
    # Team-level leads whose words would otherwise hit the director tier below.
    (
        "manager",
        (
            r"\w*(team|gruppen|projekt|schicht)leiter(in)?",
            r"(jefe|jefa) de (equipo|proyecto|turno|grupo)",
            r"capo (reparto|progetto|squadra|turno)",
            r"chef de (projet|produit|rayon|service)|chef d equipe",
        ),
    ),
    (
        "director",
        (
            r"\w*director\w*",
            r"\w*direktor(in)?",
            r"directeur|directrice|direttore|direttrice|diretor|diretora|directora",
            r"head|heads|hoofd|afdelingshoofd",
            r"\w*leiter(in)?|leitung|prokurist(in)?",
            r"jefe|jefa",
            r"capo area|capo divisione",
        ),
    ),
    (
        "manager",
        (
            r"\w*manager(in)?|managerin|mgr",
            r"team lead(er)?|tech lead|lead engineer|supervisor\w*",
            r"responsable|responsabile|encargado|encargada",
            r"gerente|gestor|gestora|coordinador(a)?|coordenador(a)?|coordinatore|coordinatrice",
            r"chef|capo|teamleider|bedrijfsleider|leidinggevende",
        ),
    ),
    (
        "individual",
        (
            r"engineer|developer|programmer|analyst|specialist|consultant|associate|assistant",
            r"representative|rep|sdr|bdr|executive|designer|accountant|administrator|admin",
            r"scientist|architect|officer|agent|advisor|adviser|technician|clerk|recruiter",
            r"marketer|writer|coordinator|staff|employee|student|researcher|editor|buyer",
            r"\w*mitarbeiter(in)?|sachbearbeiter(in)?|referent(in)?|entwickler(in)?",
            r"berater(in)?|ingenieur(in)?|kaufmann|kauffrau|assistent(in)?|verkaufer(in)?",
            r"ingenieur|charge|chargee|commercial|commerciale|technicien(ne)?|developpeur",
            r"developpeuse|comptable|employe(e)?|conseiller|conseillere|analyste|vendeur|vendeuse",
            r"analista|ingeniero|ingeniera|asesor(a)?|consultor(a)?|tecnico|tecnica|vendedor(a)?",
            r"desarrollador(a)?|empleado|empleada|ejecutivo|ejecutiva|auxiliar|administrativo",
            r"engenheiro|engenheira|assistente|desenvolvedor(a)?|executivo|executiva|atendente",
            r"impiegato|impiegata|addetto|addetta|consulente|ingegnere|sviluppatore|venditore",
            r"medewerker|\w*medewerker|adviseur|ontwikkelaar|verkoper|programmeur|beheerder",
        ),
    ),
)

_COMPILED: tuple[tuple[Seniority, re.Pattern[str]], ...] = tuple(
    (level, re.compile(r"\b(?:" + "|".join(f"(?:{p})" for p in patterns) + r")\b"))
    for level, patterns in _TIERS
)

_NON_WORD = re.compile(r"[^a-z0-9]+")


def normalise_title(title: str) -> str:
    """Lower-case ASCII words of a title: accents, dots and punctuation removed."""
    # NFKD splits "ä" into "a" + combining mark, so "Geschäftsführer" -> "geschaftsfuhrer".
    decomposed = unicodedata.normalize("NFKD", title.casefold())
    ascii_only = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    ascii_only = ascii_only.replace(".", "")  # "V.P." -> "vp", "C.E.O." -> "ceo"
    return _NON_WORD.sub(" ", ascii_only).strip()


# Titles repeat, so their seniority is remembered; but a title is as long as a client sends
# (an uncapped key once let 4,096 posts of 1 MiB hold 4 GiB). Only a title that takes no
# more memory than 256 ASCII characters is kept (232 Latin-1, 115 Cyrillic, 57 emoji): a
# str takes up to 4 bytes a character, and a cap on characters alone would let 4,096
# titles of 256 emoji hold 4 MiB. So the cache holds 1.7 MB at most, its links included.
_CACHE_MAX_KEY_BYTES: Final = sys.getsizeof("x" * 256)


def seniority(title: str | None) -> Seniority | None:
    """The seniority a job title implies, or None when the title is empty or unknown."""
    if not title:
        return None
    if sys.getsizeof(title) <= _CACHE_MAX_KEY_BYTES:
        return _cached(title)
    return _seniority(title)


@functools.lru_cache(maxsize=4096)
def _cached(title: str) -> Seniority | None:
    return _seniority(title)


def _seniority(title: str) -> Seniority | None:
    text = normalise_title(title)
    if not text:
        return None
    for level, pattern in _COMPILED:
        if pattern.search(text):
            return level
    return None
