"""The column-name rules of the de-identification screen: per DESIGN.md category, the words in
English, Norwegian, Danish, Swedish, German and Spanish (normalised: lower case, no accents,
ø → o, æ → ae, ß → ss) that suggest it."""

from __future__ import annotations

from dataclasses import dataclass

from cohortvault.quality.model import Severity


@dataclass(frozen=True)
class NameRule:
    category: str  # the DESIGN.md category
    what: str  # "e-mail addresses": what the name suggests
    exact: frozenset[str] = frozenset()
    words: frozenset[str] = frozenset()
    stems: tuple[str, ...] = ()
    phrases: tuple[tuple[str, ...], ...] = ()
    unless: frozenset[str] = frozenset()
    severity: Severity = "error"


def _set(text: str) -> frozenset[str]:
    return frozenset(text.split())


PERSON = _set(
    "first last full given family middle maiden sur patient participant subject person mother "
    "father parent partner spouse child contact next kin doctor gp proband informant caregiver "
    "pasient deltaker deltager paciente participante teilnehmer mor far madre padre respondent"
)
_TEST = _set(
    "test score task naming recognition memory recall emotion perception matching "
    "interview screening call calls mode administered assessment version quality"
)

RULES: tuple[NameRule, ...] = (
    NameRule(
        "e-mail addresses",
        "e-mail addresses",
        exact=_set("mail"),
        words=_set("email emails emailaddress correo"),
        stems=("email", "epost", "correoelectronico", "mailadress", "mailadresse"),
    ),
    NameRule(
        "IP addresses",
        "IP addresses",
        exact=_set("ip"),
        words=_set("ip ipv4 ipv6 ipaddr"),
        stems=("ipaddress", "ipadresse", "ipadress", "direccionip", "ipnummer"),
    ),
    NameRule(
        "national identity numbers",
        "national identity numbers",
        exact=_set("cpr dni nie nif nhs bsn ssn"),
        words=_set("fnr pnr ssn nino svnr idnr personnr fodselsnr cprnr dnr"),
        stems=(
            "fodselsnummer",
            "personnummer",
            "samordningsnummer",
            "dnummer",
            "cprnummer",
            "cprnr",
            "steuerid",
            "steueridentifikation",
            "steuernummer",
            "sozialversicherung",
            "rentenversicherung",
            "versicherungsnummer",
            "socialsecurity",
            "nationalinsurance",
            "nationalid",
            "nhsnumber",
            "nhsno",
            "identitycard",
            "idcard",
            "personalausweis",
            "ausweisnummer",
            "documentonacional",
            "numerodeidentidad",
            "dninumber",
            "nienumber",
            "numerodni",
            "numeronie",
            "personalidentity",
            "idnummer",
            "personnr",
        ),
    ),
    NameRule(
        "passport numbers",
        "passport numbers",
        stems=(
            "passport",
            "reisepass",
            "pasaporte",
            "passnummer",
            "passnr",
            "pasnummer",
            "passeport",
        ),
        phrases=(("pass", "no"), ("pass", "nr"), ("pass", "number"), ("pass", "nummer")),
    ),
    NameRule(
        "telephone numbers",
        "telephone numbers",
        exact=_set("handy tel tlf fax"),
        words=_set("phone phones tel tlf mobile mobil handy fax telefon telefono movil"),
        stems=(
            "telefon",
            "telephone",
            "phonenumber",
            "phoneno",
            "mobilnummer",
            "mobiltelefon",
            "handynummer",
            "telefono",
            "celular",
            "mobilephone",
            "cellphone",
            "faxnummer",
            "mobilenumber",
            "mobileno",
        ),
        unless=_TEST,
    ),
    NameRule(
        "full dates of birth",
        "full dates of birth",
        exact=_set("dob fdato gebdat fnac"),
        words=_set("dob"),
        stems=(
            "birthdate",
            "dateofbirth",
            "birthday",
            "fodselsdato",
            "fodselsdag",
            "fodelsedatum",
            "fodelsedag",
            "geburtsdatum",
            "geburtstag",
            "fechadenacimiento",
            "fechanacimiento",
            "fechanac",
        ),
        phrases=(("birth", "date"), ("date", "birth"), ("born", "date")),
    ),
    NameRule(
        "birthplace",
        "places of birth",
        stems=(
            "birthplace",
            "placeofbirth",
            "fodested",
            "fodselssted",
            "fodelseort",
            "fodelseplats",
            "geburtsort",
            "lugardenacimiento",
            "lugarnacimiento",
            "birthtown",
            "birthcity",
            "cityofbirth",
            "townofbirth",
        ),
        phrases=(("birth", "place"), ("place", "birth"), ("birth", "city")),
    ),
    NameRule(
        "login names and handles",
        "login names or handles",
        exact=_set("user login uid handle usuario benutzer"),
        words=_set("login logon handle usuario benutzer brukerid userid"),
        stems=(
            "username",
            "brukernavn",
            "brugernavn",
            "anvandarnamn",
            "benutzername",
            "nombredeusuario",
            "screenname",
            "loginname",
            "accountname",
            "twitter",
            "instagram",
            "facebook",
            "tiktok",
            "linkedin",
            "snapchat",
            "skype",
        ),
    ),
    NameRule(
        "credit card numbers",
        "payment card or bank account numbers",
        words=_set("cvv cvc iban"),
        stems=(
            "creditcard",
            "cardnumber",
            "ccnumber",
            "kortnummer",
            "kredittkort",
            "kreditkort",
            "kreditkarte",
            "tarjeta",
            "kontonummer",
            "bankaccount",
            "accountnumber",
            "cuentabancaria",
            "bankkonto",
        ),
    ),
    NameRule(
        "genetic information",
        "genetic information",
        words=_set(
            "dna adn snp snps rsid apoe apoe4 gene genes genom genome genomic "
            "allele alleles erbgut prs"
        ),
        stems=(
            "genotype",
            "genotyp",
            "genotipo",
            "genetic",
            "genetik",
            "genetisk",
            "genetica",
            "haplotype",
            "dnasequence",
            "sequencing",
            "exome",
            "polygenic",
            "genomewide",
        ),
    ),
    NameRule(
        "fingerprints",
        "fingerprints",
        words=_set("huella"),
        stems=(
            "fingerprint",
            "fingeravtrykk",
            "fingeraftryk",
            "fingeravtryck",
            "fingerabdruck",
            "huelladactilar",
            "huelladigital",
            "biometric",
            "biometri",
        ),
    ),
    NameRule(
        "handwriting",
        "handwriting or signatures",
        stems=(
            "signature",
            "handwriting",
            "handskrift",
            "handschrift",
            "haandskrift",
            "underskrift",
            "unterschrift",
            "signatur",
            "manuscrita",
        ),
    ),
    NameRule(
        "face images",
        "photographs or face images",
        words=_set(
            "photo photos foto fotos face faces picture pictures bilde bild "
            "imagen portrait selfie headshot gesicht ansikt ansigt rostro"
        ),
        stems=(
            "photograph",
            "fotografi",
            "lichtbild",
            "faceimage",
            "facephoto",
            "facepicture",
            "passfoto",
            "passbild",
        ),
        unless=_TEST,
    ),
    NameRule(
        "addresses",
        "street addresses",
        words=_set("addr street calle strasse gata gateadresse"),
        stems=(
            "address",
            "adresse",
            "adress",
            "direccion",
            "domicilio",
            "hausnummer",
            "bostedsadresse",
            "gatuadress",
            "bopael",
            "wohnanschrift",
            "anschrift",
        ),
    ),
    NameRule(
        "addresses",
        "postcodes (a quasi-identifier: keep a region instead)",
        exact=_set("zip plz cp"),
        words=_set("zip zipcode postcode postnr postnummer plz"),
        stems=(
            "postcode",
            "postnummer",
            "postleitzahl",
            "codigopostal",
            "zipcode",
            "postalcode",
            "postnr",
        ),
        severity="warning",
    ),
    NameRule(
        "names",
        "names of persons",
        exact=_set("name names navn namn nombre nom"),
        stems=(
            "firstname",
            "lastname",
            "surname",
            "fullname",
            "givenname",
            "familyname",
            "maidenname",
            "middlename",
            "forename",
            "fornavn",
            "etternavn",
            "efternavn",
            "mellomnavn",
            "mellemnavn",
            "pikenavn",
            "fornamn",
            "efternamn",
            "tilltalsnamn",
            "mellannamn",
            "vorname",
            "nachname",
            "familienname",
            "geburtsname",
            "rufname",
            "apellido",
            "nombrecompleto",
            "patientname",
            "personname",
            "pasientnavn",
            "kontaktperson",
        ),
    ),
)
GENERIC_NAME = _set("name names navn namn nombre")
