"""Time ``twinarena report`` stage by stage on an existing store; print JSON.

    python bench/report_speed.py --db sqlite:///twinarena-demo/store/twinarena.db --policy vision-expert

Stages: reading the store and decoding keyframes (``build``, plots included), the HTML, the PDF;
``repeats`` runs after one warm-up (imports, fonts), the median of each.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--policy", required=True)
    parser.add_argument("--vs")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    from benchmark.report.build import build_report
    from benchmark.report.html import render_html
    from benchmark.report.pdf import render_pdf
    from benchmark.store import open_store

    times: dict[str, list[float]] = {"build": [], "html": [], "pdf": []}
    sizes = {}
    with open_store(args.db) as store:
        for run in range(args.repeats + 1):
            start = time.perf_counter()
            report = build_report(store, args.policy, args.vs)
            built = time.perf_counter()
            html = render_html(report.data, report.images)
            rendered = time.perf_counter()
            pdf = render_pdf(report.data, report.images)
            done = time.perf_counter()
            if run:
                times["build"].append(built - start)
                times["html"].append(rendered - built)
                times["pdf"].append(done - rendered)
            sizes = {
                "html_bytes": len(html.encode()),
                "pdf_bytes": len(pdf),
                "json_bytes": len(report.to_json()),
            }
    result = {
        "policy": args.policy,
        "vs": args.vs,
        "repeats": args.repeats,
        "figures": len(report.data["figures"]),
        **{f"{k}_s": round(statistics.median(v), 3) for k, v in times.items()},
        "total_s": round(sum(statistics.median(v) for v in times.values()), 3),
        **sizes,
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
