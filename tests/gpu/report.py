#!/usr/bin/env python3
"""report.py: turns what tests/gpu/run.sh saved under its results folder into results.md.

Usage: report.py --dir OUT --calls 1,2 [--out FILE]. It reads, from OUT (each optional; a missing figure
makes its verdict FAIL with "no figure", never "n/a"):
  runs.tsv       one line per CLI run or sweep line: LABEL <TAB> EXIT <TAB> WALL S <TAB> JSON (or "null");
                 labels info/<size>, sweep<call>/<variant>/<tokens>, disk/none
  raw_h2d.jsonl  raw_h2d's lines {"memory","bytes","gbps"} (on the dry run, the host stand-in's)
  checks.tsv     verdicts run.sh took itself: CALL <TAB> NAME <TAB> PASS|FAIL <TAB> VALUE
  notes.tsv      stages not run here: CALL <TAB> STAGE <TAB> WHY (listed outside the verdict table)
  moved.tsv      stages moved to another call: CALL <TAB> WHAT <TAB> WHY (the JUnit stage, after a device build)
  summary.tsv    every command: CALL <TAB> STAGE <TAB> NAME <TAB> EXIT <TAB> WALL S <TAB> STATUS
  peer.json      peer_compare.py's --json-out
  body.md        per command: its line, exit code, wall time, key output
  header.md      date, machine, parameters

The targets are physical (docs/GPU.md):
  h2d      runtime pinned H2D (info --bytes S) >= 0.95 x raw cudaMemcpyAsync of the same size
  overlap  at the balanced token count, each of block, leaf, layerwise: step <= 1.05 x max(copy, compute),
           copy = the run's copies (copy_ms_median), compute = its compute stream less waits (compute_ms_median)
  host     host_us_per_group of the leaf line at balance < 5 us (taken warm, after the JIT warm-up)
  peers    no verdict: each peer/offload ratio side by side with the ratio the physics allows
Stdlib only: it runs where torch is absent.
"""
import argparse
import json
import os
import tempfile

H2D_AIM, OVERLAP_AIM, HOST_AIM = 0.95, 1.05, 5.0
SWEEP_FIELDS = ["step_ms_median", "copy_ms_median", "compute_ms_median", "overlap_efficiency", "host_us_per_group",
                "wall_ms_per_step", "h2d_gbps", "groups", "slots", "packings", "pinned_peak_bytes", "verified"]
# (peer mode, offload variant, what the physics allows for peer ms / offload ms)
PEER_PAIRS = [
    ("block_stream", "block", "about 1.0x: both stream pinned memory over the same link; copy-bound work cannot differ by 1.2x"),
    ("leaf_stream", "leaf", "1.0-1.5x: the same bytes over the same link; per-tensor host overhead is all that differs"),
    ("block_nostream", "block", "up to (copy + compute) / max(copy, compute): 2x at balance, no overlap"),
    ("sync_drop", "block", "2-5x: a pageable synchronous copy is 2-5x slower than pinned streaming, plus no overlap"),
    ("sync_moveback", "block", "2-5x, as sync_drop, plus the copy back"),
    ("block_stream_record", "block", "about 1.0x, as block_stream"),
    ("block_stream_lowcpu", "block", "about 1.0x, as block_stream"),
    ("block_stream", "layerwise", "about 1.0x: the same link"),
    ("no_offload", "block", "below 1: nothing copied (how much compute hides the copies)"),
]


def lines(path):
    try:
        with open(path) as f:
            return [line.rstrip("\n") for line in f if line.strip()]
    except OSError:
        return []


def read_runs(path):
    runs = {}
    for line in lines(path):
        parts = line.split("\t", 3)
        if len(parts) < 4:
            continue
        try:
            data = json.loads(parts[3])
        except json.JSONDecodeError:
            data = None
        runs[parts[0]] = dict(rc=parts[1], wall=parts[2], json=data if isinstance(data, dict) else None)
    return runs


def read_jsonl(path):
    out = []
    for line in lines(path):
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return out


def num(v, digits=3):
    if v is None:
        return "-"
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def value(run, key):
    v = (run or {}).get("json") or {}
    v = v.get(key)
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def verdict(ok):
    return "PASS" if ok else "FAIL"


def sweep_lines(runs, call, prefix="sweep"):
    """{(variant, tokens): json} of one call's sweep, in the order measured."""
    out = {}
    for label, r in runs.items():
        parts = label.split("/")
        if parts[0] == f"{prefix}{call}" and len(parts) == 3 and r["json"]:
            out[(parts[1], int(parts[2]))] = r["json"]
    return out


def h2d(runs, raw):
    rows = ["### H2D: the runtime against raw cudaMemcpyAsync", "", "| size | memory | raw GB/s | runtime GB/s | ratio |",
            "| --- | --- | --- | --- | --- |"]
    verdicts = []
    for size_label in ("64MiB", "256MiB"):
        r = runs.get(f"info/{size_label}")
        size = value(r, "copy_bytes")
        for memory, key in (("pinned", "h2d_pinned_gbps"), ("pageable", "h2d_pageable_gbps")):
            ours = value(r, key)
            base = next((x.get("gbps") for x in raw if x.get("bytes") == size and x.get("memory") == memory), None)
            ratio = ours / base if ours is not None and base else None
            rows.append(f"| {size_label} | {memory} | {num(base, 2)} | {num(ours, 2)} | {num(ratio)} |")
            if memory == "pinned":
                verdicts.append((1, f"H2D pinned {size_label}: runtime / raw >= {H2D_AIM}", ratio, ratio is not None and ratio >= H2D_AIM,
                                 None if ratio is not None else f"no figure (runtime {num(ours)}, raw {num(base)})"))
    return rows, verdicts


def sweep_section(runs, call, balance_variants):
    found = sweep_lines(runs, call)
    rows = [f"### Sweep, call {call} (linear workload; * = balanced)", "",
            "| variant | tokens | " + " | ".join(SWEEP_FIELDS) + " | step / max(copy, compute) |",
            "| --- | --- |" + " --- |" * (len(SWEEP_FIELDS) + 1)]
    for (v, t), j in found.items():
        bound = max(j.get("copy_ms_median") or 0, j.get("compute_ms_median") or 0)
        ratio = j["step_ms_median"] / bound if bound and j.get("step_ms_median") else None
        star = "*" if t == j.get("balanced_tokens") else ""
        rows.append(f"| {v} | {t}{star} | " + " | ".join(num(j.get(k)) for k in SWEEP_FIELDS) + f" | {num(ratio)} |")
    if found:
        first = next(iter(found.values()))
        rows += ["", f"balance: copy-only step {num(first.get('copy_only_ms'))} ms, compute {num(first.get('compute_probe_ms'))} ms at "
                     f"{first.get('probe_tokens')} tokens -> {first.get('balanced_tokens')} tokens"]
    verdicts = []
    for v in balance_variants:
        j = next((j for (var, t), j in found.items() if var == v and t == j.get("balanced_tokens")), None)
        if j is None:
            verdicts.append((call, f"overlap {v} at balance: step <= {OVERLAP_AIM} x max(copy, compute)", None, False, "no figure (no sweep line)"))
            continue
        bound = max(j.get("copy_ms_median") or 0, j.get("compute_ms_median") or 0)
        ratio = j["step_ms_median"] / bound if bound and j.get("step_ms_median") else None
        verdicts.append((call, f"overlap {v} at balance ({j['tokens']} tokens): step <= {OVERLAP_AIM} x max(copy, compute)", ratio,
                         ratio is not None and ratio <= OVERLAP_AIM, None))
        if v == "leaf":
            host = j.get("host_us_per_group")
            verdicts.append((call, f"host time per leaf group < {HOST_AIM:g} us ({j.get('groups')} groups, warm)", host,
                             isinstance(host, (int, float)) and host < HOST_AIM, None))
    checked = [j for j in found.values() if j.get("verified") is not None]
    source = f"sweep call {call}"
    if not checked:  # a GPU-sized sweep runs --no-verify; a small checkpoint's sweep (sweepv) is verified on the same device
        checked, source = [j for j in sweep_lines(runs, call, "sweepv").values()], f"call {call}'s small verified sweep"
    ok = bool(checked) and all(j.get("verified") is True for j in checked)
    if call == 2 or found and not all(j.get("verified") is None for j in found.values()):
        verdicts.append((call, f"{source}: every (variant, tokens) verified against the Java reference", None,
                         ok, f"{sum(j.get('verified') is True for j in checked)} of {len(checked)} verified"))
    return rows, verdicts


def peer_section(runs, peer, note):
    rows = ["### Peers (no verdict: each ratio beside what the physics allows)", ""]
    if not peer:
        return rows + [note or "peer_compare.py produced no JSON."]
    sweep = {**sweep_lines(runs, 1), **sweep_lines(runs, 2)}
    rows += ["| peer mode | offload variant | tokens | peer ms | offload ms | peer / offload | the physics allows | peer status |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    by = {(r.get("mode"), r.get("tokens")): r for r in peer.get("rows", [])}
    for mode, variant, allows in PEER_PAIRS:
        for (v, t), j in sweep.items():
            if v != variant:
                continue
            r = by.get((mode, t), {})
            pm, om = r.get("step_ms_median"), j.get("wall_ms_per_step")
            ratio = pm / om if isinstance(pm, (int, float)) and om else None
            rows.append(f"| {mode} | {variant} | {t} | {num(pm)} | {num(om)} | {num(ratio, 2)} | {allows} | {r.get('status', 'absent')} |")
    return rows


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dir", required=True)
    p.add_argument("--calls", default="1,2")
    p.add_argument("--out")
    a = p.parse_args()
    d = a.dir
    calls = [int(c) for c in a.calls.split(",") if c]
    runs = read_runs(os.path.join(d, "runs.tsv"))
    raw = read_jsonl(os.path.join(d, "raw_h2d.jsonl"))
    try:
        with open(os.path.join(d, "peer.json")) as f:
            peer = json.load(f)
    except (OSError, json.JSONDecodeError):
        peer = None
    verdicts, sections = [], []
    checks = [line.split("\t") for line in lines(os.path.join(d, "checks.tsv"))]
    notes = [line.split("\t") for line in lines(os.path.join(d, "notes.tsv"))]
    if 1 in calls:
        rows, vs = h2d(runs, raw)
        sections.append(rows)
        verdicts += vs
        rows, vs = sweep_section(runs, 1, ["block", "leaf", "layerwise"])
        sections.append(rows)
        verdicts += vs
    if 2 in calls:
        rows, vs = sweep_section(runs, 2, [])
        sections.append(rows)
        verdicts += vs
        peer_note = next((n[2] for n in notes if len(n) == 3 and n[1] == "peers"), None)
        sections.append(peer_section(runs, peer, peer_note))
    out = list(lines(os.path.join(d, "header.md"))) + ["", "## Verdicts", "", "| call | check | value | verdict |", "| --- | --- | --- | --- |"]
    for c in checks:
        if len(c) == 4 and int(c[0]) in calls:
            out.append(f"| {c[0]} | {c[1]} | {c[3].replace('|', '/')} | {c[2]} |")
    for call, name, v, ok, text in verdicts:
        out.append(f"| {call} | {name} | {text if text else num(v)} | {verdict(ok)} |")
    out += ["", "## Not run here", ""]
    listed = [n for n in notes if len(n) == 3 and int(n[0]) in calls]
    out += [f"- call {n[0]}, {n[1]}: not run here: {n[2]}" for n in listed] or ["- (every stage ran)"]
    moves = [m for m in (line.split("\t") for line in lines(os.path.join(d, "moved.tsv"))) if len(m) == 3 and int(m[0]) in calls]
    if moves:
        out += ["", "## Moved between calls", ""] + [f"- call {m[0]}: {m[1]}: {m[2]}" for m in moves]
    out += ["", "## Commands", "", "| call | stage | command | exit | wall s | status |", "| --- | --- | --- | --- | --- | --- |"]
    for s in lines(os.path.join(d, "summary.tsv")):
        f = s.split("\t")
        if len(f) == 6 and int(f[0]) in calls:
            out.append("| " + " | ".join(f) + " |")
    out.append("")
    for rows in sections:
        out += rows + [""]
    out += lines(os.path.join(d, "body.md"))
    text = "\n".join(out) + "\n"
    if a.out:
        write_atomically(a.out, text)
    else:
        print(text, end="")
    return 0


def write_atomically(path, text):
    """A temporary in path's folder, synced, then renamed over path: whole or absent."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)), prefix="." + os.path.basename(path) + ".", suffix=".tmp")
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
