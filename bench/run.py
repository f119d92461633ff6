"""Benchmarks of encrypted file transfer, each against a baseline measured in the same run.

    make bench                 # everything (1 GiB files, 10,000 small files)
    .venv/bin/python bench/run.py --size-mib 256 --small-files 2000   # quicker

Measures, on the disk holding ``--work-dir``:
- ``cp`` + ``sync`` of a large file (the baseline for ingest and download), run just before
  every transfer and compared with that transfer alone (the disk's speed drifts within a run);
- upload and download of the same file through the REST API (httpx streaming) and the CLI;
- the server's peak resident memory after a small and after the large upload;
- a recursive CLI put of many 64 KiB files in 100 folders, and ``datalad save`` of the same tree
  (DataLad from PyPI with Debian's git-annex; skipped with a note if either is missing).

Results go to ``bench/results/<timestamp>.json`` and ``.md``, and a summary to stdout.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
MIB = 1024 * 1024
PASSWORD = "benchmark passphrase 2026"
SETUP = """
import sys
from pathlib import Path
from cohortvault.instance import activate
activate(Path(sys.argv[1]))
from django_otp.plugins.otp_totp.models import TOTPDevice
from cohortvault.access.policy import Role
from cohortvault.consortium.models import Group, Membership, Site
from cohortvault.identity.models import User
from cohortvault.identity.services import base32_secret
site = Site.objects.create(code="bench", name="Bench", country="NO")
user = User(username="bencher"); user.set_password(sys.argv[2]); user.save()
group = Group.objects.create(role=Role.SITE_MEMBER, site=site)
Membership.objects.create(user=user, group=group)
print(base32_secret(TOTPDevice.objects.create(user=user, name="bench", confirmed=True)))
"""


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("COHORTVAULT_")}


def free_port() -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def timed(command: list[str], **kwargs: Any) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, **kwargs)
    return time.perf_counter() - start


def make_file(path: Path, size: int) -> None:
    block = secrets.token_bytes(MIB)
    with path.open("wb") as handle:
        for _ in range(size // MIB):
            handle.write(block)
        handle.flush()
        os.fsync(handle.fileno())


def peak_rss_kib(pid: int) -> int:
    """Peak resident memory (VmHWM) of a process and its children."""
    total = 0
    pids = [pid, *children(pid)]
    for p in pids:
        with contextlib.suppress(FileNotFoundError):
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total = max(total, int(line.split()[1]))
    return total


def children(pid: int) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            with contextlib.suppress(FileNotFoundError, ProcessLookupError):
                stat = (proc / "stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(proc.name))
    return found


@contextlib.contextmanager
def instance(work: Path) -> Iterator[dict[str, Any]]:
    data_dir = work / "instance"
    env = clean_env()
    subprocess.run(
        [str(BIN / "cohortvault"), "init", "--data-dir", str(data_dir), "--admin-password", PASSWORD],
        check=True, env=env, capture_output=True,
    )  # fmt: skip
    secret = subprocess.run(
        [sys.executable, "-c", SETUP, str(data_dir), PASSWORD],
        check=True, env=env, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    port = free_port()
    server = subprocess.Popen(
        [str(BIN / "cohortvault"), "serve", "--data-dir", str(data_dir), "--port", str(port),
         "--workers", "2", "--threads", "4"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/healthz").status_code == 200:
                    break
            time.sleep(0.1)
        from cohortvault.demo import current_code

        token = httpx.post(
            f"{url}/api/v1/auth/token",
            json={"username": "bencher", "password": PASSWORD, "otp": current_code(secret)},
        ).json()["token"]
        yield {"url": url, "token": token, "server": server, "data_dir": data_dir}
    finally:
        server.terminate()
        server.wait(timeout=30)


def client_env(ctx: dict[str, Any], work: Path) -> dict[str, str]:
    env = clean_env()
    env.update(
        COHORTVAULT_SERVER=ctx["url"],
        COHORTVAULT_TOKEN=ctx["token"],
        COHORTVAULT_CLIENT_CONFIG=str(work / "client.json"),
    )
    return env


def median_rate(megabytes: float, runs: list[float]) -> float:
    return megabytes / statistics.median(runs)


def bench_large(ctx: dict[str, Any], work: Path, size: int, repeat: int) -> dict[str, Any]:
    """Each transfer ``repeat`` times, interleaved with the baseline, reported at the median."""
    source = work / "large.bin"
    make_file(source, size)
    results: dict[str, Any] = {"size_bytes": size, "repeat": repeat}
    mb = size / 1e6
    headers = {"Authorization": f"Bearer {ctx['token']}"}
    api = f"{ctx['url']}/api/v1/files/sites/bench/import"
    env = client_env(ctx, work)
    cli = str(BIN / "cohortvault")

    small = work / "small.bin"
    make_file(small, 10 * MIB)
    with small.open("rb") as handle:
        httpx.put(
            f"{api}/small.bin", content=handle, headers=headers, timeout=None
        ).raise_for_status()
    results["server_peak_rss_mib_after_10mib"] = peak_rss_kib(ctx["server"].pid) / 1024

    def cp_sync() -> float:
        copy = work / "copy.bin"
        seconds = timed(["sh", "-c", f"cp '{source}' '{copy}' && sync"])
        copy.unlink()
        return seconds

    def api_upload() -> float:
        start = time.perf_counter()
        with source.open("rb") as handle:
            httpx.put(
                f"{api}/large.bin", content=handle, headers=headers, timeout=None
            ).raise_for_status()
        return time.perf_counter() - start

    def api_download() -> float:
        target = work / "download.bin"
        start = time.perf_counter()
        with (
            httpx.stream("GET", f"{api}/large.bin", headers=headers, timeout=None) as response,
            target.open("wb") as out,
        ):
            response.raise_for_status()
            for chunk in response.iter_raw():
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        seconds = time.perf_counter() - start
        target.unlink()
        return seconds

    def cli_put() -> float:
        return timed(
            [cli, "files", "put", "--quiet", str(source), "sites/bench/import/large-cli.bin"],
            env=env,
        )

    def cli_get() -> float:
        target = work / "download-cli.bin"
        seconds = timed(
            [cli, "files", "get", "--quiet", "sites/bench/import/large-cli.bin", str(target)],
            env=env,
        )
        target.unlink()
        return seconds

    # The disk's durable speed drifts a lot within a run on a shared VM (cp + sync anywhere
    # between 300 and 1300 MB/s), so every transfer is paired with a cp + sync just before it
    # and compared with that one; the ratio reported is the median of the pairs.
    transfers = {"api_upload": api_upload, "api_download": api_download,
                 "cli_upload": cli_put, "cli_download": cli_get}  # fmt: skip
    runs: dict[str, list[float]] = {name: [] for name in ("cp_sync", *transfers)}
    ratios: dict[str, list[float]] = {name: [] for name in transfers}
    for _ in range(repeat):
        for name, transfer in transfers.items():
            baseline = cp_sync()
            seconds = transfer()
            runs["cp_sync"].append(baseline)
            runs[name].append(seconds)
            ratios[name].append(baseline / seconds)
    results["server_peak_rss_mib_after_large"] = peak_rss_kib(ctx["server"].pid) / 1024
    for name, seconds in runs.items():
        results[f"{name}_mb_s"] = median_rate(mb, seconds)
        results[f"{name}_mb_s_runs"] = [round(mb / s) for s in seconds]
    for name in transfers:
        results[f"{name}_ratio_to_cp"] = statistics.median(ratios[name])
        results[f"{name}_ratio_runs"] = [round(r, 2) for r in ratios[name]]
    source.unlink()
    return results


def make_tree(root: Path, count: int) -> None:
    block = secrets.token_bytes(64 * 1024)
    for i in range(count):
        folder = root / f"folder{i % 100:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"file{i:05d}.bin").write_bytes(block[:-8] + i.to_bytes(8, "big"))


def bench_small(ctx: dict[str, Any], work: Path, count: int) -> dict[str, Any]:
    tree = work / "tree"
    make_tree(tree, count)
    results: dict[str, Any] = {"files": count, "file_size": 64 * 1024}
    env = client_env(ctx, work)
    seconds = timed(
        [
            str(BIN / "cohortvault"),
            "files",
            "put",
            "--quiet",
            "-r",
            str(tree),
            "sites/bench/import/tree/",
        ],
        env=env,
    )
    results["cli_put_files_per_s"] = count / seconds
    results["datalad_save_files_per_s"] = datalad_save(work, tree, count)
    return results


def datalad_save(work: Path, tree: Path, count: int) -> float | str:
    datalad = BIN / "datalad"
    if not datalad.exists() or shutil.which("git-annex") is None:
        return "skipped: datalad (pip) or git-annex (apt) missing"
    dataset = work / "dataset"
    env = clean_env()
    env.setdefault("GIT_AUTHOR_NAME", "bench")
    env.setdefault("GIT_AUTHOR_EMAIL", "bench@example.invalid")
    env.setdefault("GIT_COMMITTER_NAME", "bench")
    env.setdefault("GIT_COMMITTER_EMAIL", "bench@example.invalid")
    subprocess.run([str(datalad), "create", str(dataset)], check=True, env=env, capture_output=True)
    for folder in tree.iterdir():
        shutil.copytree(folder, dataset / folder.name)
    seconds = timed([str(datalad), "save", "-d", str(dataset), "-m", "bench"], env=env,
                    capture_output=True)  # fmt: skip
    return count / seconds


def report(results: dict[str, Any]) -> str:
    large, small = results.get("large", {}), results.get("small", {})
    lines = [f"# Benchmark {results['when']}", ""]
    if large:
        lines += [
            f"Large file: {large['size_bytes'] / MIB:.0f} MiB, {large['repeat']} runs of each "
            "transfer, each run paired with a cp + sync just before it; ratios are the median of "
            "the pairs' ratios",
            "",
            "| transfer | MB/s (median) | runs | ratio to cp + sync (median) | pairs |",
            "| --- | ---: | --- | ---: | --- |",
            f"| cp + sync (baseline) | {large['cp_sync_mb_s']:.0f} | {large['cp_sync_mb_s_runs']} "
            "| 1.00 | |",
        ]
        for key, label in [("api_upload", "REST upload"), ("api_download", "REST download"),
                           ("cli_upload", "CLI put"), ("cli_download", "CLI get")]:  # fmt: skip
            lines.append(
                f"| {label} | {large[key + '_mb_s']:.0f} | {large[key + '_mb_s_runs']} "
                f"| {large[key + '_ratio_to_cp']:.2f} | {large[key + '_ratio_runs']} |"
            )
        lines += [
            "",
            f"Server peak RSS: {large['server_peak_rss_mib_after_10mib']:.0f} MiB after a 10 MiB "
            f"upload, {large['server_peak_rss_mib_after_large']:.0f} MiB after the large one.",
        ]
    if small:
        datalad = small["datalad_save_files_per_s"]
        datalad_text = f"{datalad:.0f}" if isinstance(datalad, float) else datalad
        lines += [
            "",
            f"Small files: {small['files']} × 64 KiB in 100 folders",
            "",
            "| tool | files/s |",
            "| --- | ---: |",
            f"| cohortvault files put -r | {small['cli_put_files_per_s']:.0f} |",
            f"| datalad save | {datalad_text} |",
        ]
    return "\n".join(lines) + "\n"


#: Quality control vs frictionless, dataset versions and diffs, extraction vs pandas.
TABULAR = ("quality.py", "datasets.py", "extraction.py")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--small-files", type=int, default=10_000)
    parser.add_argument("--work-dir", type=Path, default=ROOT / "var" / "bench")
    parser.add_argument("--repeat", type=int, default=3, help="runs per large transfer (median)")
    parser.add_argument("--skip-large", action="store_true")
    parser.add_argument("--skip-small", action="store_true")
    parser.add_argument(
        "--skip-tabular",
        action="store_true",
        help="skip bench/quality.py, bench/datasets.py and bench/extraction.py",
    )
    args = parser.parse_args()
    work = args.work_dir / time.strftime("%Y%m%d-%H%M%S")
    work.mkdir(parents=True)
    results: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": os.uname().nodename,
    }
    try:
        with instance(work) as ctx:
            if not args.skip_large:
                results["large"] = bench_large(ctx, work, args.size_mib * MIB, args.repeat)
            if not args.skip_small:
                results["small"] = bench_small(ctx, work, args.small_files)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (out / f"{stamp}.json").write_text(json.dumps(results, indent=2) + "\n")
    text = report(results)
    (out / f"{stamp}.md").write_text(text)
    print(text)
    if not args.skip_tabular:
        for script in TABULAR:
            subprocess.run([sys.executable, str(ROOT / "bench" / script)], check=True)


if __name__ == "__main__":
    main()
