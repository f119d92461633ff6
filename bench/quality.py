"""Benchmark of quality control: our check against ``frictionless validate``, same file, same
schema, same run.

    .venv/bin/python bench/quality.py                    # 1,000,000 rows × 100 columns
    .venv/bin/python bench/quality.py --rows 100000      # quicker
    .venv/bin/python bench/quality.py --skip-frictionless

Generates (seeded, with DuckDB) a CSV that conforms to a matching 100-variable dictionary
(identifiers, demographics, cognition, MRI-derived measures, a free-text comment), plants a
known set of errors, then runs each tool in a child process of its own (time, and peak memory
as the child's ``ru_maxrss``) and compares what each found with what was planted. Results go to
``bench/results/quality-<stamp>.json`` and ``.md``, and a summary to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TIMEPOINTS = ("baseline", "fu1", "fu2", "fu3")
SITES = ("oslo", "bergen", "uppsala", "aarhus", "berlin", "madrid", "london")
SITE = "oslo"
FNR = "15076500565"  # a valid fødselsnummer (both control digits), made up for the benchmark


def dictionary_schema() -> dict[str, Any]:
    from cohortvault.catalog.schema import Dictionary, FieldType, Variable

    s, i, n, d = FieldType.STRING, FieldType.INTEGER, FieldType.NUMBER, FieldType.DATE
    variables = [
        Variable("subject_id", s, required=True, pattern="[A-Z]{3}-[0-9]{6}", identifier=True),
        Variable(
            "timepoint", s, required=True, identifier=True, categories={t: t for t in TIMEPOINTS}
        ),
        Variable("site", s, required=True, identifier=True, categories={c: c for c in SITES}),
        Variable("sex", s, categories={"F": "female", "M": "male"}),
        Variable("birth_month", FieldType.YEARMONTH),
        Variable("visit_date", d),
        Variable("education_years", i, minimum=0, maximum=30),
        Variable("handedness", s, categories={"R": "right", "L": "left", "A": "ambidextrous"}),
        Variable("marital_status", i, categories={str(k): f"status {k}" for k in range(1, 6)}),
        Variable("smoker", FieldType.BOOLEAN),
        Variable("bmi", n, minimum=10, maximum=70),
        Variable("diagnosis", s, categories={c: c for c in ("CN", "SCD", "MCI", "AD", "OTHER")}),
        Variable("comment", s),
    ]
    for k in range(40):
        variables.append(Variable(f"cog_{k:02d}", i, minimum=0, maximum=30 + 10 * (k % 4)))
    variables.append(Variable("mmse", i, minimum=0, maximum=30))
    variables.append(Variable("tmt_b_sec", n, minimum=10, maximum=600))
    variables.append(Variable("hads_anxiety", i, minimum=0, maximum=21))
    while len(variables) < 100:
        k = len(variables)
        if k % 3:
            variables.append(
                Variable(f"mri_vol_{k:02d}", n, minimum=100, maximum=2_000_000, unit="mm3")
            )
        else:
            variables.append(Variable(f"mri_thick_{k:02d}", n, minimum=1, maximum=5, unit="mm"))
    return Dictionary(1, tuple(variables), missing_values=("", "-99", "-88")).to_table_schema()


def planted(rows: int) -> dict[str, tuple[int, str, str]]:
    """name -> (data row index, column, value); rows spread over the file."""

    def at(k: int) -> int:
        return (k * rows) // 17 + 7

    twin = at(4) - at(4) % 4 + 1  # its subject's second row: it repeats the first row's key

    return {
        "out of range": (at(1), "mmse", "35"),
        "bad category": (at(2), "sex", "X"),
        "not a number": (at(3), "bmi", "23,5"),
        "duplicate key": (twin, "timepoint", ""),  # value: the previous row's timepoint
        "e-mail address": (at(5), "comment", "contact kari.nordmann@example.no"),
        "fødselsnummer": (at(6), "comment", FNR),
        "unknown timepoint": (at(7), "timepoint", "fu9"),
        "required value empty": (at(8), "subject_id", ""),
        "subject_id format": (at(9), "subject_id", "OSL-12"),
        "row of another site": (at(10), "site", "bergen"),
        "full birth date": (at(11), "comment", "born 12.03.1950"),
        "spreadsheet formula": (at(12), "comment", '=HYPERLINK("http://example.org")'),
        "impossible date": (at(13), "visit_date", "2021-02-30"),
        "below minimum": (at(14), "tmt_b_sec", "-5"),
        "unknown column": (0, "hads_anxiety", "hobby"),  # header renamed
    }


def _value_sql(name: str, field: dict[str, Any], k: int) -> str:
    u = f"((hash(i, {k}) % 1000003) / 1000003.0)"
    v = f"((hash(i, {k + 1000}) % 1000003) / 1000003.0)"
    kind = field["type"]
    enum = (field.get("constraints") or {}).get("enum")
    if name == "subject_id":
        return "'OSL-' || lpad((i // 4)::VARCHAR, 6, '0')"
    if name == "timepoint":
        return f"['{TIMEPOINTS[0]}','{TIMEPOINTS[1]}','{TIMEPOINTS[2]}','{TIMEPOINTS[3]}'][(i % 4) + 1]"
    if name == "site":
        return f"'{SITE}'"
    if name == "comment":
        notes = "['participant tired','motion artefact on T1','retest scheduled','fasting sample']"
        return f"CASE WHEN {u} < 0.95 THEN NULL ELSE {notes}[1 + (hash(i, {k + 7}) % 4)::INT] END"
    missing = f"CASE WHEN {u} < 0.01 THEN '-99' WHEN {u} < 0.02 THEN NULL ELSE "
    if enum:
        items = ",".join(f"'{e}'" for e in enum)
        return f"{missing}[{items}][1 + (hash(i, {k + 7}) % {len(enum)})::INT]::VARCHAR END"
    if kind == "yearmonth":
        return f"{missing}(1930 + (hash(i, {k + 7}) % 60))::VARCHAR || '-' || lpad((1 + hash(i, {k + 8}) % 12)::VARCHAR, 2, '0') END"
    if kind == "date":
        return (
            f"{missing}strftime(DATE '2015-01-01' + (hash(i, {k + 7}) % 3000)::INT, '%Y-%m-%d') END"
        )
    if kind == "boolean":
        return f"{missing}CASE WHEN {v} < 0.3 THEN 'true' ELSE 'false' END END"
    low = float((field.get("constraints") or {}).get("minimum", 0))
    high = float((field.get("constraints") or {}).get("maximum", 100))
    if kind == "integer":
        return f"{missing}(floor({low} + {v} * ({high} - {low} + 1)))::BIGINT::VARCHAR END"
    digits = 3 if high <= 10 else 1
    return f"{missing}round({low} + {v} * ({high} - {low}), {digits})::VARCHAR END"


def generate(path: Path, rows: int) -> dict[str, Any]:
    import duckdb

    schema = dictionary_schema()
    plants = planted(rows)
    columns = []
    for k, field in enumerate(schema["fields"]):
        name = field["name"]
        expr = _value_sql(name, field, 10 * k)
        for label, (row, column, value) in plants.items():
            if column != name or label == "unknown column":
                continue
            if label == "duplicate key":
                value_sql = _value_sql(name, field, 10 * k).replace("(i % 4)", f"({row - 1} % 4)")
                expr = f"CASE WHEN i = {row} THEN {value_sql} ELSE {expr} END"
            else:
                literal = "NULL" if value == "" else "'" + value.replace("'", "''") + "'"
                expr = f"CASE WHEN i = {row} THEN {literal} ELSE {expr} END"
        header = plants["unknown column"][2] if name == plants["unknown column"][1] else name
        columns.append(f'{expr} AS "{header}"')
    con = duckdb.connect()
    query = f"SELECT {', '.join(columns)} FROM range({rows}) t(i) ORDER BY i"  # noqa: S608 - ours
    con.execute(f"COPY ({query}) TO '{path}' (HEADER, DELIMITER ',')")
    con.close()
    return schema


# --- the two tools, each in a child process ----------------------------------------------------


def child_ours(csv: Path, schema_path: Path, rows: int) -> dict[str, Any]:
    from cohortvault.catalog.schema import Dictionary
    from cohortvault.quality import check, numbers_of, read

    dictionary = Dictionary.from_table_schema(json.loads(schema_path.read_text()), version=1)
    unknown = planted(rows)["required value empty"][0] // 4 + 1  # a subject the site lacks
    subjects = [f"OSL-{s:06d}" for s in range(rows // 4 + 1) if s != unknown]
    started = time.perf_counter()
    table = read(csv, csv.name, numbers=numbers_of(dictionary))
    read_seconds = time.perf_counter() - started
    report = check(
        table, dictionary, site=SITE, known_subjects=subjects, known_timepoints=TIMEPOINTS
    )
    total = time.perf_counter() - started
    return {
        "read_seconds": read_seconds,
        "check_seconds": total - read_seconds,
        "seconds": total,
        "findings": [
            {
                "check": f.check,
                "column": f.column,
                "row": f.row,
                "rows": f.rows,
                "severity": f.severity,
                "example": f.example,
            }
            for f in report.findings
        ],
        "ok": report.ok,
    }


def child_frictionless(csv: Path, schema_path: Path) -> dict[str, Any]:
    from frictionless import Resource, Schema, validate

    started = time.perf_counter()
    schema = Schema.from_descriptor(json.loads(schema_path.read_text()))
    resource = Resource(path=csv.name, basepath=str(csv.parent), schema=schema)
    report = validate(resource, limit_errors=100_000)
    seconds = time.perf_counter() - started
    errors = []
    for task in report.tasks:
        for e in task.errors:
            errors.append(
                {
                    "type": e.type,
                    "column": getattr(e, "field_name", None) or getattr(e, "label", None),
                    "row": getattr(e, "row_number", None),
                    "note": e.note[:80],
                }
            )
    return {"seconds": seconds, "errors": errors, "valid": report.valid}


def run_child(kind: str, csv: Path, schema_path: Path, rows: int, timeout: float) -> dict[str, Any]:
    command = [
        sys.executable,
        __file__,
        "--child",
        kind,
        "--csv",
        str(csv),
        "--schema",
        str(schema_path),
        "--rows",
        str(rows),
    ]
    started = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=True)
    except subprocess.TimeoutExpired:
        return {"timeout": timeout}
    except subprocess.CalledProcessError as exc:
        return {"failed": exc.stderr[-2000:]}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall_seconds"] = time.perf_counter() - started
    return result


# --- comparison -------------------------------------------------------------------------------

OURS = {
    "out of range": ("range", "mmse"),
    "bad category": ("category", "sex"),
    "not a number": ("type", "bmi"),
    "duplicate key": ("duplicate-key", "subject_id, timepoint"),
    "e-mail address": ("personal-data.email", "comment"),
    "fødselsnummer": ("personal-data.fodselsnummer", "comment"),
    "unknown timepoint": ("unknown-timepoint", "timepoint"),
    "required value empty": ("required", "subject_id"),
    "subject_id format": ("identifier-format", "subject_id"),
    "row of another site": ("other-site", "site"),
    "full birth date": ("personal-data.birth-date", "comment"),
    "spreadsheet formula": ("formula", "comment"),
    "impossible date": ("type", "visit_date"),
    "below minimum": ("range", "tmt_b_sec"),
    "unknown column": ("unknown-column", "hobby"),
}
FRICTIONLESS = {
    "out of range": ("constraint-error", "mmse"),
    "bad category": ("constraint-error", "sex"),
    "not a number": ("type-error", "bmi"),
    "duplicate key": ("primary-key", None),
    "unknown timepoint": ("constraint-error", "timepoint"),
    "required value empty": ("constraint-error", "subject_id"),
    "subject_id format": ("constraint-error", "subject_id"),
    "impossible date": ("type-error", "visit_date"),
    "below minimum": ("constraint-error", "tmt_b_sec"),
    "unknown column": ("incorrect-label", "hads_anxiety"),
}


def compare(rows: int, ours: dict[str, Any], theirs: dict[str, Any]) -> list[dict[str, Any]]:
    table = []
    for label, (row, _, _) in planted(rows).items():
        line = None if label == "unknown column" else row + 2
        check, column = OURS[label]
        found_ours = any(
            f["check"] == check and f["column"] == column and (line is None or f["row"] == line)
            for f in ours.get("findings", [])
        )
        entry: dict[str, Any] = {"planted": label, "row": line, "ours": found_ours}
        if label in FRICTIONLESS and "errors" in theirs:
            kind, field = FRICTIONLESS[label]
            entry["frictionless"] = any(
                e["type"] == kind
                and (field is None or e["column"] == field)
                and (line is None or e["row"] == line)
                for e in theirs["errors"]
            )
        else:
            entry["frictionless"] = None if "errors" in theirs else "not run"
        table.append(entry)
    return table


def report(results: dict[str, Any]) -> str:
    ours, theirs = results["ours"], results.get("frictionless", {})
    lines = [
        f"# Quality-control benchmark {results['when']}",
        "",
        f"File: {results['rows']:,} rows × {results['columns']} columns, "
        f"{results['file_mib']:.0f} MiB CSV, {results['cpus']} CPUs. Each tool in a child "
        "process; time inside the child (wall time with interpreter start in brackets).",
        "",
        "| tool | seconds | peak RSS (MiB) | findings |",
        "| --- | ---: | ---: | ---: |",
        f"| cohortvault read + check (median of {len(ours['runs_seconds'])}: "
        f"{', '.join(f'{s:.2f}' for s in ours['runs_seconds'])}) | {ours['seconds']:.2f} "
        f"({ours['wall_seconds']:.2f}) | {ours['maxrss_mib']:.0f} | {len(ours['findings'])} |",
        f"| — of which read | {ours['read_seconds']:.2f} | | |",
        f"| — of which check | {ours['check_seconds']:.2f} | | |",
    ]
    if "seconds" in theirs:
        lines.append(
            f"| frictionless validate | {theirs['seconds']:.1f} ({theirs['wall_seconds']:.1f}) "
            f"| {theirs['maxrss_mib']:.0f} | {len(theirs['errors'])} |"
        )
        lines += ["", f"**Speed-up: {theirs['seconds'] / ours['seconds']:.0f}×** (goal ≥ 50×)."]
    elif theirs:
        lines += ["", f"frictionless: {json.dumps(theirs)[:300]}"]
    lines += [
        "",
        "Planted errors (row: the header is row 1):",
        "",
        "| planted | row | cohortvault | frictionless |",
        "| --- | ---: | --- | --- |",
    ]
    marks = {True: "found", False: "**missed**", None: "not covered"}
    for entry in results["comparison"]:
        fr = entry["frictionless"]
        lines.append(
            f"| {entry['planted']} | {entry['row'] or 'header'} | {marks[entry['ours']]} "
            f"| {marks.get(fr, fr) if not isinstance(fr, str) else fr} |"
        )
    extra_ours = results.get("unplanted_ours", [])
    lines += ["", f"Findings of ours beyond the planted ones: {', '.join(extra_ours) or 'none'}."]
    extra_theirs = results.get("unplanted_frictionless", [])
    if "seconds" in theirs:
        lines.append(
            f"Errors of frictionless beyond the planted ones: {', '.join(extra_theirs) or 'none'}."
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--work-dir", type=Path, default=ROOT / "var" / "bench")
    parser.add_argument("--skip-frictionless", action="store_true")
    parser.add_argument("--repeat", type=int, default=3, help="runs of ours (the median is kept)")
    parser.add_argument("--frictionless-timeout", type=float, default=3600.0)
    parser.add_argument("--keep", action="store_true", help="keep the generated file")
    parser.add_argument(
        "--child", choices=["generate", "ours", "frictionless"], help=argparse.SUPPRESS
    )
    parser.add_argument("--csv", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--schema", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "generate":  # in a child, so the parent stays small: children inherit
        args.schema.write_text(json.dumps(generate(args.csv, args.rows)))  # its peak RSS
        return
    if args.child:
        if args.child == "ours":
            result = child_ours(args.csv, args.schema, args.rows)
        else:
            result = child_frictionless(args.csv, args.schema)
        result["maxrss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(result))
        return
    run(args)


def run(args: argparse.Namespace) -> None:
    work = args.work_dir / f"quality-{time.strftime('%Y%m%d-%H%M%S')}"
    work.mkdir(parents=True)
    csv, schema_path = work / "planted.csv", work / "schema.json"
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            "generate",
            "--csv",
            str(csv),
            "--schema",
            str(schema_path),
            "--rows",
            str(args.rows),
        ],
        check=True,
    )
    schema = json.loads(schema_path.read_text())
    print(
        f"generated {csv} ({csv.stat().st_size / 2**20:.0f} MiB) in "
        f"{time.perf_counter() - started:.1f} s",
        flush=True,
    )
    results: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": os.uname().nodename,
        "cpus": os.cpu_count(),
        "rows": args.rows,
        "columns": len(schema["fields"]),
        "file_mib": csv.stat().st_size / 2**20,
    }
    try:
        runs = [run_child("ours", csv, schema_path, args.rows, 3600) for _ in range(args.repeat)]
        ordered = sorted(runs, key=lambda r: float(r.get("seconds", float("inf"))))
        results["ours"] = ordered[len(ordered) // 2]  # the median run
        results["ours"]["runs_seconds"] = [round(float(r.get("seconds", -1)), 3) for r in runs]
        print(f"cohortvault: {results['ours']['runs_seconds']}", flush=True)
        if not args.skip_frictionless:
            results["frictionless"] = run_child(
                "frictionless", csv, schema_path, args.rows, args.frictionless_timeout
            )
            print(
                f"frictionless: {results['frictionless'].get('seconds', results['frictionless'])}"
            )
    finally:
        if not args.keep:
            csv.unlink(missing_ok=True)
            schema_path.unlink(missing_ok=True)
            work.rmdir()
    theirs = results.get("frictionless", {})
    results["comparison"] = compare(args.rows, results["ours"], theirs)
    planted_ours = {
        OURS[e["planted"]][0] + "@" + OURS[e["planted"]][1] for e in results["comparison"]
    }
    results["unplanted_ours"] = sorted(
        {
            f"{f['check']} ({f['column']})"
            for f in results["ours"].get("findings", [])
            if f"{f['check']}@{f['column']}" not in planted_ours
        }
    )
    planted_theirs = {f"{k}@{c}" for k, c in FRICTIONLESS.values()}
    results["unplanted_frictionless"] = sorted(
        {
            f"{e['type']} ({e['column']})"
            for e in theirs.get("errors", [])
            if f"{e['type']}@{e['column']}" not in planted_theirs
        }
    )
    if "seconds" in theirs and "seconds" in results["ours"]:
        results["speedup"] = theirs["seconds"] / results["ours"]["seconds"]
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (out / f"quality-{stamp}.json").write_text(json.dumps(results, indent=2) + "\n")
    text = report(results)
    (out / f"quality-{stamp}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
