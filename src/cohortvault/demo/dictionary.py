"""The demo consortium's data dictionary: harmonized identifiers, demographics, clinical
ratings, cognition and MRI-derived measures, with units, categories and missing-value codes.

It matches the sample files of ``samples.py`` (subject IDs such as ``OSL-0001``, the sites'
wave codes, birth month and year only), so those conform. ``populate`` imports it as
version 1 through the same service a data manager uses, which also publishes it to
``logs/data-dictionary/``.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model

from cohortvault.catalog import services as catalog
from cohortvault.catalog.schema import Dictionary, FieldType, Sensitivity, Variable
from cohortvault.consortium.services import principal_for_user

INTEGER, NUMBER, STRING = FieldType.INTEGER, FieldType.NUMBER, FieldType.STRING
BOOLEAN, YEARMONTH = FieldType.BOOLEAN, FieldType.YEARMONTH
ORDINARY, SENSITIVE = Sensitivity.ORDINARY, Sensitivity.SENSITIVE
IDENTIFYING = Sensitivity.IDENTIFYING

#: Empty cell; not done or not available; refused or could not be completed.
MISSING = ("", "-99", "-88")
EMPTY = ("",)
CODE_PATTERN = "[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?"
IMAGING_SITES = ("oslo", "uppsala", "berlin")
IMAGING_WAVES = ("wave1", "wave3", "baseline", "followup", "t0", "t2")


def measure(
    name: str,
    kind: FieldType,
    label: str,
    unit: str,
    span: tuple[float, float],
    description: str,
    domain: str,
    *,
    sensitivity: Sensitivity = ORDINARY,
    imaging: bool = False,
) -> Variable:
    """A measured value with its unit and valid range."""
    return Variable(
        name, kind, label, description, unit, domain, sensitivity,
        minimum=span[0], maximum=span[1], missing_values=MISSING,
        sites=IMAGING_SITES if imaging else (), timepoints=IMAGING_WAVES if imaging else (),
    )  # fmt: skip


def coded(
    name: str,
    kind: FieldType,
    label: str,
    codes: str,
    description: str,
    domain: str,
    *,
    sensitivity: Sensitivity = ORDINARY,
    missing: tuple[str, ...] = MISSING,
    imaging: bool = False,
) -> Variable:
    """A categorical value; ``codes`` is ``code=label|code=label``."""
    categories = dict(pair.split("=", 1) for pair in codes.split("|"))
    return Variable(
        name, kind, label, description, domain=domain, sensitivity=sensitivity,
        categories=categories, missing_values=missing,
        sites=IMAGING_SITES if imaging else (), timepoints=IMAGING_WAVES if imaging else (),
    )  # fmt: skip


def identifier(
    name: str, label: str, pattern: str, description: str, sensitivity: Sensitivity = ORDINARY
) -> Variable:
    return Variable(
        name, STRING, label, description, domain="identifiers", sensitivity=sensitivity,
        required=True, pattern=pattern, identifier=True,
    )  # fmt: skip


IDENTIFIERS = [
    identifier(
        "subject_id", "Subject ID", "[A-Z]{3}-[0-9]{4}",
        "Pseudonymous subject identifier assigned by the site: the site's three-letter prefix "
        "and a four-digit number (OSL-0001). Never a name or national ID number.",
        sensitivity=IDENTIFYING,
    ),
    identifier(
        "timepoint", "Timepoint", CODE_PATTERN,
        "Code of the study wave or visit (wave1, baseline, t0, …), as registered for the "
        "site's study.",
    ),
    identifier(
        "site", "Site", CODE_PATTERN,
        "Code of the partner site that collected the data (oslo, uppsala, …).",
        sensitivity=IDENTIFYING,
    ),
]  # fmt: skip

D = "demographics"
DEMOGRAPHICS = [
    Variable(
        "birth_month", YEARMONTH, "Month of birth",
        "Year and month of birth (YYYY-MM). The full date of birth is never stored.",
        domain=D, sensitivity=IDENTIFYING, missing_values=EMPTY,
    ),
    coded("sex", STRING, "Sex", "F=Female|M=Male", "Sex recorded at enrolment.", D,
          sensitivity=IDENTIFYING, missing=("", "-99")),
    measure("age_at_visit", NUMBER, "Age at visit", "years", (40, 110),
            "Age in years at the visit, to one decimal.", D),
    measure("education_years", INTEGER, "Years of education", "years", (0, 30),
            "Completed years of full-time education, harmonized across national systems.", D),
    coded("handedness", STRING, "Handedness", "R=Right|L=Left|A=Ambidextrous",
          "Self-reported dominant hand.", D),
    coded("marital_status", INTEGER, "Marital status",
          "1=Married or cohabiting|2=Single|3=Divorced or separated|4=Widowed", "", D),
    Variable(
        "lives_alone", BOOLEAN, "Lives alone",
        "Whether the participant lives alone at the time of the visit.",
        domain=D, missing_values=EMPTY,
    ),
    coded("test_language", STRING, "Language of testing",
          "no=Norwegian|sv=Swedish|da=Danish|de=German|es=Spanish|en=English",
          "Language in which the cognitive tests were given (ISO 639-1).", D, missing=EMPTY),
]  # fmt: skip

C = "clinical"
CLINICAL = [
    coded("diagnosis", STRING, "Clinical diagnosis",
          "CN=Cognitively normal|SCD=Subjective cognitive decline|MCI=Mild cognitive "
          "impairment|AD=Alzheimer's disease dementia|OD=Other dementia",
          "Consensus diagnosis at the visit.", C, sensitivity=SENSITIVE),
    coded("cdr_global", STRING, "CDR global score",
          "0=None|0.5=Questionable|1=Mild|2=Moderate|3=Severe",
          "Clinical Dementia Rating, global score.", C, sensitivity=SENSITIVE),
    measure("gds15", INTEGER, "Geriatric Depression Scale (15 items)", "points", (0, 15),
            "Sum score; 5 or more suggests depression.", C, sensitivity=SENSITIVE),
    coded("smoking_status", INTEGER, "Smoking status", "0=Never|1=Former|2=Current", "", C,
          sensitivity=SENSITIVE),
    measure("height_cm", NUMBER, "Height", "cm", (120, 220), "Standing height without shoes.",
            C, sensitivity=SENSITIVE),
    measure("weight_kg", NUMBER, "Weight", "kg", (30, 200), "Body weight in light clothing.", C,
            sensitivity=SENSITIVE),
    measure("bmi", NUMBER, "Body mass index", "kg/m²", (12, 60),
            "Weight divided by height squared.", C, sensitivity=SENSITIVE),
    measure("systolic_bp", NUMBER, "Systolic blood pressure", "mmHg", (70, 250),
            "Seated, mean of two.", C, sensitivity=SENSITIVE),
]  # fmt: skip

G = "cognition"
COGNITION = [
    measure("mmse", INTEGER, "Mini-Mental State Examination", "points", (0, 30),
            "Total score; higher is better.", G),
    measure("moca", INTEGER, "Montreal Cognitive Assessment", "points", (0, 30),
            "Total score, with the education point added (one point for 12 years of education "
            "or fewer).", G),
    measure("tmt_a_seconds", NUMBER, "Trail Making Test A", "seconds", (10, 180),
            "Completion time, capped at 180 s; errors corrected on the spot.", G),
    measure("tmt_b_seconds", NUMBER, "Trail Making Test B", "seconds", (20, 300),
            "Completion time, capped at 300 s (discontinued tests are coded -88).", G),
    measure("tmt_b_errors", INTEGER, "Trail Making Test B errors", "errors", (0, 50),
            "Number of errors.", G),
    measure("digit_span_forward", INTEGER, "Digit span forward", "points", (0, 16),
            "WAIS-IV, total correct.", G),
    measure("digit_span_backward", INTEGER, "Digit span backward", "points", (0, 16),
            "WAIS-IV, total correct.", G),
    measure("verbal_fluency_animals", INTEGER, "Semantic fluency (animals)", "words", (0, 80),
            "Animals named in 60 seconds.", G),
    measure("verbal_fluency_letter", INTEGER, "Phonemic fluency (FAS)", "words", (0, 120),
            "Words beginning with F, A and S, 60 seconds each.", G),
    measure("word_recall_immediate", INTEGER, "Word list learning", "words", (0, 30),
            "CERAD ten-word list, sum of three trials.", G),
    measure("word_recall_delayed", INTEGER, "Word list delayed recall", "words", (0, 10),
            "CERAD ten-word list after a delay.", G),
    measure("word_recognition", INTEGER, "Word list recognition", "words", (0, 20),
            "CERAD recognition, correct yes and no answers.", G),
    coded("clock_drawing", INTEGER, "Clock drawing",
          "5=Perfect clock|4=Minor visuospatial errors|3=Inaccurate time with good "
          "visuospatial organisation|2=Moderate visuospatial disorganisation|1=Severe "
          "visuospatial disorganisation|0=No reasonable representation of a clock",
          "Clock drawn from memory showing ten past eleven, scored by Shulman's method.", G),
    measure("sdmt_correct", INTEGER, "Symbol Digit Modalities Test", "correct", (0, 110),
            "Correct substitutions in 90 seconds (oral version).", G),
    measure("boston_naming_15", INTEGER, "Boston Naming Test (15 items)", "points", (0, 15),
            "Pictures named without cues.", G),
    measure("stroop_interference_seconds", NUMBER, "Stroop colour-word time", "seconds",
            (10, 300), "Time to name the ink colour of 50 incongruent colour words.", G),
]  # fmt: skip

M = "mri-derived"
MRI = [
    coded("mri_field_strength", STRING, "Scanner field strength", "1.5T=1.5 tesla|3T=3 tesla",
          "", M, missing=EMPTY, imaging=True),
    coded("mri_pipeline", STRING, "Processing pipeline",
          "fs7=FreeSurfer 7|fastsurfer=FastSurfer 2|cat12=CAT12",
          "Software that derived the measures of this scan.", M, missing=EMPTY, imaging=True),
    Variable(
        "mri_qc_pass", BOOLEAN, "Scan passed quality control",
        "Visual quality control of the T1-weighted scan and its segmentation.",
        domain=M, missing_values=EMPTY, sites=IMAGING_SITES, timepoints=IMAGING_WAVES,
    ),
    measure("intracranial_volume_ml", NUMBER, "Estimated total intracranial volume", "mL",
            (1000, 2200), "eTIV, for normalising the volumes below.", M, imaging=True),
    measure("total_brain_volume_ml", NUMBER, "Total brain volume", "mL", (800, 1800),
            "Grey and white matter, without ventricles and cerebrospinal fluid.", M,
            imaging=True),
    measure("grey_matter_volume_ml", NUMBER, "Grey matter volume", "mL", (350, 900),
            "Cortical and subcortical grey matter.", M, imaging=True),
    measure("white_matter_volume_ml", NUMBER, "White matter volume", "mL", (300, 800),
            "Cerebral white matter, hypointensities included.", M, imaging=True),
    measure("hippocampus_left_ml", NUMBER, "Left hippocampal volume", "mL", (1.0, 6.0),
            "Left hippocampus (whole, subfields summed).", M, imaging=True),
    measure("hippocampus_right_ml", NUMBER, "Right hippocampal volume", "mL", (1.0, 6.0),
            "Right hippocampus (whole, subfields summed).", M, imaging=True),
    measure("lateral_ventricles_ml", NUMBER, "Lateral ventricle volume", "mL", (2, 200),
            "Both lateral ventricles.", M, imaging=True),
    measure("wmh_volume_ml", NUMBER, "White matter hyperintensities", "mL", (0, 150),
            "Volume of white matter hyperintensities on FLAIR.", M, imaging=True),
    coded("fazekas_deep", INTEGER, "Fazekas score, deep white matter",
          "0=Absent|1=Punctate foci|2=Beginning confluence|3=Large confluent areas",
          "Visual rating of deep white matter hyperintensities on FLAIR.", M, imaging=True),
    measure("microbleeds_count", INTEGER, "Cerebral microbleeds", "count", (0, 200),
            "Number of microbleeds on susceptibility-weighted imaging.", M, imaging=True),
    measure("cortical_thickness_mean_mm", NUMBER, "Mean cortical thickness", "mm", (1.0, 5.0),
            "Mean over both hemispheres.", M, imaging=True),
    measure("entorhinal_thickness_mm", NUMBER, "Entorhinal cortex thickness", "mm", (1.0, 5.0),
            "Mean of left and right entorhinal cortex.", M, imaging=True),
    measure("brain_age_gap_years", NUMBER, "Brain age gap", "years", (-40, 40),
            "Brain age predicted from the T1-weighted scan minus chronological age.", M,
            imaging=True),
]  # fmt: skip


def dictionary() -> Dictionary:
    """The demo dictionary (its version number is given when it is imported)."""
    variables = (*IDENTIFIERS, *DEMOGRAPHICS, *CLINICAL, *COGNITION, *MRI)
    return Dictionary(version=1, variables=variables)


def populate(data_manager: str = "dm-anna") -> int:
    """Import the demo dictionary as the data manager (version 1, published to logs/)."""
    principal = principal_for_user(get_user_model().objects.get(username=data_manager))
    created = catalog.import_dictionary(
        principal,
        catalog.file_of(dictionary(), catalog.Format.JSON),
        format=catalog.Format.JSON,
        note="Harmonized variables agreed by the consortium's working group.",
    )
    return created.number
