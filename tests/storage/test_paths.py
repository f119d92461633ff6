"""The one path checker (``storage.paths``): the traversal corpus, the area grammar, and
properties that must hold for any text anyone types.

Nothing here needs the database: paths are checked before anything is looked up.
"""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from cohortvault.access.policy import Area, AreaKind
from cohortvault.errors import Invalid
from cohortvault.storage import paths
from tests.files.traversal import BASE, HARMLESS, PAYLOADS, stays_inside

OSLO_IMPORT = Area.site_import("oslo")
#: Unicode categories no accepted name may contain (controls, format and bidi characters,
#: surrogates, private use, unassigned, line and paragraph separators).
FORBIDDEN_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
property_settings = hypothesis_settings(
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    deadline=None,
    max_examples=400,
)


def assert_well_formed(result: paths.AreaPath) -> None:
    """What every accepted path must look like, whatever was typed."""
    full = result.full
    assert full == unicodedata.normalize("NFC", full)
    assert len(full) <= paths.MAX_PATH_LENGTH
    assert "\\" not in full and "\x00" not in full
    assert not full.startswith("/") and not full.endswith("/")
    assert full == result.area.path or full.startswith(result.area.path + "/")
    names = result.path.split("/") if result.path else []
    for name in names:
        compatible = unicodedata.normalize("NFKC", name)
        assert name not in {"", ".", ".."}
        assert compatible.strip(" .") != "", name
        assert ".." not in compatible.split("/"), name
        assert "/" not in compatible and "\\" not in compatible, name
        assert len(name.encode("utf-8")) <= paths.MAX_NAME_BYTES
        assert name == name.strip() and not name.endswith(".")
        for char in name:
            assert unicodedata.category(char) not in FORBIDDEN_CATEGORIES, (name, hex(ord(char)))
            assert char not in paths.SEPARATOR_LOOKALIKES
    # idempotent: the normalised full path parses to the same place, unchanged
    again = paths.parse(full)
    assert again == result
    assert again.full == full


# --- the traversal corpus -------------------------------------------------------------------


def test_the_corpus_is_big_enough_and_harmless_names_are_in_it() -> None:
    assert len(PAYLOADS) >= 50
    assert len(set(PAYLOADS)) == len(PAYLOADS)
    assert set(PAYLOADS) >= HARMLESS


@pytest.mark.parametrize("payload", PAYLOADS, ids=[ascii(p)[:40] for p in PAYLOADS])
def test_every_payload_is_refused_or_stays_a_literal_name_inside_base(payload: str) -> None:
    raw = f"{BASE}/{payload}"
    if payload not in HARMLESS:
        with pytest.raises(Invalid) as refused:
            paths.parse(raw)
        assert refused.value.details and refused.value.details[0]["reason"]
        return
    result = paths.parse(raw)
    assert result.area == OSLO_IMPORT
    assert stays_inside(result.full)
    assert result.path == unicodedata.normalize("NFC", payload)  # literal: nothing decoded
    assert_well_formed(result)


@pytest.mark.parametrize("payload", PAYLOADS, ids=[ascii(p)[:40] for p in PAYLOADS])
def test_payloads_are_refused_as_whole_paths_and_as_single_names(payload: str) -> None:
    """Typed as a whole path (no area in front) nothing names an area it could escape to; as a
    single name only the harmless ones without a slash pass."""
    with pytest.raises(Invalid):
        paths.parse(payload)
    if payload in HARMLESS and "/" not in payload:
        assert paths.check_name(payload) == payload
    else:
        with pytest.raises(Invalid):
            paths.check_name(payload)


def test_refusals_are_counted() -> None:
    refused = accepted = 0
    for payload in PAYLOADS:
        try:
            result = paths.parse(f"{BASE}/{payload}")
        except Invalid:
            refused += 1
        else:
            assert stays_inside(result.full), payload
            accepted += 1
    assert accepted == len(HARMLESS)
    assert refused == len(PAYLOADS) - len(HARMLESS)
    print(f"paths.parse: {len(PAYLOADS)} payloads, {refused} refused, {accepted} kept inside")


# --- names ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "cognition.csv",
        "visit 2",
        "Æøå-data_v1.2.nii.gz",
        ".hidden",
        "a..b",
        "..a",
        "名前.csv",
        "x" * 255,
        "é" * 127,  # 254 bytes
        "CONSOLE",
        "con-1",
    ],
)
def test_ordinary_names_are_accepted(name: str) -> None:
    assert paths.check_name(name) == unicodedata.normalize("NFC", name)


@pytest.mark.parametrize(
    "name",
    [
        "",
        ".",
        "..",
        "...",
        " ",
        ". .",
        "\uff0e",
        "\uff0e\uff0e",
        "\u2025",
        "\u2024\u2024",
        "\ufe52\ufe52",
        ".\uff0e",
        "a/b",
        "a\\b",
        "a\u2215b",
        "a\u2044b",
        "a\uff0fb",
        "a\uff3cb",
        "a\ufe68b",
        "a\x00b",
        "a\x7fb",
        "a\u0085b",
        "a\u200db",
        "a\u2066b",
        "a\u2028b",
        "a\ue000b",
        "a\U000e0001b",
        "a\u0378b",  # unassigned
        "a<b",
        "a:b",
        'a"b',
        "a|b",
        "a?b",
        "a*b",
        " a",
        "a ",
        "\u00a0a",
        "a\u3000",
        "a.",
        "aux",
        "Lpt9.txt",
        "x" * 256,
        "é" * 128,  # 256 bytes
    ],
    ids=ascii,
)
def test_bad_names_are_refused(name: str) -> None:
    with pytest.raises(Invalid):
        paths.check_name(name)


def test_no_compatibility_character_smuggles_a_separator_or_a_dot_name() -> None:
    """Every code point with a compatibility form, alone, doubled and between letters: what is
    accepted never becomes a separator or a dot name once folded (NFKC), as some file systems
    and tools fold names."""
    checked = 0
    for code_point in range(0x110000):
        char = chr(code_point)
        if unicodedata.normalize("NFKC", char) == char:
            continue
        for candidate in (char, char * 2, f"a{char}b", f".{char}", f"{char}."):
            checked += 1
            try:
                name = paths.check_name(candidate)
            except Invalid:
                continue
            folded = unicodedata.normalize("NFKC", name)
            assert "/" not in folded and "\\" not in folded, (hex(code_point), candidate)
            assert folded.strip(" .") != "", (hex(code_point), candidate)
    assert checked > 20_000


def test_names_are_stored_in_nfc_so_look_alike_spellings_are_one_file() -> None:
    decomposed = paths.parse(f"{BASE}/cafe\u0301/re\u0301sume\u0301.csv")
    composed = paths.parse(f"{BASE}/caf\u00e9/r\u00e9sum\u00e9.csv")
    assert decomposed == composed
    assert decomposed.path == "caf\u00e9/r\u00e9sum\u00e9.csv"
    assert paths.check_name("A\u030a") == "\u00c5"


def test_child_checks_the_name() -> None:
    folder = paths.parse(f"{BASE}/wave1")
    assert folder.child("x.csv").full == f"{BASE}/wave1/x.csv"
    root = paths.parse(BASE)
    assert root.child("x.csv").path == "x.csv"
    for bad in ["..", "a/b", "", "a\\b"]:
        with pytest.raises(Invalid):
            folder.child(bad)


def test_name_parent_and_full() -> None:
    nested = paths.parse(f"{BASE}/a/b/c.csv")
    assert (nested.name, nested.parent, nested.full, str(nested)) == (
        "c.csv",
        "a/b",
        f"{BASE}/a/b/c.csv",
        f"{BASE}/a/b/c.csv",
    )
    root = paths.parse(BASE)
    assert (root.path, root.name, root.parent, root.full) == ("", "import", "", BASE)


# --- areas ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "area", "path"),
    [
        ("home/alice", Area.home("alice"), ""),
        ("home/alice/", Area.home("alice"), ""),
        ("home/alice/notes/todo.txt", Area.home("alice"), "notes/todo.txt"),
        ("sites/oslo/data", Area.site_data("oslo"), ""),
        ("sites/oslo/data/study/wave1/x.csv", Area.site_data("oslo"), "study/wave1/x.csv"),
        ("sites/oslo/import", Area.site_import("oslo"), ""),
        ("sites/oslo/import/visit2/cognition.csv", OSLO_IMPORT, "visit2/cognition.csv"),
        ("sites/st-olavs-2/import/a", Area.site_import("st-olavs-2"), "a"),
        ("projects/alpha", Area.project("alpha"), ""),
        ("projects/alpha/out/model.parquet", Area.project("alpha"), "out/model.parquet"),
        ("logs", Area.logs(), ""),
        ("logs/dictionary.csv", Area.logs(), "dictionary.csv"),
        ("exports/r-17", Area.export_outbox("r-17", requester="", approved=False), ""),
        (
            "exports/r-17/out.csv",
            Area.export_outbox("r-17", requester="", approved=False),
            "out.csv",
        ),
    ],
)
def test_every_kind_of_area_parses(raw: str, area: Area, path: str) -> None:
    result = paths.parse(raw)
    assert result.area == area
    assert result.area.kind == area.kind and result.area.key == area.key
    assert result.path == path
    assert result.full == raw.rstrip("/")
    assert_well_formed(result)


def test_every_area_kind_is_covered() -> None:
    examples = ["home/u", "sites/s/data", "sites/s/import", "projects/p", "logs", "exports/r"]
    assert {paths.parse(raw).area.kind for raw in examples} == set(AreaKind)


def test_export_outbox_carries_who_may_read_it() -> None:
    result = paths.parse("exports/r-1/a.csv", requester="carol", approved=True)
    assert (result.area.requester, result.area.approved) == ("carol", True)
    assert result.area == paths.parse("exports/r-1/a.csv").area  # not part of its identity


def test_area_of_takes_only_area_roots() -> None:
    assert paths.area_of("sites/oslo/import") == OSLO_IMPORT
    assert paths.area_of("logs") == Area.logs()
    assert paths.area_of("home/alice") == Area.home("alice")
    with pytest.raises(Invalid):
        paths.area_of("sites/oslo/import/a.csv")
    with pytest.raises(Invalid):
        paths.area_of("sites/oslo")


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "/",
        "etc/passwd",
        "tmp/x",
        "Sites/oslo/import/x",
        "HOME/alice",
        "site/oslo/import",
        "home",
        "home/",
        "sites",
        "sites/oslo",
        "sites/oslo/",
        "sites/oslo/other",
        "sites/oslo/other/x.csv",
        "sites/oslo/Data/x.csv",
        "sites/oslo/imports/x.csv",
        "sites/data/oslo",
        "projects",
        "projects/",
        "exports",
        "exports/",
        "logs/../sites/oslo/data",
        "home/../sites/oslo/data/x",
        "sites/../sites/oslo/data/x",
        "sites/oslo/import/../data/x",
        "sites/oslo/import/..",
        "/sites/oslo/import/x",
        "\\sites\\oslo\\import\\x",
        "C:sites/oslo/import",
        "sites/oslo/import//x",
        "sites/oslo/import/x//",
        "./sites/oslo/import/x",
        "sites/./oslo/import/x",
        "\uff53ites/oslo/import/x",
        "sites/oslo/import/" + "a/" * 600,
    ],
    ids=ascii,
)
def test_paths_outside_the_area_model_are_refused(raw: str) -> None:
    with pytest.raises(Invalid):
        paths.parse(raw)


@pytest.mark.parametrize(
    "code",
    [
        "Oslo",
        "OSLO",
        "os.lo",
        "oslo.",
        ".oslo",
        "os_lo",
        "os lo",
        "-oslo",
        "øslo",
        "os\u0301lo",
        "oslo\uff0e",
        "\uff4fslo",  # fullwidth o
        "os%2elo",
        "os+lo",
        "os~lo",
    ],
    ids=ascii,
)
def test_bad_site_project_and_export_codes_are_refused(code: str) -> None:
    for raw in (
        f"sites/{code}/import/x.csv",
        f"sites/{code}/data",
        f"projects/{code}/x.csv",
        f"exports/{code}/x.csv",
    ):
        with pytest.raises(Invalid):
            paths.parse(raw)


def test_non_text_is_refused() -> None:
    for value in (None, b"sites/oslo/import/x", 42, ["sites", "oslo"]):
        with pytest.raises(Invalid):
            paths.parse(value)  # type: ignore[arg-type]


def test_the_length_limit_is_on_the_whole_path() -> None:
    fits = f"{BASE}/" + "/".join(["n" * 200] * 4)
    fits += "/" + "x" * (paths.MAX_PATH_LENGTH - len(fits) - 1)
    assert len(fits) == paths.MAX_PATH_LENGTH
    assert paths.parse(fits).full == fits
    with pytest.raises(Invalid):
        paths.parse(fits + "x")


# --- properties -----------------------------------------------------------------------------

HOSTILE = [
    ".", "..", "/", "\\", "\x00", "\t", "\n", " ", "\u00a0", "a", "B", "é", "e\u0301", "%",
    "2e", ":", "~", "\u2024", "\u2025", "\uff0e", "\ufe52", "\u2215", "\u2044", "\uff0f",
    "\uff3c", "\ufe68", "\u29f8", "\u202e", "\u200b", "\ufeff", "\u2028", "\ud800", "\U0010ffff",
    "data", "import", "sites", "oslo", "berlin", "CON",
]  # fmt: skip
hostile_text = st.lists(st.sampled_from(HOSTILE), max_size=24).map("".join)
segments = st.lists(
    st.one_of(
        st.sampled_from([".", "..", "", " ", "...", "data", "berlin", "\u2025"]), hostile_text
    ),
    max_size=8,
).map("/".join)
#: Every code point: surrogates, private use and unassigned ones included (category C).
any_character = st.characters(categories=("L", "M", "N", "P", "S", "Z", "C"))
any_text = st.one_of(
    st.text(),
    st.text(alphabet=any_character),
    hostile_text,
    segments,
    st.sampled_from(PAYLOADS),
)


@property_settings
@given(text=any_text)
@example(text="")
@example(text="..")
@example(text="a/../../data")
@example(text="\u2025/data")
@example(text="x" * 2000)
def test_no_text_leaves_the_area_it_is_typed_in(text: str) -> None:
    """For any text t, ``parse(BASE + "/" + t)`` is refused or stays in sites/oslo/import."""
    try:
        result = paths.parse(f"{BASE}/{text}")
    except Invalid:
        return
    assert result.area == OSLO_IMPORT
    assert result.area.kind is AreaKind.SITE_IMPORT and result.area.key == "oslo"
    if result.path:
        assert result.full.startswith(BASE + "/")
    else:  # "", or "/": the area root itself, still nowhere else
        assert result.full == BASE and text in {"", "/"}
    assert_well_formed(result)


@property_settings
@given(text=any_text)
def test_any_accepted_full_path_is_well_formed_and_idempotent(text: str) -> None:
    try:
        result = paths.parse(text)
    except Invalid:
        return
    assert_well_formed(result)


@property_settings
@given(
    area=st.sampled_from(
        ["home/alice", "sites/oslo/data", "sites/berlin/import", "projects/alpha", "logs"]
    ),
    text=any_text,
)
def test_every_area_keeps_what_is_typed_inside_it(area: str, text: str) -> None:
    expected = paths.area_of(area)
    try:
        result = paths.parse(f"{area}/{text}")
    except Invalid:
        return
    assert result.area == expected
    assert result.full == area or result.full.startswith(area + "/")
    assert_well_formed(result)


@property_settings
@given(name=any_text)
def test_check_name_returns_one_safe_nfc_name_or_refuses(name: str) -> None:
    try:
        checked = paths.check_name(name)
    except Invalid:
        return
    assert checked == unicodedata.normalize("NFC", name)
    assert "/" not in checked
    assert paths.check_name(checked) == checked
    assert paths.parse(f"{BASE}/{checked}") == paths.AreaPath(OSLO_IMPORT, checked)
