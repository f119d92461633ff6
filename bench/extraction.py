"""Benchmark of the extraction engine against a hand-written pandas script, in the same run.

    .venv/bin/python bench/extraction.py                     # 5 sites × 200,000 rows × 200 variables
    .venv/bin/python bench/extraction.py --rows 20000 --repeat 1   # quicker

Generates (seeded, with DuckDB) one Parquet file per site typed as stored dataset versions are
(subject_id, timepoint, site, then integer, number, boolean, date, year-month and coded text
variables with ``-99`` codes and empty cells; 4 timepoints per subject) and a subject-level
demographics file per site (sex, month of birth; 100,000 subjects in all, 40% of them). Then,
each in a child process of its own (so that its peak memory, ``ru_maxrss``, is its own):

Each side runs ``--repeat`` times (alternating; the median run is reported):

* **engine**: read the 50 selected variables of each site and the demographics, ``extract``
  (merge with the demographics on subject_id, z-score within site, recode, sort) and
  ``write_delivery`` (CSV, Parquet, datapackage.json, codebook.md, provenance.json);
* **pandas**: the same with the script a data manager would write: ``read_parquet`` of the
  same columns, ``concat``, the z-score with ``groupby().transform``, the recode with
  ``replace``, ``merge``, ``to_csv`` and ``to_parquet``.

pandas is not a dependency of cohortvault: install it (``.venv/bin/pip install pandas``) or
put a folder holding it on ``PYTHONPATH``. Goal: the engine at least 10× faster end to end
and with no more peak memory. Results go to ``bench/results/extraction-<stamp>.json`` and
``.md``, and a summary to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SITES = ("berlin", "madrid", "oslo", "paris", "uppsala")
TIMEPOINTS = ("baseline", "fu1", "fu2", "fu3")
KINDS = ("number", "integer", "number", "string", "boolean", "date", "yearmonth")
ZSCORED = "v000"
RECODED = "v024"
MAPPING = {"b": "a", "d": "c"}
GOAL_SPEEDUP = 10.0


def variables(count: int) -> list[tuple[str, str]]:
    return [(f"v{k:03d}", KINDS[k % len(KINDS)]) for k in range(count)]


def selected(count: int, select: int) -> list[str]:
    step = max(count // select, 1)
    return [name for name, _ in variables(count)[::step][:select]]


def dictionary(count: int) -> Any:
    from cohortvault.catalog.schema import Dictionary, FieldType, Variable

    fields = [
        Variable("subject_id", FieldType.STRING, "Subject ID", identifier=True, required=True),
        Variable("timepoint", FieldType.STRING, "Timepoint", identifier=True, required=True),
        Variable("site", FieldType.STRING, "Site", identifier=True, required=True),
        Variable("sex", FieldType.STRING, "Sex", categories={"F": "Female", "M": "Male"}),
        Variable("birth_month", FieldType.YEARMONTH, "Month of birth"),
    ]
    for name, kind in variables(count):
        categories = {c: f"category {c}" for c in "abcd"} if kind == "string" else {}
        unit = "score" if kind in ("number", "integer") else ""
        fields.append(
            Variable(
                name,
                FieldType(kind),
                f"Variable {name}",
                unit=unit,
                categories=categories,
                missing_values=("-99",) if kind in ("number", "integer") else (),
            )
        )
    return Dictionary(version=1, variables=tuple(fields), missing_values=("",))


def _value_sql(kind: str, k: int) -> str:
    u = f"((hash(i, {k}) % 1000003) / 1000003.0)"
    coded = f"CASE WHEN {u} < 0.02 THEN -99 WHEN {u} < 0.05 THEN NULL ELSE "
    match kind:
        case "number":
            return f"{coded}round(50 + (hash(i, {k}, 1) % 100000) / 1000.0, 3) END::DOUBLE"
        case "integer":
            return f"{coded}(hash(i, {k}, 1) % 100)::BIGINT END::BIGINT"
        case "boolean":
            return f"CASE WHEN {u} < 0.05 THEN NULL ELSE hash(i, {k}, 1) % 2 = 0 END"
        case "date":
            return f"CASE WHEN {u} < 0.05 THEN NULL ELSE DATE '2010-01-01' + (hash(i, {k}, 1) % 5000)::INT END"
        case "yearmonth":
            return (
                f"CASE WHEN {u} < 0.05 THEN NULL ELSE (1930 + hash(i, {k}, 1) % 60)::VARCHAR || '-' "
                f"|| lpad((1 + hash(i, {k}, 2) % 12)::VARCHAR, 2, '0') END"
            )
    return (
        f"CASE WHEN {u} < 0.05 THEN NULL ELSE ['a','b','c','d'][1 + (hash(i, {k}, 1) % 4)::INT] END"
    )


def generate(work: Path, *, rows: int, count: int, demographics: int) -> None:
    """One Parquet file per site (visits) and one per site (demographics), seeded."""
    import duckdb

    con = duckdb.connect()
    per_site = demographics // len(SITES)
    for number, site in enumerate(SITES):
        prefix = site[:3].upper()
        subject = f"'{prefix}-' || lpad((i // 4)::VARCHAR, 6, '0')"
        columns = [
            f"{subject} AS subject_id",
            f"{list(TIMEPOINTS)}[(i % 4) + 1] AS timepoint",
            f"'{site}' AS site",
        ]
        columns += [
            f"{_value_sql(kind, 1000 * number + k)} AS {name}"
            for k, (name, kind) in enumerate(variables(count))
        ]
        query = f"SELECT {', '.join(columns)} FROM range({rows}) t(i) ORDER BY i"  # noqa: S608
        con.execute(f"COPY ({query}) TO '{work / site}.parquet' (COMPRESSION zstd)")
        # demographics for 2 of every 5 subjects (subjects 0, 1, 5, 6, …)
        people = (
            f"SELECT '{prefix}-' || lpad(n::VARCHAR, 6, '0') AS subject_id, '{site}' AS site, "  # noqa: S608
            f"CASE WHEN hash(n, {number}) % 50 = 0 THEN '-99' WHEN hash(n, {number}) % 2 = 0 "
            "THEN 'F' ELSE 'M' END AS sex, "
            f"(1930 + hash(n, {number}, 1) % 50)::VARCHAR || '-' || "
            f"lpad((1 + hash(n, {number}, 2) % 12)::VARCHAR, 2, '0') AS birth_month "
            f"FROM (SELECT (j // 2) * 5 + j % 2 AS n FROM range({per_site}) r(j)) ORDER BY n"
        )
        con.execute(f"COPY ({people}) TO '{work / site}-demographics.parquet' (COMPRESSION zstd)")
    con.close()


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_engine(work: Path, out: Path, count: int, select: int) -> dict[str, Any]:
    import pyarrow.parquet as pq

    from cohortvault.extraction import Extraction, Recode, Source, ZScore, extract, write_delivery

    names = selected(count, select)
    given = dictionary(count)
    spec = Extraction(
        variables=(*names, "sex", "birth_month"),
        sources=tuple(
            Source(site, study, 1, "0" * 64)
            for site in SITES
            for study in ("cognition", "demographics")
        ),
        transforms=(
            ZScore(ZSCORED, within="site", output=f"{ZSCORED}_z"),
            Recode(RECODED, MAPPING, output=f"{RECODED}_r"),
        ),
    )
    result: dict[str, Any] = {}
    started = time.perf_counter()
    tables = {}
    for site in SITES:
        tables[(site, "cognition")] = pq.read_table(
            work / f"{site}.parquet", columns=["subject_id", "timepoint", "site", *names]
        )
        tables[(site, "demographics")] = pq.read_table(work / f"{site}-demographics.parquet")
    result["read"] = time.perf_counter() - started
    started = time.perf_counter()
    extracted = extract(spec, tables, given)
    del tables
    result["transform"] = time.perf_counter() - started
    result["rss_after_transform_mib"] = peak_mib()
    started = time.perf_counter()
    write_delivery(extracted, out / "engine", provenance={"name": "bench"})
    result["write"] = time.perf_counter() - started
    result["rows"], result["columns"] = extracted.table.num_rows, extracted.table.num_columns
    result["notes"] = len(extracted.notes)
    return result


def run_pandas(work: Path, out: Path, count: int, select: int) -> dict[str, Any]:
    import pandas as pd  # type: ignore[import-untyped, import-not-found, unused-ignore]

    names = selected(count, select)
    result: dict[str, Any] = {"pandas": pd.__version__}
    started = time.perf_counter()
    frames = [
        pd.read_parquet(
            work / f"{site}.parquet", columns=["subject_id", "timepoint", "site", *names]
        )
        for site in SITES
    ]
    people = [pd.read_parquet(work / f"{site}-demographics.parquet") for site in SITES]
    result["read"] = time.perf_counter() - started
    started = time.perf_counter()
    data = pd.concat(frames, ignore_index=True)
    demographics = pd.concat(people, ignore_index=True).drop(columns="site")
    del frames, people
    value = data[ZSCORED].where(data[ZSCORED] != -99)
    groups = value.groupby(data["site"])
    data[f"{ZSCORED}_z"] = (value - groups.transform("mean")) / groups.transform("std")
    data[f"{RECODED}_r"] = data[RECODED].replace(MAPPING)
    data = data.merge(demographics, on="subject_id", how="left")
    result["transform"] = time.perf_counter() - started
    result["rss_after_transform_mib"] = peak_mib()
    started = time.perf_counter()
    (out / "pandas").mkdir()
    data.to_csv(out / "pandas" / "data.csv", index=False)
    data.to_parquet(out / "pandas" / "data.parquet", compression="zstd", index=False)
    result["write"] = time.perf_counter() - started
    result["rows"], result["columns"] = data.shape
    return result


def child(which: str, work: Path, out: Path, count: int, select: int) -> None:
    import pyarrow.parquet as pq

    # Arrow's first read pays a one-off start-up (~0.2 s); a long-running worker has paid it
    pq.read_table(work / f"{SITES[0]}-demographics.parquet")
    runner = run_engine if which == "engine" else run_pandas
    result = runner(work, out, count, select)
    result["total"] = result["read"] + result["transform"] + result["write"]
    result["peak_rss_mib"] = peak_mib()
    print(json.dumps(result))


def in_child(which: str, work: Path, out: Path, count: int, select: int) -> dict[str, Any]:
    """Run one side in a child process; its own figures plus its ru_maxrss from ``wait4``."""
    command = [sys.executable, __file__, "--child", which, "--work", str(work), "--out", str(out)]
    command += ["--variables", str(count), "--select", str(select)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, cwd=ROOT)
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"the {which} child failed ({process.returncode})")
    result: dict[str, Any] = json.loads(output.decode().strip().splitlines()[-1])
    result["ru_maxrss_mib"] = usage.ru_maxrss / 1024
    result["cpu"] = usage.ru_utime + usage.ru_stime
    return result


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median end-to-end time, and the highest peak memory of all runs."""
    chosen = dict(sorted(runs, key=lambda r: r["total"])[len(runs) // 2])
    chosen["ru_maxrss_mib"] = max(r["ru_maxrss_mib"] for r in runs)
    chosen["totals"] = [round(r["total"], 2) for r in runs]
    return chosen


def report(results: dict[str, Any]) -> str:
    engine, pandas = results["engine"], results["pandas"]
    speedup = pandas["total"] / engine["total"]
    memory_ok = engine["ru_maxrss_mib"] <= pandas["ru_maxrss_mib"]
    verdict = "met" if speedup >= GOAL_SPEEDUP and memory_ok else "**missed**"
    s = results["setup"]
    rows = [
        ("read Parquet (selected columns)", "read"),
        ("merge + transforms", "transform"),
        ("write files", "write"),
        ("**end to end**", "total"),
    ]
    lines = [
        f"# Extraction benchmark {results['when']}",
        "",
        f"Input: {s['sites']} sites × {s['rows']:,} rows × {s['variables']} variables "
        f"(typed Parquet, zstd; {s['input_mib']:.0f} MiB), demographics for "
        f"{s['demographics']:,} subjects; {s['select']} variables selected plus sex and month "
        f"of birth, a z-score within site and a recode; {engine['rows']:,} rows × "
        f"{engine['columns']} columns delivered. {s['cpus']} CPUs; pandas {pandas['pandas']}.",
        "",
        "| step | engine (s) | pandas (s) | speed-up |",
        "| --- | ---: | ---: | ---: |",
        *(
            f"| {label} | {engine[key]:.2f} | {pandas[key]:.2f} | "
            f"{pandas[key] / max(engine[key], 1e-9):.1f}× |"
            for label, key in rows
        ),
        f"| peak RSS after merge + transforms (MiB) | {engine['rss_after_transform_mib']:.0f} "
        f"| {pandas['rss_after_transform_mib']:.0f} | |",
        f"| **peak RSS of the child (MiB)** | {engine['ru_maxrss_mib']:.0f} "
        f"| {pandas['ru_maxrss_mib']:.0f} | |",
        f"| CPU time of the child (user + system, s) | {engine['cpu']:.2f} "
        f"| {pandas['cpu']:.2f} | {pandas['cpu'] / engine['cpu']:.1f}× |",
        "",
        f"Median of {s['repeat']} runs of each, alternating (end to end, s: engine "
        f"{', '.join(map(str, engine['totals']))}; pandas {', '.join(map(str, pandas['totals']))}); "
        f"peak RSS is the highest of the runs. Load average at the end: "
        f"{', '.join(f'{v:.1f}' for v in s['load'])} (the machine is shared).",
        "",
        "The engine writes CSV, Parquet, datapackage.json, codebook.md and provenance.json "
        "(with sha256 of each); pandas writes CSV and Parquet only.",
        "",
        f"Goal: ≥{GOAL_SPEEDUP:.0f}× faster end to end ({speedup:.1f}×) and no more peak "
        f"memory ({engine['ru_maxrss_mib']:.0f} vs {pandas['ru_maxrss_mib']:.0f} MiB): "
        f"{verdict}.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000, help="rows per site")
    parser.add_argument("--variables", type=int, default=200)
    parser.add_argument("--select", type=int, default=50)
    parser.add_argument("--demographics", type=int, default=100_000, help="subjects in all")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; the median is shown")
    parser.add_argument("--work-dir", type=Path, default=None)
    parser.add_argument("--child", choices=["engine", "pandas"], help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--generate", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        generate(
            args.generate, rows=args.rows, count=args.variables, demographics=args.demographics
        )
        return
    if args.child:
        child(args.child, args.work, args.out, args.variables, args.select)
        return
    try:
        import pandas  # noqa: F401
    except ImportError:
        raise SystemExit(
            "pandas is needed for the baseline: .venv/bin/pip install pandas"
        ) from None
    work = Path(tempfile.mkdtemp(prefix="cv-extraction-bench-", dir=args.work_dir))
    try:
        inputs, out = work / "inputs", work / "out"
        inputs.mkdir()
        out.mkdir()
        started = time.perf_counter()
        # in a child, so that this process stays small: a child's ru_maxrss starts from its
        # parent's resident size
        command = [sys.executable, __file__, "--generate", str(inputs), "--rows", str(args.rows)]
        command += ["--variables", str(args.variables), "--demographics", str(args.demographics)]
        subprocess.run(command, check=True, cwd=ROOT)
        print(f"generated the inputs in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        results: dict[str, Any] = {
            "when": time.strftime("%Y-%m-%d %H:%M:%S"),
            "setup": {
                "sites": len(SITES),
                "rows": args.rows,
                "variables": args.variables,
                "select": args.select,
                "demographics": args.demographics,
                "cpus": os.cpu_count(),
                "input_mib": sum(p.stat().st_size for p in inputs.iterdir()) / 2**20,
            },
        }
        runs: dict[str, list[dict[str, Any]]] = {"engine": [], "pandas": []}
        for number in range(args.repeat):
            for which in runs:  # alternating, so that both meet the machine's other load alike
                folder = out / f"{which}-{number}"
                folder.mkdir()
                runs[which].append(in_child(which, inputs, folder, args.variables, args.select))
                shutil.rmtree(folder)
                print(f"{which}: {runs[which][-1]['total']:.2f} s", file=sys.stderr)
        results.update({which: median_run(found) for which, found in runs.items()})
        results["setup"]["repeat"] = args.repeat
        results["setup"]["load"] = os.getloadavg()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    text = report(results)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    folder = ROOT / "bench" / "results"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"extraction-{stamp}.json").write_text(json.dumps(results, indent=2) + "\n")
    (folder / f"extraction-{stamp}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
