"""`make bench`: run every benchmark script here, then print one table of every figure promised.

Each script ends with one JSON line; this collects them. Run from the repository root:
`python benchmarks/report.py [name ...]` (names without .py run a subset).
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = ["sentiment", "insight", "sampling", "dispatch", "dashboard", "review_pack", "export", "submit", "load",
         "import_memory", "cli_startup"]


def run(name: str) -> dict:
    started = time.monotonic()
    process = subprocess.run([sys.executable, str(HERE / f"{name}.py")], cwd=HERE.parent, capture_output=True,
                             text=True)
    print(process.stdout, end="")
    lines = [line for line in process.stdout.strip().splitlines() if line.startswith("{")]
    if not lines:
        return {"benchmark": name, "met": False, "error": (process.stderr or "no JSON line")[-300:]}
    figures = json.loads(lines[-1])
    figures["seconds"] = round(time.monotonic() - started)
    return figures


def describe(figures: dict) -> tuple[str, str]:
    """(measured, baseline) as short text, from whatever figures a script reports."""
    name = figures["benchmark"]
    if name == "sentiment":
        return (f"macro-F1 {figures['macro_f1']}; {figures['comments_per_second']}/s",
                f"TextBlob F1 {figures['textblob_macro_f1']}, VADER F1 {figures['vader_macro_f1']}; "
                f"TextBlob {figures['textblob_comments_per_second']}/s (ratio {figures['speed_ratio']})")
    if name == "insight":
        return (f"macro-F1 {figures['macro_f1']}, aspects F1 {figures['aspect_micro_f1']}, aspect sentiment "
                f"{figures['aspect_sentiment_accuracy']}; emerging power {figures['emerging_power']}",
                f"TextBlob F1 {figures['textblob_macro_f1']}, VADER F1 {figures['vader_macro_f1']}; speed ratio "
                f"{figures['speed_ratio']}; null false alarms {figures['emerging_null_false_alarm_rate']}")
    if name == "dispatch":
        return f"{figures.get('messages_per_second')} msg/s", f"smtplib {figures.get('baseline_per_second')} msg/s"
    if name == "dashboard":
        return (f"at 1M with charts, live p95: overview {figures['overview_live_p95_ms_1m']} ms, area "
                f"{figures['area_live_p95_ms_1m']} ms; cold overview {figures['overview_cold_ms_1m']} ms",
                f"cold overview {figures['overview_cold_ms_10k']} ms at 10k (ratio {figures['ratio']})")
    if name == "review_pack":
        return (f"'preparing' page {figures['first_response_ms']} ms (slowest request "
                f"{figures['slowest_request_ms']} ms); worker build {figures['build_s']} s, file after "
                f"{figures['wait_to_file_s']} s",
                f"pack drawn inside the request {figures['baseline_in_request_s']} s")
    if name == "export":
        return (f"{figures['rows_per_second']} rows/s, peak {figures.get('peak_rss_mb_1000000')} MB at 1M",
                f"sqlite3+csv {figures['baseline_rows_per_second']} rows/s; memory x{figures['memory_growth']}")
    if name == "submit":
        return (f"{figures['submissions_per_second']} submissions/s (GET + POST visits "
                f"{figures.get('visits_per_second')}/s, ratio {figures.get('visit_ratio')})",
                f"bare insert {figures['baseline_per_second']}/s; CSRF-checked no-op POST on the same stack "
                f"{figures.get('stack_floor_per_second')}/s (ratio {figures.get('stack_floor_ratio')})")
    if name == "sampling":
        return (f"95% intervals cover the true mean in {figures['coverage']:.1%} of simulated area-waves (K of 6)",
                f"varied usage {figures['coverage_varied_usage']:.1%}; assumption broken "
                f"{figures['coverage_assumption_broken']:.1%}")
    if name == "load":
        parts = [f"{r['backend']}: {r['throughput_per_s']} req/s, {r['error_rate']:.1%} errors, "
                 f"p50 {r['p50_ms']} / p99 {r['p99_ms']} ms" for r in figures.get("results", [])]
        return "; ".join(parts), "faults on postgresql: worker SIGKILL, pg_terminate_backend"
    if name == "import_memory":
        return (f"peak {figures['peak_mb']} MB importing {figures['rows']} stakeholders "
                f"({figures['excess_mb']} MB above the app alone)",
                f"app created, modules imported: {figures['baseline_mb']} MB")
    if name == "cli_startup":
        heavy = ", ".join(figures["heavy_imports"]) or "none of scipy, matplotlib, textblob, nltk"
        return (f"flask --help {figures['ms']} ms; imports {heavy}",
                f"bare Flask app, same extensions {figures['baseline_ms']} ms")
    return json.dumps(figures)[:80], ""


def main() -> None:
    names = sys.argv[1:] or ORDER
    results = []
    for name in names:
        print(f"== {name}", flush=True)
        results.append(run(name))
    print("\nbenchmark   met   ratio   measured | baseline | goal")
    for figures in results:
        if "error" in figures:
            print(f"{figures['benchmark']:<11} no    -       failed: {figures['error']}")
            continue
        measured, baseline = describe(figures)
        ratio = figures.get("ratio", figures.get("speed_ratio", "-"))
        print(f"{figures['benchmark']:<11} {'yes' if figures.get('met') else 'NO':<5} {ratio!s:<7} "
              f"{measured} | {baseline} | {figures.get('goal', '')}")
    print(json.dumps({"benchmark": "all", "met": all(f.get("met") for f in results),
                      "results": {f["benchmark"]: f.get("met") for f in results}}))


if __name__ == "__main__":
    main()
