"""Write company_pairs.csv: labelled company-name pairs for the account matcher (deterministic).

    uv run python tests/sales_assignment/data/make_company_pairs.py

Labels follow one policy, written before the matcher was measured and never changed for it:
`same` = one company's name written another way (legal form, punctuation, case, ampersand,
diacritics, a common abbreviation, a leading "the", spacing, a one-letter typo, an acronym);
`different` = another name, even when the companies may be related ("Acme" vs "Acme Software":
a subsidiary is an account name of its own). Word order that changes the name ("Smith &
Jones" / "Jones & Smith") is `different`; a legal form moved ("AB Volvo" / "Volvo AB") is not.
The names are invented or common words; any likeness to real firms is for realism only.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

OUT = Path(__file__).with_name("company_pairs.csv")
SEED = 22

# Core names and the legal forms of their country.
BASES: list[tuple[str, list[str]]] = [
    ("Acme", ["Inc.", "Incorporated", "Corp.", "Corporation", "LLC"]),
    ("Northwind Traders", ["Ltd", "Limited", "PLC", "Ltd."]),
    ("Contoso Pharmaceuticals", ["Inc", "Corp", "Inc."]),
    ("Fabrikam", ["GmbH", "AG", "GmbH & Co. KG"]),
    ("Blue Harbor Logistics", ["LLC", "L.L.C.", "Inc."]),
    ("Müller Maschinenbau", ["GmbH", "AG"]),
    ("Société Générale des Eaux", ["S.A.", "SA", "SAS"]),
    ("Nordlys Energi", ["AS", "A/S", "ASA"]),
    ("Kauppa", ["Oy", "Oyj"]),
    ("Svensk Stål", ["AB", "AB (publ)"]),
    ("Van Dijk Bouw", ["B.V.", "BV", "N.V."]),
    ("Sakura Denki", ["K.K.", "Kabushiki Kaisha", "Co., Ltd."]),
    ("Southern Cross Mining", ["Pty Ltd", "Pty. Ltd.", "Limited"]),
    ("Lion City Foods", ["Pte. Ltd.", "Pte Ltd"]),
    ("Grupo Andino", ["S.A. de C.V.", "SA de CV", "S.A."]),
    ("Vltava Stavby", ["s.r.o.", "a.s."]),
    ("Wisła Transport", ["sp. z o.o.", "S.A."]),
    ("Pacific Rim Shipping", ["Co., Ltd.", "Company Limited", "Ltd"]),
    ("Hartmann Consulting", ["GmbH", "UG"]),
    ("Bright Path Education", ["Inc.", "LLC", "Corp"]),
    ("Ironclad Security", ["Inc", "Corporation"]),
    ("Redwood Analytics", ["LLC", "Inc."]),
    ("Crédit Rural", ["SA", "S.A."]),
    ("Åkerlund Papper", ["AB"]),
    ("Øresund Fisk", ["ApS", "A/S"]),
    ("Zürcher Feinmechanik", ["AG", "GmbH"]),
    ("São Paulo Têxtil", ["Ltda", "Ltda.", "S.A."]),
    ("Kowalski Meble", ["sp. z o.o."]),
    ("Dubois Frères", ["SARL", "S.A.R.L."]),
    ("Rossi Alimentari", ["S.p.A.", "SpA", "S.r.l."]),
    ("Quantum Leap Robotics", ["Inc.", "Corp."]),
    ("Silverline Telecom", ["PLC", "plc", "Limited"]),
    ("Evergreen Bank", ["N.A.", "Corp"]),
    ("Helios Solar", ["Inc.", "GmbH"]),
    ("Granite Peak Capital", ["LLC", "LP", "L.P."]),
    ("Orion Aerospace", ["Corporation", "Corp."]),
    ("Tidewater Marine", ["Inc.", "Company"]),
    ("Maple Leaf Insurance", ["Inc.", "Ltd."]),
    ("Kilimanjaro Coffee", ["Ltd", "Limited"]),
    ("Golden Gate Ventures", ["LLC", "Inc."]),
    ("Istanbul Tekstil", ["A.Ş.", "AS"]),
    ("Hanseatic Freight", ["GmbH", "KG"]),
    ("Cedar Point Dental", ["PC", "P.C.", "PLLC"]),
    ("Atlas Van Lines", ["Inc.", "Co."]),
    ("Starlight Studios", ["Inc.", "LLC"]),
    ("Polar Bear Outfitters", ["Ltd.", "Inc."]),
    ("Mumbai Steel", ["Pvt Ltd", "Private Limited", "Pvt. Ltd."]),
    ("Kuala Rubber", ["Sdn Bhd", "Sdn. Bhd.", "Berhad"]),
    ("Moskva Neft", ["OOO", "PAO", "AO"]),
    ("Astra Otoparts", ["Tbk", "Tbk."]),
]

ABBREV: list[tuple[str, str]] = [
    ("International", "Intl"),
    ("International", "Int'l"),
    ("Technologies", "Tech"),
    ("Technology", "Tech"),
    ("Manufacturing", "Mfg"),
    ("Services", "Svcs"),
    ("Laboratories", "Labs"),
    ("Management", "Mgmt"),
    ("Brothers", "Bros."),
    ("Associates", "Assoc."),
    ("National", "Nat'l"),
    ("Systems", "Sys"),
    ("Pharmaceuticals", "Pharma"),
    ("Center", "Centre"),
    ("Holdings", "Hldgs"),
]
ABBREV_NAMES = [
    "Acme International",
    "Baxter Technologies",
    "Delta Manufacturing",
    "Keystone Services",
    "Riverside Laboratories",
    "Summit Management",
    "Warner Brothers Freight",
    "Carter Associates",
    "First National Freight",
    "Orbital Systems",
    "Nova Pharmaceuticals",
    "Lakeside Medical Center",
    "Pinnacle Holdings",
    "Sterling Technology",
    "Coastal International Shipping",
    "Precision Manufacturing",
    "Allied Services",
    "Jensen Laboratories",
    "Crescent Management",
    "Harlow Brothers",
]

AMPERSAND = [
    "Johnson & Johnson Medical",
    "Smith & Wesson Tools",
    "Procter & Gamble Supply",
    "Barnes & Noble",
    "Marks & Spencer",
    "Black & Decker",
    "Ernst & Young",
    "Dolce & Gabbana",
    "Arm & Hammer",
    "Crate & Barrel",
    "Ben & Jerry's",
    "Bath & Body Works",
    "Simon & Schuster",
    "Tiffany & Co.",
    "Baker & McKenzie",
]
PUNCT = [
    ("Hewlett-Packard", "Hewlett Packard"),
    ("Yahoo!", "Yahoo"),
    ("Coca-Cola", "Coca Cola"),
    ("Rolls-Royce", "Rolls Royce"),
    ("McDonald's", "McDonalds"),
    ("Macy's", "Macys"),
    ("E*Trade Financial", "E Trade Financial"),
    ("Mercedes-Benz", "Mercedes Benz"),
    ("Kellogg's", "Kelloggs"),
    ("Dr. Pepper Snapple", "Dr Pepper Snapple"),
    ("J. P. Morgan", "JP Morgan"),
    ("U.S. Steel", "US Steel"),
    ("A.T. Kearney", "AT Kearney"),
    ("Lowe's Home Improvement", "Lowes Home Improvement"),
    ('Toys"R"Us', "Toys R Us"),
    ("St. Regis Paper", "St Regis Paper"),
    ("Wal-Mart Stores", "Walmart Stores"),
    ("Sun-Maid Growers", "Sunmaid Growers"),
    ("Harley-Davidson", "Harley Davidson"),
    ("Bristol-Myers Squibb", "Bristol Myers Squibb"),
]
SPACING = [
    ("FaceBook", "Face Book"),
    ("Data Dog", "Datadog"),
    ("Drop Box", "Dropbox"),
    ("Play Station Games", "Playstation Games"),
    ("Post Master", "Postmaster"),
    ("Sales Force", "Salesforce"),
    ("Light House Media", "Lighthouse Media"),
    ("Sun Power", "SunPower"),
    ("Free Way Logistics", "Freeway Logistics"),
    ("Green Field Farms", "Greenfield Farms"),
]
DIACRITICS = [
    ("Nestlé", "Nestle"),
    ("Škoda Auto", "Skoda Auto"),
    ("Citroën", "Citroen"),
    ("L'Oréal", "LOreal"),
    ("Hermès", "Hermes"),
    ("Mövenpick", "Movenpick"),
    ("Løgstør Rør", "Logstor Ror"),
    ("Telefónica", "Telefonica"),
    ("Société Nouvelle", "Societe Nouvelle"),
    ("Ærø Kaffe", "Aero Kaffe"),
    ("Grüne Energie", "Grune Energie"),
    ("Crème de la Crème", "Creme de la Creme"),
    ("Łódź Tekstyl", "Lodz Tekstyl"),
    ("Ümraniye Yapı", "Umraniye Yapi"),
    ("Ñandú Viajes", "Nandu Viajes"),
]
THE = [
    "Home Depot",
    "Boston Consulting Group",
    "Hartford Insurance",
    "Walt Disney Company",
    "Cheesecake Factory",
    "Container Store",
    "Hershey Company",
    "Kroger Company",
    "Washington Post",
    "Economist Group",
]
LEGAL_PREFIX = [
    ("AB Volvo", "Volvo AB"),
    ("PT Astra International Tbk", "Astra International"),
    ("OOO Gazstroy", "Gazstroy OOO"),
    ("PT Astra Otoparts", "Astra Otoparts Tbk"),
    ("PAO Severstal", "Severstal"),
    ("PT Bank Central Asia Tbk", "Bank Central Asia"),
]
TYPOS = [
    ("Acme Technologies", "Acme Technolgies"),
    ("Northwind Traders", "Northwind Tradres"),
    ("Blue Harbor Logistics", "Blue Harbor Logsitics"),
    ("Redwood Analytics", "Redwood Analytcs"),
    ("Quantum Leap Robotics", "Quantum Leap Robtics"),
    ("Ironclad Security", "Ironclad Securty"),
    ("Evergreen Financial", "Evergreen Finanical"),
    ("Silverline Telecom", "Silverlne Telecom"),
    ("Contoso Pharmaceuticals", "Contoso Pharmaceuticls"),
    ("Orion Aerospace", "Orion Aerospce"),
    ("Microsoft", "Microsfot"),
    ("Salesforce", "Salesfroce"),
]
ACRONYMS = [
    ("International Business Machines", "IBM"),
    ("General Electric", "GE"),
    ("Bayerische Motoren Werke", "BMW"),
    ("Minnesota Mining and Manufacturing", "3M"),
    ("Hongkong and Shanghai Banking Corporation", "HSBC"),
]
GROUPING = [
    ("Virgin Group", "Virgin"),
    ("Carlsberg Group", "Carlsberg A/S"),
    ("Tata Group", "Tata"),
    ("Accor Group", "Accor SA"),
    ("Lindqvist Holding", "Lindqvist AB"),
    ("Schindler Holding AG", "Schindler"),
    ("Swire Group", "Swire"),
    ("Bertelsmann Group", "Bertelsmann SE & Co. KGaA"),
]

DIFFERENT = [
    ("Acme Labs", "Acme Lab Supplies"),
    ("United Airlines", "United Parcel Service"),
    ("Meta", "Metal Corp"),
    ("General Electric", "General Mills"),
    ("American Express", "American Airlines"),
    ("Apple", "Applebee's"),
    ("Acme", "Acne Inc."),
    ("Nova Pharmaceuticals", "Novo Pharmaceuticals"),
    ("Petro Corp", "Metro Corp"),
    ("Smith & Jones", "Jones & Smith"),
    ("Acme", "Acme Software"),
    ("Blue Sky Media", "Blue Sky Medical"),
    ("Capital Group", "Capital One"),
    ("Delta Airlines", "Delta Faucet"),
    ("Oracle", "Oracle Health"),
    ("First National Bank", "National First Bank"),
    ("Northwind Traders", "Northwind Travel"),
    ("Summit Partners", "Summit Materials"),
    ("Global Logistics", "Global Logic"),
    ("Alpha Inc.", "Beta Inc."),
    ("Sun Life", "Sun Microsystems"),
    ("Pacific Gas", "Pacific Life"),
    ("Eagle Eye Networks", "Eagle Networks"),
    ("Pioneer Foods", "Pioneer Electronics"),
    ("Phoenix Group", "Phoenix Media Group"),
    ("Bank of America", "America First Bank"),
    ("Standard Chartered", "Standard Bank"),
    ("Royal Mail", "Royal Dutch Shell"),
    ("Mercury Insurance", "Mercury Systems"),
    ("Atlas Copco", "Atlas Van Lines"),
    ("Canon", "Cannon Industries"),
    ("Kodak", "Kodiak Cakes"),
    ("Nikon", "Nike"),
    ("Lexus", "Lexis Nexis"),
    ("Visa", "Vista Equity"),
    ("Intel", "Intelsat"),
    ("Amazon", "Amazonas Energia"),
    ("Shell", "Shelter Insurance"),
    ("Zoom", "Zoominfo"),
    ("Target", "Target Logistics"),
    ("Square", "Squarespace"),
    ("Box", "Boxed"),
    ("Slack", "Slack Brewing"),
    ("Uber", "Uber Freight"),
    ("Lyft", "Lift Technologies"),
    ("Hertz", "Hertz Equipment Rental"),
    ("Ford", "Ford Foundation"),
    ("Dell", "Dell Medical"),
    ("Sony", "Sonya Designs"),
    ("Bosch", "Bosch Rexroth"),
    ("Siemens", "Siemens Healthineers"),
    ("Adobe", "Adobo Foods"),
    ("Nvidia", "Nvidea Labs"),
    ("Tesla", "Tesla Coil Works"),
    ("Ernst & Young", "Young & Rubicam"),
    ("Johnson & Johnson", "Johnson Controls"),
    ("Procter & Gamble", "Gamble & Sons"),
    ("Marks & Spencer", "Spencer Stuart"),
    ("Acme Holdings", "Acme Holdings Europe"),
    ("United Health", "United Healthcare Services"),
    ("Western Digital", "Western Union"),
    ("Southern Company", "Southern Copper"),
    ("National Grid", "National Instruments"),
    ("Energy Transfer", "Energy Recovery"),
    ("Green Mountain Coffee", "Green Mountain Power"),
    ("Blue Cross", "Blue Origin"),
    ("Red Hat", "Red Bull"),
    ("White Castle", "White Cap"),
    ("Black Rock", "Blackstone"),
    ("Silver Lake", "Silver Spring Networks"),
    ("Golden State Foods", "Golden Living"),
    ("Pinnacle Foods", "Pinnacle West"),
    ("Crown Castle", "Crown Holdings"),
    ("Eastern Bank", "Eastern Airlines"),
    ("Central Garden", "Central Pacific Financial"),
    ("Universal Music", "Universal Health Services"),
    ("Digital Realty", "Digital Ocean"),
    ("Trust Bank", "Trustpilot"),
    ("Power Solutions", "Power Integrations"),
    ("Media Corp", "Mediacom"),
    ("Data Systems", "Datasite"),
    ("Health Net", "Healthline"),
    ("Capital Bank", "Capitol Federal"),
    ("Mid America Apartments", "America Mid Bank"),
    ("Smith Barney", "Barney Smith"),
    ("Goldman Sachs", "Sachs Goldman"),
    ("Morgan Stanley", "Stanley Morgan"),
    ("Allen & Overy", "Overy Allen"),
    ("Clifford Chance", "Chance Clifford"),
    ("Hartmann Consulting GmbH", "Hartmann Logistik GmbH"),
    ("Müller Maschinenbau GmbH", "Müller Milch GmbH"),
    ("Société Générale", "Société Nationale"),
    ("Nordlys Energi AS", "Nordlys Eiendom AS"),
    ("Sakura Denki K.K.", "Sakura Foods K.K."),
    ("Rossi Alimentari S.p.A.", "Rossi Moda S.p.A."),
    ("Kowalski Meble", "Kowalski Transport"),
    ("Van Dijk Bouw B.V.", "Van Dijk Advocaten B.V."),
    ("Dubois Frères", "Dubois Immobilier"),
    ("Lion City Foods", "Lion City Motors"),
    ("Pacific Rim Shipping", "Pacific Rim Tea"),
    ("Acme International", "Acme National"),
    ("Acme Technologies", "Acme Textiles"),
    ("Acme Manufacturing", "Acme Marketing"),
    ("Acme Services", "Acme Solutions"),
    ("Orion Aerospace", "Orion Energy"),
    ("Helios Solar", "Helios Towers"),
    ("Tidewater Marine", "Tidewater Utilities"),
    ("Redwood Analytics", "Redwood Trust"),
    ("Quantum Leap Robotics", "Quantum Computing"),
    ("Ironclad Security", "Ironclad Performance Wear"),
    ("Golden Gate Ventures", "Golden Gate Capital"),
    ("Atlas Air", "Atlas Copco"),
    ("Starlight Studios", "Starlight Cruises"),
    ("Cedar Point Dental", "Cedar Fair"),
    ("ABC Supply", "ABC Radio"),
    ("AT&T", "AT Kearney"),
    ("3M", "3D Systems"),
    ("HP", "HPE"),
    ("GE", "GEA Group"),
    ("BMW", "BMC Software"),
    ("IBM", "IBS Software"),
    ("Tata Motors", "Tata Steel"),
    ("Virgin Atlantic", "Virgin Media"),
    ("Swire Pacific", "Swire Properties"),
    ("Heineken", "Heinz"),
    ("Carlsberg", "Carlson"),
    ("Accor", "Accord Healthcare"),
    ("Metro AG", "Metro Bank"),
    ("Aldi Nord", "Aldi Süd"),
    ("Fiat", "Fiat Chrysler"),
    ("Nestlé", "Nestlé Purina"),
    ("Škoda Auto", "Škoda Transportation"),
    ("Hermès", "Hermes Logistik"),
    ("Telefónica", "Telefonaktiebolaget LM Ericsson"),
    ("Mövenpick", "Mövenpick Wein"),
    ("The Home Depot", "Home Depot Supply"),
    ("The Container Store", "Container Corp"),
    ("Sun Power", "Sun Pharma"),
    ("Data Dog", "Data Robot"),
    ("Drop Box", "Drop Cam"),
    ("Light House Media", "Light House Films"),
    ("Green Field Farms", "Green Field Energy"),
    ("Meta", "Metabase"),
    ("Snap", "Snap-on"),
    ("Block", "Blockchain Capital"),
    ("Alphabet", "Alphabet Soup Catering"),
    ("Nova", "Novartis"),
    ("Ionis", "Ionos"),
    # Surnames one letter apart: other families, other firms.
    ("Jansen Logistics", "Janssen Logistics"),
    ("Carlson Travel", "Carlsson Travel"),
    ("Marten Transport", "Martens Transport"),
    ("Petersen Foods", "Peterson Foods"),
    ("Hansen Bakery", "Hanssen Bakery"),
    ("Nordstrom", "Nordstrand"),
    ("Schneider Electric", "Schneider National"),
    ("Thomsen Consulting", "Thomson Consulting"),
]


def _case(rng: random.Random, name: str) -> str:
    return rng.choice([name.upper(), name.lower(), name.title(), name])


def pairs(rng: random.Random) -> list[tuple[str, str, bool, str]]:
    """Every labelled pair: (name_a, name_b, same, category)."""
    rows: list[tuple[str, str, bool, str]] = []
    for core, forms in BASES:
        a, b = rng.sample(forms, 2) if len(forms) > 1 else (forms[0], "")
        rows.append((f"{core} {a}", f"{core} {b}".strip(), True, "legal_suffix"))
        sep = rng.choice([", ", " ", ",  "])
        rows.append((f"{core}{sep}{rng.choice(forms)}", _case(rng, core), True, "suffix_and_case"))
    for name in ABBREV_NAMES:
        long_, short = next((w, s) for w, s in ABBREV if w in name)
        rows.append((name, name.replace(long_, short), True, "abbreviation"))
        suffix = rng.choice(["Inc.", "Ltd", "LLC", "Corp."])
        rows.append((f"{name} {suffix}", name.replace(long_, short), True, "abbreviation_suffix"))
    for name in AMPERSAND:
        rows.append((name, name.replace("&", "and"), True, "ampersand"))
        rows.append((name, name.replace(" & ", "&"), True, "ampersand_spacing"))
    rows += [(a, b, True, "punctuation") for a, b in PUNCT]
    rows += [(a, b, True, "spacing") for a, b in SPACING]
    for a, b in DIACRITICS:
        rows.append((a, b, True, "diacritics"))
        rows.append(
            (
                f"{a} {rng.choice(['SA', 'GmbH', 'AB', 'A/S'])}",
                _case(rng, b),
                True,
                "diacritics_suffix",
            )
        )
    for name in THE:
        rows.append((f"The {name}", name, True, "leading_the"))
        rows.append((f"THE {name.upper()}, INC.", name, True, "leading_the_suffix"))
    rows += [(a, b, True, "legal_prefix") for a, b in LEGAL_PREFIX]
    rows += [(a, b, True, "typo") for a, b in TYPOS]
    rows += [(a, b, True, "acronym") for a, b in ACRONYMS]
    rows += [(a, b, True, "group_holding") for a, b in GROUPING]
    rows += [(a, b, False, "near_miss") for a, b in DIFFERENT]
    # Different names dressed alike: the same legal form on two names of the base list.
    cores = [core for core, _ in BASES]
    for i in range(0, len(cores) - 1, 2):
        form = rng.choice(BASES[i][1])
        rows.append((f"{cores[i]} {form}", f"{cores[i + 1]} {form}", False, "same_suffix"))
    return rows


def write(path: Path) -> list[tuple[str, str, bool, str]]:
    """Write the pairs as CSV to `path`; returns them."""
    rows = pairs(random.Random(SEED))
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(["name_a", "name_b", "same", "category"])
        for a, b, same, category in rows:
            out.writerow([a, b, "1" if same else "0", category])
    return rows


def main() -> None:
    rows = write(OUT)
    print(f"{len(rows)} pairs ({sum(r[2] for r in rows)} same) → {OUT}")


if __name__ == "__main__":
    main()
