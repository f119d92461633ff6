"""Benchmark of dataset versions: accepting two versions of a large table and diffing them.

    .venv/bin/python bench/datasets.py                          # 1,000,000 rows × 100 columns
    .venv/bin/python bench/datasets.py --rows 100000 --repeat 1 # quicker
    .venv/bin/python bench/datasets.py --memory-pool jemalloc   # Arrow's other allocator

Generates (deterministically, with DuckDB's seeded hash) a table of text as quality control
hands it over: identifiers, integers, numbers, booleans, dates, year-months and free text, with
missing-value codes and empty cells; and a copy in which 1% of the non-key cells changed. In a
child process of its own (so its peak memory is its own) with a temporary instance, it then
times (wall and CPU seconds)

* ``create_version`` of the table as version 1 (typing, sorting check, Parquet with zstd,
  encryption, the database row and audit entry),
* ``create_version`` of the copy as version 2,
* ``diff`` of version 1 against version 2 (decrypting and reading both, the cell-level diff),

and, as baselines in the same run, plain ``pyarrow.parquet.write_table`` of the text table (no
typing, no encryption) and a row-level diff by DuckDB (``EXCEPT ALL`` both ways, which finds
changed rows but not which cells changed). The median of ``--repeat`` runs (each in a fresh
process and instance) is reported. Goal: accept + accept + diff under 10 s. Results go to
``bench/results/datasets-<stamp>.json`` and ``.md``, and a summary to stdout.
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
TIMEPOINTS = ("baseline", "fu1", "fu2", "fu3")
KINDS = ("integer", "number", "boolean", "date", "yearmonth", "integer", "number", "string")
GOAL_SECONDS = 10.0


def variables() -> list[tuple[str, str]]:
    names = [("subject_id", "string"), ("timepoint", "string"), ("site", "string")]
    names += [(f"v{k:02d}_{KINDS[k % len(KINDS)]}", KINDS[k % len(KINDS)]) for k in range(97)]
    return names


def dictionary() -> Any:
    from cohortvault.catalog.schema import Dictionary, FieldType, Variable

    return Dictionary(
        version=1,
        variables=tuple(Variable(name, FieldType(kind)) for name, kind in variables()),
        missing_values=("", "-99", "NA"),
    )


def _value_sql(kind: str, k: int, salt: str) -> str:
    """One column's text; ``salt`` draws a different value for the edited cells."""
    u = f"((hash(i, {k}{salt}) % 1000003) / 1000003.0)"
    missing = f"CASE WHEN {u} < 0.01 THEN '-99' WHEN {u} < 0.015 THEN 'NA' WHEN {u} < 0.03 THEN NULL ELSE "
    match kind:
        case "integer":
            return f"{missing}(hash(i, {k + 1}{salt}) % 100)::VARCHAR END"
        case "number":
            return f"{missing}round({u} * 1000, 2)::VARCHAR END"
        case "boolean":
            return (
                f"{missing}CASE WHEN hash(i, {k + 2}{salt}) % 2 = 0 THEN 'true' ELSE 'no' END END"
            )
        case "date":
            return f"{missing}strftime(DATE '2010-01-01' + (hash(i, {k + 3}{salt}) % 5000)::INT, '%Y-%m-%d') END"
        case "yearmonth":
            return f"{missing}(1930 + hash(i, {k + 4}{salt}) % 60)::VARCHAR || '-' || lpad((1 + hash(i, {k + 5}{salt}) % 12)::VARCHAR, 2, '0') END"
    return f"CASE WHEN {u} < 0.3 THEN NULL ELSE ['tired','motion on T1','retest','fasting'][1 + (hash(i, {k + 6}{salt}) % 4)::INT] END"


def generate(work: Path, rows: int) -> None:
    """Version 1 and version 2 (1% of the non-key cells changed) as Parquet files of text."""
    import duckdb

    con = duckdb.connect()
    first, second = [], []
    for k, (name, kind) in enumerate(variables()):
        if name == "subject_id":
            expr = "'OSL-' || lpad((i // 4)::VARCHAR, 7, '0')"
            first.append(f"{expr} AS {name}")
            second.append(f"{expr} AS {name}")
            continue
        if name == "timepoint":
            expr = f"{list(TIMEPOINTS)}[(i % 4) + 1]"
            first.append(f"{expr} AS {name}")
            second.append(f"{expr} AS {name}")
            continue
        if name == "site":
            first.append(f"'oslo' AS {name}")
            second.append(f"'oslo' AS {name}")
            continue
        value = _value_sql(kind, 10 * k, "")
        edited = _value_sql(kind, 10 * k, ", 7")
        first.append(f"{value} AS {name}")
        # 1% of the cells draw again (some draws repeat the old value, as real edits may not)
        second.append(
            f"CASE WHEN hash(i, {k}, 99) % 100 = 0 THEN {edited} ELSE {value} END AS {name}"
        )
    for label, columns in (("v1", first), ("v2", second)):
        query = f"SELECT {', '.join(columns)} FROM range({rows}) t(i) ORDER BY i"  # noqa: S608
        con.execute(f"COPY ({query}) TO '{work / label}.parquet' (COMPRESSION zstd)")
    con.close()


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    used = resource.getrusage(resource.RUSAGE_SELF)
    return used.ru_utime + used.ru_stime


def child(work: Path, *, baselines: bool) -> dict[str, Any]:
    """Set up a temporary instance, accept v1 and v2, diff them: wall and CPU seconds of each
    step, and peak memory; then, optionally, the baselines."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from cohortvault import instance

    instance.create(work / "instance")
    from cohortvault.access.policy import Role
    from cohortvault.consortium.models import Group, Membership, Site, Study
    from cohortvault.consortium.services import principal_for_user
    from cohortvault.datasets import services
    from cohortvault.identity.models import User

    site = Site.objects.create(code="oslo", name="Oslo", country="NO")
    Study.objects.create(site=site, code="ageing", name="Ageing")
    user = User.objects.create(username="dm")
    Membership.objects.create(user=user, group=Group.objects.create(role=Role.DATA_MANAGER))
    manager = principal_for_user(user)
    given = dictionary()

    def text(label: str) -> pa.Table:
        table = pq.read_table(work / f"{label}.parquet")
        return table.cast(pa.schema([(f.name, pa.string()) for f in table.schema]))

    result: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "memory_pool": pa.default_memory_pool().backend_name,
    }
    tables = {"v1": text("v1"), "v2": text("v2")}
    result["rows"], result["columns"] = tables["v1"].num_rows, tables["v1"].num_columns
    result["text_mib"] = tables["v1"].nbytes / 2**20
    result["rss_before_mib"] = peak_mib()

    def step(name: str, work: Any) -> Any:
        wall, cpu = time.perf_counter(), cpu_seconds()
        done = work()
        result[name] = time.perf_counter() - wall
        result[f"{name}_cpu"] = cpu_seconds() - cpu
        result[f"rss_after_{name}_mib"] = peak_mib()
        return done

    for number in (1, 2):
        info = step(
            f"create_v{number}",
            lambda n=number: services.create_version(
                manager, site="oslo", study="ageing", table=tables[f"v{n}"], dictionary=given,
                source=f"bench v{n}",
            ),
        )  # fmt: skip
        result[f"stored_v{number}_mib"] = info.size / 2**20
    found = step("diff", lambda: services.diff(manager, "oslo", "ageing", 1, 2))
    result["diff_totals"] = found.totals
    result["total"] = result["create_v1"] + result["create_v2"] + result["diff"]
    result["total_cpu"] = result["create_v1_cpu"] + result["create_v2_cpu"] + result["diff_cpu"]
    result["peak_rss_mib"] = peak_mib()
    csv_size = step("diff_csv", lambda: sum(len(chunk) for chunk in found.csv_chunks()))
    result["diff_csv_mib"] = csv_size / 2**20
    if baselines:
        _baselines(work, tables["v1"], result)
    return result


def _baselines(work: Path, first: Any, result: dict[str, Any]) -> None:
    import duckdb
    import pyarrow as pa
    import pyarrow.parquet as pq

    started = time.perf_counter()
    pq.write_table(first, pa.BufferOutputStream(), compression="zstd")
    result["baseline_write_text_parquet"] = time.perf_counter() - started
    started = time.perf_counter()
    con = duckdb.connect()
    older, newer = work / "v1.parquet", work / "v2.parquet"
    counts = [
        con.execute(
            f"SELECT count(*) FROM (SELECT * FROM '{a}' EXCEPT ALL SELECT * FROM '{b}')"  # noqa: S608
        ).fetchall()[0][0]
        for a, b in ((older, newer), (newer, older))
    ]
    result["baseline_row_diff"] = time.perf_counter() - started
    result["baseline_rows_differing"] = counts[0]
    con.close()


def report(results: dict[str, Any]) -> str:
    r = results["median"]
    totals = r["diff_totals"]
    base = results["baselines"]
    verdict = "met" if r["total"] < GOAL_SECONDS else "**missed**"
    runs = ", ".join(f"{run['total']:.2f}" for run in results["runs"])
    lines = [
        f"# Dataset versions benchmark {results['when']}",
        "",
        f"Table: {r['rows']:,} rows × {r['columns']} columns of text ({r['text_mib']:.0f} MiB in "
        f"Arrow), {r['cpus']} CPUs, Arrow memory pool {r['memory_pool']}. Version 2 changes 1% "
        f"of the non-key cells. The median of {len(results['runs'])} runs (totals: {runs}), "
        "each in a fresh process with a fresh instance.",
        "",
        "| step | seconds | CPU seconds | peak RSS after (MiB) |",
        "| --- | ---: | ---: | ---: |",
        f"| create_version v1 (typing, Parquet zstd, encryption, row) | {r['create_v1']:.2f} "
        f"| {r['create_v1_cpu']:.2f} | {r['rss_after_create_v1_mib']:.0f} |",
        f"| create_version v2 | {r['create_v2']:.2f} | {r['create_v2_cpu']:.2f} "
        f"| {r['rss_after_create_v2_mib']:.0f} |",
        f"| diff v1 → v2 (decrypt, read, DuckDB cell diff) | {r['diff']:.2f} "
        f"| {r['diff_cpu']:.2f} | {r['rss_after_diff_mib']:.0f} |",
        f"| **total** | **{r['total']:.2f}** | {r['total_cpu']:.2f} | {r['peak_rss_mib']:.0f} |",
        f"| (then the diff as CSV, {r['diff_csv_mib']:.0f} MiB) | {r['diff_csv']:.2f} "
        f"| {r['diff_csv_cpu']:.2f} | |",
        f"| baseline: pyarrow write of the text table (zstd; no typing, no encryption) "
        f"| {base['baseline_write_text_parquet']:.2f} | | |",
        f"| baseline: DuckDB row-level diff of the text files (EXCEPT ALL both ways; no cells) "
        f"| {base['baseline_row_diff']:.2f} | | |",
        "",
        f"Goal: accept + accept + diff under {GOAL_SECONDS:.0f} s: {verdict}. "
        f"(The text tables, {r['rss_before_mib']:.0f} MiB of peak RSS, are read before timing.)",
        "",
        f"Stored: version 1 {r['stored_v1_mib']:.0f} MiB, version 2 {r['stored_v2_mib']:.0f} MiB "
        f"(encrypted Parquet). Diff: {totals['cells_changed']:,} cells in "
        f"{totals['rows_changed']:,} rows changed; the baseline found "
        f"{base['baseline_rows_differing']:,} rows whose text differs (a few only in how a "
        "missing value was written, e.g. NA or empty, which typing makes equal).",
    ]
    return "\n".join(lines) + "\n"


def measure(work: Path, env: dict[str, str], *, baselines: bool) -> dict[str, Any]:
    command = [sys.executable, __file__, "--work", str(work), "--child", "measure"]
    if baselines:
        command.append("--baselines")
    shutil.rmtree(work / "instance", ignore_errors=True)
    done = subprocess.run(command, check=True, env=env, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs (the median is reported)")
    parser.add_argument(
        "--memory-pool",
        choices=["default", "mimalloc", "jemalloc", "system"],
        default="default",
        help="Arrow's memory pool in the measuring process (ARROW_DEFAULT_MEMORY_POOL)",
    )
    parser.add_argument("--work-dir", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    parser.add_argument("--child", choices=["generate", "measure"], help=argparse.SUPPRESS)
    parser.add_argument("--baselines", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "generate":
        generate(args.work, args.rows)
        return
    if args.child == "measure":
        print(json.dumps(child(args.work, baselines=args.baselines)), flush=True)
        # pyarrow 26 sometimes aborts while the interpreter shuts down ("terminate called
        # without an active exception"); the results are out, so skip the shutdown
        os._exit(0)
    base = args.work_dir or ROOT / "var" / "bench"
    base.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="datasets-", dir=base))
    env = {k: v for k, v in os.environ.items() if not k.startswith("COHORTVAULT_")}
    if args.memory_pool != "default":
        env["ARROW_DEFAULT_MEMORY_POOL"] = args.memory_pool
    started = time.perf_counter()
    generator = [sys.executable, __file__, "--work", str(work), "--rows", str(args.rows)]
    subprocess.run([*generator, "--child", "generate"], check=True, env=env)
    print(f"generated {args.rows:,} rows × 100 columns in {time.perf_counter() - started:.1f} s")
    try:
        runs = []
        for index in range(max(1, args.repeat)):
            runs.append(measure(work, env, baselines=index == 0))
            print(f"run {index + 1}: {runs[-1]['total']:.2f} s", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    ordered = sorted(runs, key=lambda r: float(r["total"]))
    results = {
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": os.uname().nodename,
        "median": ordered[len(ordered) // 2],
        "baselines": runs[0],
        "runs": runs,
    }
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (out / f"datasets-{stamp}.json").write_text(json.dumps(results, indent=2) + "\n")
    text = report(results)
    (out / f"datasets-{stamp}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
