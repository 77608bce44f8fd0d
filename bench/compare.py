#!/usr/bin/env python3
"""Turn bench_vs_onednn's JSON into a Markdown table of qualm / oneDNN ratios.

Usage: bench/compare.py RESULT.json [--note TEXT] > bench/results/<date>-<cpu>.md

Rows are <dtype>/<model>/<layer>/b<batch>/t<threads>/<impl>[/real_time]
(bench/bench_vs_onednn.cpp). For each case the table shows qualm's and
oneDNN's GOP/s and % of the measured peak, and qualm / oneDNN (> 1: qualm is
faster). For int8, "oneDNN" is oneDNN with its native fp32 output scales; the
"oneDNN s32" column is oneDNN's s32 accumulators plus qualm's requantization
(the bit-exact --backend onednn path). Python 3 standard library only.
"""
import argparse
import json
import sys


def parse(path):
    with open(path) as f:
        doc = json.load(f)
    cases = {}
    order = []
    for b in doc.get("benchmarks", []):
        if b.get("error_occurred"):
            continue
        name = b["name"]
        if name.endswith("/real_time"):
            name = name[: -len("/real_time")]
        parts = name.split("/")
        if len(parts) != 6:
            continue
        key, impl = tuple(parts[:5]), parts[5]
        if key not in cases:
            cases[key] = {}
            order.append(key)
        cases[key][impl] = {
            "gops": float(b.get("GOPs", 0.0)),
            "pct": b.get("pct_peak"),
            "kernel": b.get("label", ""),
        }
    return doc.get("context", {}), cases, order


def fmt_rate(r):
    if r is None:
        return "-"
    pct = "" if r["pct"] is None else " (%.0f %%)" % float(r["pct"])
    return "%.1f%s" % (r["gops"], pct)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("json")
    ap.add_argument("--note", default="", help="a line printed under the title (machine, load)")
    a = ap.parse_args()
    ctx, cases, order = parse(a.json)
    out = ["# qualm vs oneDNN, same process", ""]
    if a.note:
        out += [a.note, ""]
    for k in ("date", "host_name", "num_cpus", "mhz_per_cpu", "qualm_cpu", "qualm_gemm_path",
              "qualm_int8_gemm_path", "onednn", "peak_fma_gflops_per_core", "peak_vnni_gops_per_core"):
        if k in ctx:
            out.append("- %s: %s" % (k, ctx[k]))
    out += ["", "GOP/s (2 ops per multiply-add) and % of the measured peak x threads; "
            "ratio = qualm / oneDNN (> 1: qualm faster).", "",
            "| dtype | model | layer | batch | threads | qualm | oneDNN | qualm / oneDNN | oneDNN s32 + qualm requant | kernels (qualm; oneDNN) |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for key in order:
        dtype, model, layer, batch, threads = key
        r = cases[key]
        q, d, s = r.get("qualm"), r.get("onednn"), r.get("onednn-s32")
        ratio = "%.2fx" % (q["gops"] / d["gops"]) if q and d and d["gops"] > 0 else "-"
        kernels = "%s; %s" % (q["kernel"] if q else "-", d["kernel"] if d else "-")
        out.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            dtype, model, layer, batch[1:], threads[1:], fmt_rate(q), fmt_rate(d), ratio, fmt_rate(s), kernels))
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
