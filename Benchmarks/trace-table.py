#!/usr/bin/env python3
"""Runs spor-bench on editing traces and prints a Markdown table, side by side with
the peers (Yrs, Loro) measured by ../shared/peers/bench_peers.py in the same session.

    swift build -c release --product spor-bench
    python3 ../shared/peers/bench_peers.py TRACES... --out /tmp/peers-results.json  # optional
    Benchmarks/trace-table.py TRACES... [--runs 11] [--peers /tmp/peers-results.json]

Ratios are peer / Spor for times and sizes (above 1: Spor is faster or smaller).
"""
import argparse, json, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGETS = {  # from the foundation issue: localReplayMs, mergeMs, loadMs, encodedBytes, memoryBytes
    "automerge-paper": (30, 4, 0.4, 200_000, 1_000_000),
    "seph-blog1": (25, 6, 0.25, 200_000, 1_000_000),
    "sveltecomponent": (5, 1.4, 0.15, 60_000, 300_000),
    "friendsforever": (15, 0.7, 0.15, 38_000, 300_000),
    "node-nodecc": (60, 19, 0.45, 500_000, 1_000_000),
}

def spor(trace, runs):
    out = subprocess.run([str(ROOT / ".build/release/spor-bench"), "trace", trace, "--runs", str(runs), "--json"],
                         capture_output=True, text=True)
    return json.loads(out.stdout)

def peer(results, trace, name, encoding, metric):
    for r in results:
        if r.get("trace") == trace and r.get("peer") == name and r.get("encoding") == encoding and r.get("metric") == metric:
            return r.get("value")
    return None

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("traces", nargs="+")
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--peers", default=None)
    args = parser.parse_args()
    peers = []
    if args.peers and Path(args.peers).exists():
        data = json.loads(Path(args.peers).read_text())
        peers = data["results"] if isinstance(data, dict) else data
    def mark(value, target, lower_is_better=True):
        ok = value <= target if lower_is_better else value >= target
        return "" if ok else " ✗"
    print("| trace | events | ok | localReplayMs | mergeMs | loadMs | encodedBytes | memoryBytes | encodeMs |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|")
    rows = []
    for trace in args.traces:
        r = spor(trace, args.runs)
        rows.append(r)
        t = TARGETS.get(r["trace"])
        def cell(v, i, fmt):
            return (fmt % v) + (mark(v, t[i]) if t else "")
        print(f"| {r['trace']} | {r['events']:,} | {'yes' if r['ok'] else 'NO'} | {cell(r['localReplayMs'], 0, '%.2f')} | "
              f"{cell(r['mergeMs'], 1, '%.2f')} | {cell(r['loadMs'], 2, '%.3f')} | {cell(r['encodedBytes'], 3, '%d')} | "
              f"{cell(r['memoryBytes'], 4, '%d')} | {r['encodeMs']:.2f} |")
    if peers:
        print()
        print("| trace | Spor merge | Yrs merge | ratio | Spor load | Loro snapshot load | ratio | Spor bytes | Yrs bytes | ratio | Spor heap | Yrs / Loro heap (RSS) |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in rows:
            ym = peer(peers, r["trace"], "pycrdt", "update_v1", "remote_merge_median_ms")
            lm = peer(peers, r["trace"], "loro", "snapshot", "remote_merge_median_ms")
            yb = peer(peers, r["trace"], "pycrdt", "update_v1", "size_bytes")
            yr = peer(peers, r["trace"], "pycrdt", "update_v1", "load_only_peak_minus_baseline_kb")
            lr = peer(peers, r["trace"], "loro", "snapshot", "load_only_peak_minus_baseline_kb")
            if None in (ym, lm, yb, yr, lr):
                continue
            yr, lr = yr / 1024, lr / 1024
            print(f"| {r['trace']} | {r['mergeMs']:.2f} | {ym:.2f} | {ym / r['mergeMs']:.2f} | {r['loadMs']:.3f} | {lm:.2f} | "
                  f"{lm / r['loadMs']:.1f} | {r['encodedBytes']:,} | {yb:,} | {yb / r['encodedBytes']:.2f} | "
                  f"{r['memoryBytes'] / 1048576:.2f} MiB | {yr:.1f} / {lr:.1f} MiB |")

if __name__ == "__main__":
    main()
