"""Country names and codes to ISO 3166-1 alpha-2.

Lookups ignore case, accents, whitespace and punctuation, so "côte d'ivoire", "Cote D Ivoire"
and "CIV" all resolve to "CI". Unknown input resolves to None; the caller reports it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping

__all__ = ["COUNTRY_CODES", "country_code", "country_name"]

# One country per row: alpha-2, alpha-3, then " | "-separated names, the first being the
# English short name. A row continues on following lines that start with "    |".
# Names are the ISO English short, common and official names, plus native names and
# local spellings for the markets we sell in. XK (Kosovo) is user-assigned, not ISO, but
# is what the EU, phone numbering and most CRMs use.
_TABLE = """
AD AND Andorra | Principality of Andorra
AE ARE United Arab Emirates | UAE | Emirates | الإمارات
AF AFG Afghanistan | Islamic Republic of Afghanistan
AG ATG Antigua and Barbuda
AI AIA Anguilla
AL ALB Albania | Republic of Albania
AM ARM Armenia | Republic of Armenia
AO AGO Angola | Republic of Angola
AQ ATA Antarctica
AR ARG Argentina | Argentine Republic
AS ASM American Samoa
AT AUT Austria | Republic of Austria | Österreich | Oesterreich | Autriche | Oostenrijk | Rakousko
AU AUS Australia | Australien
AW ABW Aruba
AX ALA Åland Islands
AZ AZE Azerbaijan | Republic of Azerbaijan
BA BIH Bosnia and Herzegovina | Republic of Bosnia and Herzegovina
BB BRB Barbados
BD BGD Bangladesh | People's Republic of Bangladesh
BE BEL Belgium | Kingdom of Belgium | België | Belgique | Belgien | Bélgica | Belgio
BF BFA Burkina Faso
BG BGR Bulgaria | Republic of Bulgaria | България | Bulgarien
BH BHR Bahrain | Kingdom of Bahrain
BI BDI Burundi | Republic of Burundi
BJ BEN Benin | Republic of Benin
BL BLM Saint Barthélemy
BM BMU Bermuda
BN BRN Brunei Darussalam | Brunei
BO BOL Bolivia, Plurinational State of | Bolivia | Plurinational State of Bolivia
BQ BES Bonaire, Sint Eustatius and Saba
BR BRA Brazil | Federative Republic of Brazil | Brasil | Brasilien | Brésil
BS BHS Bahamas | Commonwealth of the Bahamas | The Bahamas
BT BTN Bhutan | Kingdom of Bhutan
BV BVT Bouvet Island
BW BWA Botswana | Republic of Botswana
BY BLR Belarus | Republic of Belarus
BZ BLZ Belize
CA CAN Canada | Kanada
CC CCK Cocos (Keeling) Islands | Cocos Islands
CD COD Congo, The Democratic Republic of the | DR Congo | DRC | Congo-Kinshasa
CF CAF Central African Republic
CG COG Congo | Republic of the Congo | Congo-Brazzaville
CH CHE Switzerland | Swiss Confederation | Schweiz | Suisse | Svizzera | Svizra | Helvetia
    | Confoederatio Helvetica | SUI | Zwitserland | Suiza | Szwajcaria
CI CIV Côte d'Ivoire | Republic of Côte d'Ivoire | Ivory Coast
CK COK Cook Islands
CL CHL Chile | Republic of Chile
CM CMR Cameroon | Republic of Cameroon
CN CHN China | People's Republic of China | 中国 | PRC | Chine | Cina | Volksrepublik China
CO COL Colombia | Republic of Colombia
CR CRI Costa Rica | Republic of Costa Rica
CU CUB Cuba | Republic of Cuba
CV CPV Cabo Verde | Republic of Cabo Verde | Cape Verde
CW CUW Curaçao
CX CXR Christmas Island
CY CYP Cyprus | Republic of Cyprus
CZ CZE Czechia | Czech Republic | Česko | Česká republika | Tschechien
DE DEU Germany | Federal Republic of Germany | Deutschland | Bundesrepublik Deutschland | GER
    | Allemagne | Alemania | Germania | Duitsland | Niemcy | Tyskland | ドイツ | 德国
DJ DJI Djibouti | Republic of Djibouti
DK DNK Denmark | Kingdom of Denmark | Danmark | Dänemark
DM DMA Dominica | Commonwealth of Dominica
DO DOM Dominican Republic
DZ DZA Algeria | People's Democratic Republic of Algeria
EC ECU Ecuador | Republic of Ecuador
EE EST Estonia | Republic of Estonia | Eesti
EG EGY Egypt | Arab Republic of Egypt | مصر
EH ESH Western Sahara
ER ERI Eritrea | State of Eritrea
ES ESP Spain | Kingdom of Spain | España | Spanien | Espagne | Spagna | Spanje | Hiszpania
ET ETH Ethiopia | Federal Democratic Republic of Ethiopia
FI FIN Finland | Republic of Finland | Suomi | Finnland
FJ FJI Fiji | Republic of Fiji
FK FLK Falkland Islands (Malvinas) | Falkland Islands
FM FSM Micronesia, Federated States of | Federated States of Micronesia | Micronesia
FO FRO Faroe Islands
FR FRA France | French Republic | Frankreich | Francia | Frankrijk | Francja | フランス
GA GAB Gabon | Gabonese Republic
GB GBR United Kingdom | United Kingdom of Great Britain and Northern Ireland | UK | U.K.
    | Great Britain | Britain | England | Scotland | Wales | Northern Ireland | Großbritannien
    | Vereinigtes Königreich | Reino Unido | Royaume-Uni | Regno Unito | Verenigd Koninkrijk
    | Wielka Brytania | イギリス
GD GRD Grenada
GE GEO Georgia
GF GUF French Guiana
GG GGY Guernsey
GH GHA Ghana | Republic of Ghana
GI GIB Gibraltar
GL GRL Greenland
GM GMB Gambia | Republic of the Gambia | The Gambia
GN GIN Guinea | Republic of Guinea
GP GLP Guadeloupe
GQ GNQ Equatorial Guinea | Republic of Equatorial Guinea
GR GRC Greece | Hellenic Republic | Ελλάδα | Hellas | EL | Griechenland
GS SGS South Georgia and the South Sandwich Islands
GT GTM Guatemala | Republic of Guatemala
GU GUM Guam
GW GNB Guinea-Bissau | Republic of Guinea-Bissau
GY GUY Guyana | Republic of Guyana
HK HKG Hong Kong | Hong Kong Special Administrative Region of China | 香港
HM HMD Heard Island and McDonald Islands
HN HND Honduras | Republic of Honduras
HR HRV Croatia | Republic of Croatia | Hrvatska | Kroatien
HT HTI Haiti | Republic of Haiti
HU HUN Hungary | Magyarország | Ungarn
ID IDN Indonesia | Republic of Indonesia
IE IRL Ireland | Éire | Republic of Ireland | Irland | Irlande
IL ISR Israel | State of Israel
IM IMN Isle of Man
IN IND India | Republic of India | Bharat | भारत | Indien | Inde
IO IOT British Indian Ocean Territory
IQ IRQ Iraq | Republic of Iraq
IR IRN Iran, Islamic Republic of | Iran | Islamic Republic of Iran
IS ISL Iceland | Republic of Iceland | Ísland
IT ITA Italy | Italian Republic | Italia | Italien | Italie | Italië | Włochy
JE JEY Jersey
JM JAM Jamaica
JO JOR Jordan | Hashemite Kingdom of Jordan
JP JPN Japan | 日本 | Nippon | Nihon | Japon | Giappone | Japón
KE KEN Kenya | Republic of Kenya
KG KGZ Kyrgyzstan | Kyrgyz Republic
KH KHM Cambodia | Kingdom of Cambodia
KI KIR Kiribati | Republic of Kiribati
KM COM Comoros | Union of the Comoros
KN KNA Saint Kitts and Nevis
KP PRK Korea, Democratic People's Republic of | North Korea
    | Democratic People's Republic of Korea
KR KOR Korea, Republic of | South Korea | 대한민국 | 한국 | Korea | Südkorea
KW KWT Kuwait | State of Kuwait
KY CYM Cayman Islands
KZ KAZ Kazakhstan | Republic of Kazakhstan
LA LAO Lao People's Democratic Republic | Laos
LB LBN Lebanon | Lebanese Republic
LC LCA Saint Lucia
LI LIE Liechtenstein | Principality of Liechtenstein
LK LKA Sri Lanka | Democratic Socialist Republic of Sri Lanka
LR LBR Liberia | Republic of Liberia
LS LSO Lesotho | Kingdom of Lesotho
LT LTU Lithuania | Republic of Lithuania | Lietuva
LU LUX Luxembourg | Grand Duchy of Luxembourg | Luxemburg | Lëtzebuerg
LV LVA Latvia | Republic of Latvia | Latvija
LY LBY Libya
MA MAR Morocco | Kingdom of Morocco
MC MCO Monaco | Principality of Monaco
MD MDA Moldova, Republic of | Moldova | Republic of Moldova
ME MNE Montenegro
MF MAF Saint Martin (French part)
MG MDG Madagascar | Republic of Madagascar
MH MHL Marshall Islands | Republic of the Marshall Islands
MK MKD North Macedonia | Republic of North Macedonia | Macedonia
ML MLI Mali | Republic of Mali
MM MMR Myanmar | Republic of Myanmar | Burma
MN MNG Mongolia
MO MAC Macao | Macao Special Administrative Region of China
MP MNP Northern Mariana Islands | Commonwealth of the Northern Mariana Islands
MQ MTQ Martinique
MR MRT Mauritania | Islamic Republic of Mauritania
MS MSR Montserrat
MT MLT Malta | Republic of Malta
MU MUS Mauritius | Republic of Mauritius
MV MDV Maldives | Republic of Maldives
MW MWI Malawi | Republic of Malawi
MX MEX Mexico | United Mexican States | México | Mexiko | Mexique
MY MYS Malaysia
MZ MOZ Mozambique | Republic of Mozambique
NA NAM Namibia | Republic of Namibia
NC NCL New Caledonia
NE NER Niger | Republic of the Niger
NF NFK Norfolk Island
NG NGA Nigeria | Federal Republic of Nigeria
NI NIC Nicaragua | Republic of Nicaragua
NL NLD Netherlands | Kingdom of the Netherlands | Nederland | The Netherlands | Holland
    | Niederlande | Pays-Bas | Países Bajos | Paesi Bassi | Holandia
NO NOR Norway | Kingdom of Norway | Norge | Noreg | Norwegen
NP NPL Nepal | Federal Democratic Republic of Nepal
NR NRU Nauru | Republic of Nauru
NU NIU Niue
NZ NZL New Zealand | Aotearoa | Neuseeland
OM OMN Oman | Sultanate of Oman
PA PAN Panama | Republic of Panama
PE PER Peru | Republic of Peru | Perú
PF PYF French Polynesia
PG PNG Papua New Guinea | Independent State of Papua New Guinea
PH PHL Philippines | Republic of the Philippines | Pilipinas
PK PAK Pakistan | Islamic Republic of Pakistan
PL POL Poland | Republic of Poland | Polska | Polen | Pologne | Polonia
PM SPM Saint Pierre and Miquelon
PN PCN Pitcairn
PR PRI Puerto Rico
PS PSE Palestine, State of | State of Palestine | Palestine
PT PRT Portugal | Portuguese Republic
PW PLW Palau | Republic of Palau
PY PRY Paraguay | Republic of Paraguay
QA QAT Qatar | State of Qatar
RE REU Réunion
RO ROU Romania | România | Rumänien
RS SRB Serbia | Republic of Serbia | Srbija | Србија
RU RUS Russian Federation | Russia | Россия | Russland
RW RWA Rwanda | Rwandese Republic
SA SAU Saudi Arabia | Kingdom of Saudi Arabia | KSA
SB SLB Solomon Islands
SC SYC Seychelles | Republic of Seychelles
SD SDN Sudan | Republic of the Sudan
SE SWE Sweden | Kingdom of Sweden | Sverige | Schweden | Suède
SG SGP Singapore | Republic of Singapore | Singapur
SH SHN Saint Helena, Ascension and Tristan da Cunha
SI SVN Slovenia | Republic of Slovenia | Slovenija
SJ SJM Svalbard and Jan Mayen
SK SVK Slovakia | Slovak Republic | Slovensko | Slowakei
SL SLE Sierra Leone | Republic of Sierra Leone
SM SMR San Marino | Republic of San Marino
SN SEN Senegal | Republic of Senegal
SO SOM Somalia | Federal Republic of Somalia
SR SUR Suriname | Republic of Suriname
SS SSD South Sudan | Republic of South Sudan
ST STP Sao Tome and Principe | Democratic Republic of Sao Tome and Principe
SV SLV El Salvador | Republic of El Salvador
SX SXM Sint Maarten (Dutch part)
SY SYR Syrian Arab Republic | Syria
SZ SWZ Eswatini | Kingdom of Eswatini | Swaziland
TC TCA Turks and Caicos Islands
TD TCD Chad | Republic of Chad
TF ATF French Southern Territories
TG TGO Togo | Togolese Republic
TH THA Thailand | Kingdom of Thailand | ประเทศไทย
TJ TJK Tajikistan | Republic of Tajikistan
TK TKL Tokelau
TL TLS Timor-Leste | Democratic Republic of Timor-Leste | East Timor
TM TKM Turkmenistan
TN TUN Tunisia | Republic of Tunisia
TO TON Tonga | Kingdom of Tonga
TR TUR Türkiye | Republic of Türkiye | Turkey | Türkei
TT TTO Trinidad and Tobago | Republic of Trinidad and Tobago
TV TUV Tuvalu
TW TWN Taiwan, Province of China | Taiwan | 台灣 | 台湾
TZ TZA Tanzania, United Republic of | Tanzania | United Republic of Tanzania
UA UKR Ukraine | Україна
UG UGA Uganda | Republic of Uganda
UM UMI United States Minor Outlying Islands
US USA United States | United States of America | U.S. | U.S.A. | America | Vereinigte Staaten
    | Estados Unidos | États-Unis | Stati Uniti | Verenigde Staten | Stany Zjednoczone | アメリカ
    | 美国
UY URY Uruguay | Eastern Republic of Uruguay
UZ UZB Uzbekistan | Republic of Uzbekistan
VA VAT Holy See (Vatican City State) | Vatican | Vatican City
VC VCT Saint Vincent and the Grenadines
VE VEN Venezuela, Bolivarian Republic of | Venezuela | Bolivarian Republic of Venezuela
VG VGB Virgin Islands, British | British Virgin Islands | BVI
VI VIR Virgin Islands, U.S. | Virgin Islands of the United States | U.S. Virgin Islands
    | US Virgin Islands
VN VNM Viet Nam | Vietnam | Socialist Republic of Viet Nam | Việt Nam
VU VUT Vanuatu | Republic of Vanuatu
WF WLF Wallis and Futuna
WS WSM Samoa | Independent State of Samoa
XK XKX Kosovo
YE YEM Yemen | Republic of Yemen
YT MYT Mayotte
ZA ZAF South Africa | Republic of South Africa | Suid-Afrika | Südafrika
ZM ZMB Zambia | Republic of Zambia
ZW ZWE Zimbabwe | Republic of Zimbabwe
"""

# Words spelled several ways in country names; folded before comparing.
_WORD_ALIASES: Mapping[str, str] = {"st": "saint", "ste": "sainte", "&": "and", "the": ""}


def _key(text: str) -> str:
    """Fold a name to its comparison key: no accents, case, punctuation or spacing."""
    decomposed = unicodedata.normalize("NFKD", text.replace("&", " & "))
    words = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().split()
    # Drop punctuation inside words ("u.s." -> "us") but keep letters of every script (日本).
    cleaned = ["".join(c for c in word if c.isalnum() or c == "&") for word in words]
    if len(cleaned) > 1:  # a lone "ST" is São Tomé's code, not "Saint"
        cleaned = [_WORD_ALIASES.get(word, word) for word in cleaned]
    return "".join(cleaned)


def _parse(table: str) -> tuple[dict[str, str], dict[str, str]]:
    rows: list[str] = []
    for line in table.strip().splitlines():
        if line.startswith("    |"):
            rows[-1] += line.strip()
        else:
            rows.append(line)
    names: dict[str, str] = {}
    index: dict[str, str] = {}
    for row in rows:
        alpha2, alpha3, rest = row.split(" ", 2)
        aliases = [alias.strip() for alias in rest.split("|")]
        names[alpha2] = aliases[0]
        for alias in (alpha2, alpha3, *aliases):
            key = _key(alias)
            # A key meaning two countries would silently misroute leads: fail loudly instead.
            if index.setdefault(key, alpha2) != alpha2:
                raise ValueError(f"{alias!r} names both {index[key]} and {alpha2}")
    return names, index


_NAMES, _INDEX = _parse(_TABLE)

COUNTRY_CODES: frozenset[str] = frozenset(_NAMES)


def country_code(value: str) -> str | None:
    """The ISO 3166-1 alpha-2 code for a country name or code, or None if unknown."""
    key = _key(value)
    return _INDEX.get(key) if key else None


def country_name(code: str) -> str | None:
    """The English short name of an alpha-2 code, or None if unknown."""
    return _NAMES.get(code.strip().upper())
