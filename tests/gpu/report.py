#!/usr/bin/env python3
"""report.py: turns what tests/gpu/run.sh measured into the acceptance tables of results.md.

Inputs (all optional; a missing one makes its checks "n/a", never an error):
  --runs FILE     one line per CLI run: LABEL <TAB> EXIT CODE <TAB> WALL S <TAB> JSON (or "null").
                  Labels: info/<size>, perf/<variant>/<tokens>, copy_only/<variant>, verify/..., where
                  variant is no_offload, group_block (blocks-per-group 1), group_leaf, layerwise_w3.
  --raw-h2d FILE  raw_h2d's JSON lines ({"memory","bytes","gbps"}).
  --peer FILE     peer_compare.py's --json-out.
  --checks FILE   correctness verdicts run.sh took itself: NAME <TAB> PASS|FAIL|n/a <TAB> VALUE (ctest, JUnit,
                  verified runs, compute-sanitizer); they head the acceptance table.
Output: Markdown on stdout: the verdicts first, then the tables they come from.

The aims (docs/GPU.md):
  h2d        runtime pinned H2D (info --bytes S) >= 0.95 x raw cudaMemcpyAsync of the same size
  overlap    at balance (the token count where compute-only and copy-only are closest), each offloaded
             variant's step time <= 1.05 x max(copy-only, compute-only); compute-only = no_offload at
             that token count, copy-only = the variant with --workload none
  host       host_us_per_group of the leaf-level runs (median over token counts) < 5 us
  peer       diffusers_ms / offload_ms: block_stream vs group_block >= 1.2, leaf_stream vs group_leaf
             >= 1.5, sync_drop (and sync_moveback) vs group_block >= 10; other pairs are shown without aim
Stdlib only: it runs where torch is absent.
"""
import argparse
import json
import math
import os
import re
import statistics
import sys
import tempfile

VARIANTS = ["group_block", "group_leaf", "layerwise_w3"]
BALANCE_MAX_IMBALANCE = 1.3  # compute and copy within this factor count as balanced
PERF_FIELDS = ["wall_ms_per_step", "step_ms_median", "copy_ms_median", "compute_ms_median", "compute_idle_ms", "copy_busy_ms",
               "host_waits_per_step", "host_blocked_ms", "h2d_gbps", "overlap_efficiency", "host_us_per_group",
               "groups", "slots", "peak_device_bytes", "budget_bytes", "verified"]
PEER_PAIRS = [  # (diffusers/naive mode, offload variant, aim or None)
    ("block_stream", "group_block", 1.2),
    ("leaf_stream", "group_leaf", 1.5),
    ("sync_drop", "group_block", 10.0),
    ("sync_moveback", "group_block", 10.0),
    ("block_stream_record", "group_block", None),
    ("block_nostream", "group_block", None),
    ("block_stream_lowcpu", "group_block", None),
    ("block_stream", "layerwise_w3", None),
    ("no_offload", "no_offload", None),
]


def read_runs(path):
    runs = {}
    if not path:
        return runs
    try:
        with open(path) as f:
            for line in f:
                parts = line.rstrip("\n").split("\t", 3)
                if len(parts) < 4:
                    continue
                label, rc, wall, raw = parts
                try:
                    data = json.loads(raw)
                except json.JSONDecodeError:
                    data = None
                runs[label] = dict(rc=int(rc) if rc.lstrip("-").isdigit() else None, wall=wall,
                                   json=data if isinstance(data, dict) else None)
    except OSError:
        pass
    return runs


def read_checks(path):
    out = []
    if not path:
        return out
    try:
        with open(path) as f:
            for line in f:
                parts = line.rstrip("\n").split("\t")
                if len(parts) == 3:
                    out.append((parts[0], parts[1], parts[2].replace("|", "/")))
    except OSError:
        pass
    return out


def read_jsonl(path):
    out = []
    if not path:
        return out
    try:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line.startswith("{"):
                    try:
                        out.append(json.loads(line))
                    except json.JSONDecodeError:
                        pass
    except OSError:
        pass
    return out


def read_peer(path):
    if not path:
        return None
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, json.JSONDecodeError):
        return None


def num(v, digits=3):
    if v is None:
        return "-"
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def verdict(ok):
    return "n/a" if ok is None else ("PASS" if ok else "FAIL")


def field(runs, label, key):
    r = runs.get(label)
    if not r or not r["json"]:
        return None
    v = r["json"].get(key)
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def tokens_of(runs):
    ts = set()
    for label in runs:
        parts = label.split("/")
        if parts[0] == "perf" and len(parts) == 3 and parts[2].isdigit():
            ts.add(int(parts[2]))
    return sorted(ts)


def h2d_section(runs, raw):
    lines = ["### H2D bandwidth: runtime vs raw cudaMemcpyAsync", "",
             "| size | memory | raw GB/s | runtime GB/s | ratio | aim | verdict |", "| --- | --- | --- | --- | --- | --- | --- |"]
    verdicts = []
    for label, r in sorted(runs.items()):
        if not re.fullmatch(r"info/\d+MiB", label) or not r["json"]:
            continue  # info/default (stage c) is not compared: only the sizes raw_h2d measured
        size = r["json"].get("copy_bytes")
        for memory, key in (("pinned", "h2d_pinned_gbps"), ("pageable", "h2d_pageable_gbps")):
            ours = r["json"].get(key)
            base = next((x.get("gbps") for x in raw if x.get("bytes") == size and x.get("memory") == memory), None)
            ratio = ours / base if isinstance(ours, (int, float)) and base else None
            aim = 0.95 if memory == "pinned" else None
            ok = None if ratio is None or aim is None else ratio >= aim
            if aim is not None:
                verdicts.append((f"H2D pinned {size >> 20 if size else '?'} MiB: runtime/raw >= 0.95", ratio, ok))
            lines.append(f"| {size >> 20 if size else '?'} MiB | {memory} | {num(base, 2)} | {num(ours, 2)} | "
                         f"{num(ratio)} | {'>= 0.95' if aim else '-'} | {verdict(ok) if aim else 'info'} |")
    if not verdicts:
        verdicts.append(("H2D pinned: runtime/raw >= 0.95", None, None))
    return lines, verdicts


def perf_section(runs):
    lines = ["### Pipeline runs (linear workload)", "",
             "| run | " + " | ".join(PERF_FIELDS) + " | exit |", "| --- |" + " --- |" * (len(PERF_FIELDS) + 1)]
    for label, r in runs.items():
        if not (label.startswith("perf/") or label.startswith("copy_only/")):
            continue
        j = r["json"] or {}
        lines.append(f"| {label} | " + " | ".join(num(j.get(k)) for k in PERF_FIELDS) + f" | {r['rc']} |")
    return lines


def overlap_section(runs):
    lines = ["### Overlap: step time vs max(copy-only, compute-only)", "",
             "compute-only = no_offload's step_ms_median at that token count; copy-only = the variant run with "
             "`--workload none`. Balance (marked *) = the token count where the two are closest (ratio of the larger "
             "to the smaller). Aim: step <= 1.05 x max at balance.", "",
             "| variant | tokens | compute-only ms | copy-only ms | max | step ms | step / max | |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    verdicts = []
    toks = tokens_of(runs)
    for v in VARIANTS:
        copy_only = field(runs, f"copy_only/{v}", "step_ms_median")
        rows, best = [], None
        for t in toks:
            comp = field(runs, f"perf/no_offload/{t}", "step_ms_median")
            step = field(runs, f"perf/{v}/{t}", "step_ms_median")
            bound = max(comp, copy_only) if comp is not None and copy_only is not None else None
            ratio = step / bound if step is not None and bound else None
            if comp and copy_only:
                imbalance = max(comp, copy_only) / max(min(comp, copy_only), 1e-9)
                if ratio is not None and (best is None or imbalance < best[1]):
                    best = (t, imbalance, ratio)
            rows.append((t, comp, copy_only, bound, step, ratio))
        for t, comp, co, bound, step, ratio in rows:
            mark = "*" if best and best[0] == t else ""
            lines.append(f"| {v} | {t} | {num(comp)} | {num(co)} | {num(bound)} | {num(step)} | {num(ratio)} | {mark} |")
        if best and best[1] <= BALANCE_MAX_IMBALANCE:
            verdicts.append((f"overlap {v} at balance (tokens {best[0]}, compute/copy imbalance {best[1]:.2f}x): "
                             f"step <= 1.05 x max(copy-only, compute-only)", best[2], best[2] <= 1.05))
        elif best:  # the closest token count is still far from balance: no verdict, say why
            verdicts.append((f"overlap {v} at balance: n/a, the closest token count ({best[0]}) is {best[1]:.2f}x out of "
                             f"balance (> {BALANCE_MAX_IMBALANCE}x); add token counts nearer balance", None, None))
        else:
            verdicts.append((f"overlap {v}: step <= 1.05 x max(copy-only, compute-only) at balance", None, None))
    return lines, verdicts


def host_section(runs):
    """host_us_per_group of every run; the verdict reads the leaf-level runs with compute, or, where there
    are none (a leaf run with compute failed), the leaf-level copy-only run."""
    lines = ["### Host time per group (acquire + release, median)", "",
             "| run | groups | host_us_per_group |", "| --- | --- | --- |"]
    for label in runs:
        v = field(runs, label, "host_us_per_group")
        if v is not None:
            lines.append(f"| {label} | {num(field(runs, label, 'groups'))} | {num(v)} |")
    vals = [v for v in (field(runs, f"perf/group_leaf/{t}", "host_us_per_group") for t in tokens_of(runs)) if v is not None]
    source = "leaf-level runs, median over token counts"
    if not vals:
        v = field(runs, "copy_only/group_leaf", "host_us_per_group")
        vals = [v] if v is not None else []
        source = "leaf-level copy-only run (no leaf run with compute)"
    if vals:
        med = statistics.median(vals)
        return lines, [(f"host time per leaf-level group < 5 us ({source}; max {max(vals):.3f})", med, med < 5.0)]
    return lines, [("host time per leaf-level group < 5 us", None, None)]


def peer_section(runs, peer):
    lines = ["### Peers: diffusers and naive offloading vs offload, same checkpoint, same token counts", ""]
    verdicts = []
    if not peer:
        lines.append("peer_compare.py produced no JSON.")
        return lines, [("peer ratios", None, None)]
    rows = peer.get("rows", [])
    meta = peer.get("meta", {})
    versions = {m: {k: i.get(k) for k in ("torch", "diffusers", "setup_s", "wall_s") if i.get(k) is not None}
                for m, i in meta.get("modes", {}).items()}
    lines.append(f"versions and setup per mode: `{json.dumps(versions)}`")
    lines += ["", "| peer mode | offload variant | tokens | peer ms | offload ms | ratio (peer/offload) | aim | verdict | peer status |",
              "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    by = {(r.get("mode"), r.get("tokens")): r for r in rows}
    toks = sorted({r.get("tokens") for r in rows if isinstance(r.get("tokens"), int)})
    for mode, variant, aim in PEER_PAIRS:
        ratios = []
        for t in toks:
            r = by.get((mode, t), {})
            pm = r.get("step_ms_median")
            # The peers' figure is wall clock per step between torch.cuda.synchronize() calls; ours is
            # the wall clock per step over the run (wall_ms_per_step), not the device-side step period.
            om = field(runs, f"perf/{variant}/{t}", "wall_ms_per_step")
            ratio = pm / om if isinstance(pm, (int, float)) and om else None
            ok = None if ratio is None or aim is None else ratio >= aim
            if ratio is not None:
                ratios.append(ratio)
            lines.append(f"| {mode} | {variant} | {t} | {num(pm)} | {num(om)} | {num(ratio, 2)} | "
                         f"{'>= ' + str(aim) if aim else '-'} | {verdict(ok) if aim else 'info'} | {r.get('status', 'absent')} |")
        if aim is not None:
            worst = min(ratios) if ratios else None
            best = f"; best {max(ratios):.2f}" if ratios else ""
            verdicts.append((f"peer {mode} / offload {variant} >= {aim}x (worst over token counts{best})", worst,
                             None if worst is None else worst >= aim))
    lines += ["", "Peer host and GPU memory per mode (largest over token counts):", "",
              "| mode | peak RSS GiB (getrusage) | steady RSS GiB | GPU max allocated GiB |", "| --- | --- | --- | --- |"]
    for mode in dict.fromkeys(r.get("mode") for r in rows):
        rs = [r for r in rows if r.get("mode") == mode]
        g = lambda k: max((r[k] for r in rs if isinstance(r.get(k), (int, float))), default=None)  # noqa: E731
        gib = lambda v: "-" if v is None else f"{v / 2**30:.2f}"  # noqa: E731
        lines.append(f"| {mode} | {gib(g('peak_rss_bytes'))} | {gib(g('rss_steady_bytes'))} | {gib(g('cuda_max_allocated_bytes'))} |")
    diffs = [(r["mode"], r["tokens"], r["out_rel_diff_vs_no_offload"]) for r in rows
             if isinstance(r.get("out_rel_diff_vs_no_offload"), float) and r["out_rel_diff_vs_no_offload"] > 1e-3]
    lines += ["", "Outputs vs torch no_offload (relative difference of sum |out|): " +
              ("all within 1e-3" if not diffs else "DIFFER: " + ", ".join(f"{m}@{t}: {d:.2e}" for m, t, d in diffs))]
    return lines, verdicts


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs")
    p.add_argument("--raw-h2d")
    p.add_argument("--peer")
    p.add_argument("--checks")
    p.add_argument("--out", help="write the report here (whole or not at all) instead of to stdout")
    args = p.parse_args()
    runs = read_runs(args.runs)
    raw = read_jsonl(args.raw_h2d)
    peer = read_peer(args.peer)

    sections, verdicts = [], []
    for lines, vs in (h2d_section(runs, raw), overlap_section(runs), host_section(runs), peer_section(runs, peer)):
        sections.append(lines)
        verdicts += vs
    sections.insert(2, perf_section(runs))

    out = ["## Acceptance", "", "| check | value | verdict |", "| --- | --- | --- |"]
    for name, ok, value in read_checks(args.checks):
        out.append(f"| {name} | {value} | {ok} |")
    for name, value, ok in verdicts:
        value_text = "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3f}"
        out.append(f"| {name} | {value_text} | {verdict(ok)} |")
    out.append("")
    for lines in sections:
        out += lines + [""]
    text = "\n".join(out) + "\n"
    if args.out:
        write_atomically(args.out, text)
    else:
        sys.stdout.write(text)
    return 0


def write_atomically(path, text):
    """Writes text to a temporary in path's folder, syncs it, then renames it over path: whole or absent."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


if __name__ == "__main__":
    raise SystemExit(main())
