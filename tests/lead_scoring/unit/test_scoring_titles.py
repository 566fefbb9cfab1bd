"""Seniority from job titles in seven languages."""

from __future__ import annotations

import pytest

from lead_scoring.titles import Seniority, normalise_title, seniority

CASES: list[tuple[str | None, Seniority | None]] = [
    # English
    ("CEO", "c_level"),
    ("C.E.O.", "c_level"),
    ("Co-Founder & CTO", "c_level"),
    ("Chief Revenue Officer", "c_level"),
    ("Managing Director", "c_level"),
    ("Owner", "c_level"),
    ("VP Sales", "vp"),
    ("Senior Vice President, Marketing", "vp"),
    ("Head of Marketing", "director"),
    ("Director of Engineering", "director"),
    ("Marketing Manager", "manager"),
    ("Team Lead Support", "manager"),
    ("Software Engineer", "individual"),
    ("Account Executive", "individual"),
    ("Assistant to the CEO", "individual"),
    ("Product Owner", "individual"),
    ("Marketing Intern", "individual"),
    # German
    ("Geschäftsführer", "c_level"),
    ("Geschaeftsfuehrerin", "c_level"),
    ("Inhaberin", "c_level"),
    ("Vorstandsvorsitzender", "c_level"),
    ("Vizepräsident Vertrieb", "vp"),
    ("Vertriebsleiter", "director"),
    ("Leiterin Marketing", "director"),
    ("Teamleiter IT", "manager"),
    ("Produktmanagerin", "manager"),
    ("Sachbearbeiterin", "individual"),
    ("Werkstudent", "individual"),
    # French
    ("PDG", "c_level"),
    ("Directeur général", "c_level"),
    ("Gérant", "c_level"),
    ("Vice-président", "vp"),
    ("Directeur commercial", "director"),
    ("Directrice marketing", "director"),
    ("Responsable marketing", "manager"),
    ("Chef de projet", "manager"),
    ("Chargée de communication", "individual"),
    ("Stagiaire", "individual"),
    # Spanish
    ("Consejero Delegado", "c_level"),
    ("Gerente General", "c_level"),
    ("Fundadora", "c_level"),
    ("Vicepresidente de Ventas", "vp"),
    ("Directora de Marketing", "director"),
    ("Jefe de ventas", "director"),
    ("Jefe de proyecto", "manager"),
    ("Gerente", "manager"),
    ("Analista", "individual"),
    # Portuguese
    ("Sócio-fundador", "c_level"),
    ("Diretor Geral", "c_level"),
    ("Diretor de Vendas", "director"),
    ("Coordenadora de Marketing", "manager"),
    ("Estagiário", "individual"),
    # Italian
    ("Amministratore Delegato", "c_level"),
    ("Titolare", "c_level"),
    ("Direttore Commerciale", "director"),
    ("Responsabile acquisti", "manager"),
    ("Impiegata", "individual"),
    # Dutch
    ("Algemeen directeur", "c_level"),
    ("Eigenaar", "c_level"),
    ("Hoofd IT", "director"),
    ("Teamleider", "manager"),
    ("Accountmanager", "manager"),
    ("Medewerker klantenservice", "individual"),
    # Unknown
    ("Ninja", None),
    ("", None),
    ("-", None),
    (None, None),
]


@pytest.mark.parametrize(("title", "expected"), CASES)
def test_reads_seniority_from_job_titles(title: str | None, expected: Seniority | None) -> None:
    assert seniority(title) == expected


def test_parses_german_managing_director_as_c_level() -> None:
    assert seniority("Geschäftsführender Gesellschafter") == "c_level"
    assert seniority("GESCHÄFTSFÜHRERIN") == "c_level"


def test_ranks_vice_president_above_the_president_it_contains() -> None:
    assert seniority("Vice President") == "vp"
    assert seniority("President") == "c_level"


def test_prefers_the_most_senior_role_in_a_combined_title() -> None:
    assert seniority("Head of Sales & Team Lead") == "director"


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("Geschäftsführer", "geschaftsfuhrer"),
        ("  V.P.  Sales ", "vp sales"),
        ("Directeur général (France)", "directeur general france"),
    ],
)
def test_normalises_accents_dots_and_punctuation(raw: str, normalised: str) -> None:
    assert normalise_title(raw) == normalised
