#!/usr/bin/env python3
"""peer_compare.py: how PyTorch offloaders stream the very checkpoint offload streams.

Run by tests/gpu/run.sh on the GPU machine (PyTorch and CUDA there, no network). It reads the linear
checkpoint that `./offload synth --workload linear` writes (per block i:
model.layers.{i}.self_attn.{q,k,v,o}_proj.weight [dim, dim] and model.layers.{i}.mlp.{up,down}_proj.weight
[4dim, dim] / [dim, 4dim], BF16, row-major [out, in]) into a torch.nn.Module with the same block,

    s = q(x) + k(x) + v(x);  x = x + o(s);  u = up(x);  x = x + down(u)

(nn.Linear(bias=False) in the checkpoint's dtype; no nonlinearity, no norm), and times one forward
pass over every block ("a step") under each mode, for each token count:

  system     mode                  what
  torch      no_offload            everything on the GPU (the compute-only figure)
  diffusers  block_nostream        apply_group_offloading(block_level, num_blocks_per_group=1, use_stream=False)
  diffusers  block_stream          ... use_stream=True (pinned CPU copies, prefetch on a side stream)
  diffusers  block_stream_record   ... use_stream=True, record_stream=True (diffusers' faster variant; extra)
  diffusers  leaf_stream           offload_type=leaf_level, use_stream=True
  diffusers  block_stream_lowcpu   block_level, use_stream=True, low_cpu_mem_usage=True (pins on the fly)
  naive      sync_drop             per block: weights .to(cuda) from ordinary CPU tensors, compute, drop
  naive      sync_moveback         per block: block.to(cuda), compute, block.to(cpu)

Design notes:
- One worker process per mode (this script re-run with --worker): each starts from a fresh CUDA
  context and a fresh process, so peak host RSS (getrusage) and torch.cuda.max_memory_allocated are
  that mode's own, a crash or a hang costs one mode, not the table, and the orchestrator itself never
  imports torch. The orchestrator gives each worker min(--mode-timeout-s, time left of --deadline-s);
  a mode that does not fit is recorded as skipped.
- Timing: one warm-up step per token count (diffusers' stream modes trace the execution order there),
  then --steps steps, each between torch.cuda.synchronize() calls on a host clock; the median is
  reported. Each step starts from the same input x0 (seeded), so every mode computes the same output;
  the output's checksum is recorded and compared with no_offload's (a prefetch race would show).
- Host memory: ru_maxrss is the process's peak (loading the checkpoint included); rss_steady_bytes is
  the largest VmRSS seen at step boundaries, after the loader's buffers are dropped: what the mode
  itself holds. GPU memory: torch.cuda.max_memory_allocated over each token count's steps.
- diffusers comes from --diffusers-src (a folder holding src/diffusers, or diffusers/ itself) put first
  on sys.path; its own needs (huggingface_hub, safetensors, accelerate, numpy, PIL, requests, filelock,
  regex) come from the machine's Python. If it does not import, or its apply_group_offloading lacks
  an argument a mode needs (read from its signature), that mode's rows say "unavailable: <reason>".
- In the block-level modes the model has a parameter-free top-level child (nn.Identity head): diffusers
  installs its lazy prefetch hook only on a model with something outside the block lists, which every
  real diffusers model has (embeddings, norms); without it use_stream=True would never prefetch.
- The checkpoint is read with the safetensors package when it imports, else by a parser here
  (8-byte little-endian header length, JSON header, raw little-endian bytes); --parser hand forces it.

Output: a table on stdout; --json-out FILE gets {"meta": {...}, "rows": [{system, mode, tokens,
step_ms_median, ...}]}. Exit code 0 unless the arguments are wrong (failed modes are rows, not errors).
"""
import argparse
import json
import os
import resource
import statistics
import struct
import subprocess
import sys
import tempfile
import time

MODES = [
    # (mode, system, diffusers apply_group_offloading arguments or None)
    ("no_offload", "torch", None),
    ("block_stream", "diffusers", dict(offload_type="block_level", num_blocks_per_group=1, use_stream=True)),
    ("leaf_stream", "diffusers", dict(offload_type="leaf_level", use_stream=True)),
    ("sync_drop", "naive", None),
    ("block_nostream", "diffusers", dict(offload_type="block_level", num_blocks_per_group=1, use_stream=False)),
    ("block_stream_record", "diffusers",
     dict(offload_type="block_level", num_blocks_per_group=1, use_stream=True, record_stream=True)),
    ("sync_moveback", "naive", None),
    ("block_stream_lowcpu", "diffusers",
     dict(offload_type="block_level", num_blocks_per_group=1, use_stream=True, low_cpu_mem_usage=True)),
]
SYSTEM = {m: s for m, s, _ in MODES}
DIFFUSERS_ARGS = {m: a for m, _, a in MODES}


# ---------------------------------------------------------------- checkpoint reading (no torch here)

def read_header(path):
    """(header dict without __metadata__, metadata, offset of the data region)."""
    with open(path, "rb") as f:
        raw = f.read(8)
        if len(raw) != 8:
            raise ValueError(f"{path}: shorter than a safetensors header")
        (n,) = struct.unpack("<Q", raw)
        if n > 100 << 20:
            raise ValueError(f"{path}: header length {n} is implausible")
        header = json.loads(f.read(n))
    meta = header.pop("__metadata__", None)
    return header, meta, 8 + n


def load_tensors(path, parser):
    """name -> CPU tensor. parser: 'auto' (safetensors if it imports) or 'hand'."""
    import torch
    if parser == "auto":
        try:
            from safetensors.torch import load_file
            return load_file(path, device="cpu"), "safetensors"
        except ImportError:
            pass
    header, _, start = read_header(path)
    size = os.path.getsize(path) - start
    buf = bytearray(size)
    with open(path, "rb") as f:
        f.seek(start)
        view = memoryview(buf)
        got = 0
        while got < size:
            n = f.readinto(view[got:])
            if not n:
                raise ValueError(f"{path}: truncated data region")
            got += n
    # Read as same-width integers, then reinterpret: torch.frombuffer has no bf16 on some versions.
    widths = {"BF16": (torch.int16, torch.bfloat16), "F16": (torch.int16, torch.float16),
              "F32": (torch.int32, torch.float32), "I32": (torch.int32, torch.int32),
              "I16": (torch.int16, torch.int16), "U8": (torch.uint8, torch.uint8), "I8": (torch.int8, torch.int8)}
    out = {}
    for name, info in header.items():
        dtype = info["dtype"]
        if dtype not in widths:
            raise ValueError(f"{name}: dtype {dtype} not handled by the hand parser")
        raw_t, real_t = widths[dtype]
        b, e = info["data_offsets"]
        item = torch.empty((), dtype=raw_t).element_size()
        count = (e - b) // item
        if count == 0:
            out[name] = torch.empty(info["shape"], dtype=real_t)
            continue
        t = torch.frombuffer(buf, dtype=raw_t, count=count, offset=b)
        out[name] = t.view(real_t).reshape(info["shape"])
    return out, "hand"


def block_names(header_names):
    """Sorted block indices of model.layers.{i}.* names."""
    idx = set()
    for name in header_names:
        parts = name.split(".")
        if len(parts) > 3 and parts[0] == "model" and parts[1] == "layers" and parts[2].isdigit():
            idx.add(int(parts[2]))
    return sorted(idx)


WEIGHTS = {  # module attribute -> checkpoint suffix
    "q": "self_attn.q_proj.weight", "k": "self_attn.k_proj.weight", "v": "self_attn.v_proj.weight",
    "o": "self_attn.o_proj.weight", "up": "mlp.up_proj.weight", "down": "mlp.down_proj.weight",
}


# ---------------------------------------------------------------- the model (worker only)

def build_model(tensors, torch):
    nn = torch.nn

    class Block(nn.Module):
        def __init__(self, dim, hidden, dtype):
            super().__init__()
            self.q = nn.Linear(dim, dim, bias=False, dtype=dtype)
            self.k = nn.Linear(dim, dim, bias=False, dtype=dtype)
            self.v = nn.Linear(dim, dim, bias=False, dtype=dtype)
            self.o = nn.Linear(dim, dim, bias=False, dtype=dtype)
            self.up = nn.Linear(dim, hidden, bias=False, dtype=dtype)
            self.down = nn.Linear(hidden, dim, bias=False, dtype=dtype)

        def forward(self, x):
            s = self.q(x) + self.k(x) + self.v(x)
            x = x + self.o(s)
            u = self.up(x)
            return x + self.down(u)

    class Stack(nn.Module):
        def __init__(self, blocks):
            super().__init__()
            self.layers = nn.ModuleList(blocks)
            self.head = nn.Identity()  # see the design note: gives diffusers its top-level group

        def forward(self, x):
            for block in self.layers:
                x = block(x)
            return self.head(x)

    indices = block_names(tensors.keys())
    if not indices:
        raise ValueError("no model.layers.{i}.* tensors: not a linear checkpoint (synth --workload linear)")
    q0 = tensors[f"model.layers.{indices[0]}.{WEIGHTS['q']}"]
    up0 = tensors[f"model.layers.{indices[0]}.{WEIGHTS['up']}"]
    dim, hidden, dtype = q0.shape[1], up0.shape[0], q0.dtype
    blocks = []
    with torch.device("meta"):  # no random init of gigabytes that are overwritten at once
        for _ in indices:
            blocks.append(Block(dim, hidden, dtype))
    for block, i in zip(blocks, indices):
        for attr, suffix in WEIGHTS.items():
            t = tensors[f"model.layers.{i}.{suffix}"]
            lin = getattr(block, attr)
            if tuple(t.shape) != tuple(lin.weight.shape):
                raise ValueError(f"model.layers.{i}.{suffix}: shape {tuple(t.shape)}, expected {tuple(lin.weight.shape)}")
            lin.weight = nn.Parameter(t, requires_grad=False)
    return Stack(blocks), dim, hidden, str(dtype).replace("torch.", "")


def rss_bytes():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def import_diffusers(src):
    """(apply_group_offloading, version string) or raises with the reason."""
    if src:
        for cand in (os.path.join(src, "src"), src):
            if os.path.isdir(os.path.join(cand, "diffusers")):
                sys.path.insert(0, cand)
                break
        else:
            raise ImportError(f"no diffusers/ under {src} or {src}/src")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("DIFFUSERS_NO_ADVISORY_WARNINGS", "1")
    import diffusers
    from diffusers.hooks import apply_group_offloading
    version = getattr(diffusers, "__version__", "?")
    commit_file = os.path.join(src or "", "COMMIT")
    if src and os.path.isfile(commit_file):
        with open(commit_file) as f:
            version += " @ " + f.read().strip()[:12]
    return apply_group_offloading, version


def worker(args):
    """Runs one mode over every token count; writes {"rows": [...], "info": {...}} to --result-file."""
    mode = args.worker
    system = SYSTEM[mode]
    result = {"rows": [], "info": {"mode": mode}}

    def emit():
        write_json_atomically(args.result_file, result)

    def fail_all(status):
        for tokens in args.tokens:
            result["rows"].append(dict(system=system, mode=mode, tokens=tokens, step_ms_median=None, status=status))
        emit()

    try:
        import torch
    except ImportError as e:
        return fail_all(f"unavailable: torch does not import: {e}")
    result["info"]["torch"] = torch.__version__
    dev = torch.device(args.device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        return fail_all("unavailable: torch.cuda.is_available() is False")

    apply = None
    if system == "diffusers":
        try:
            apply, version = import_diffusers(args.diffusers_src)
            result["info"]["diffusers"] = version
        except Exception as e:  # noqa: BLE001 - any import failure makes the rows unavailable
            return fail_all(f"unavailable: diffusers does not import: {type(e).__name__}: {e}")
        import inspect
        params = inspect.signature(apply).parameters
        missing = [k for k, v in DIFFUSERS_ARGS[mode].items() if k not in params and v not in (False, None)]
        if missing:
            return fail_all(f"unavailable: this diffusers' apply_group_offloading has no {', '.join(missing)}")
        if DIFFUSERS_ARGS[mode].get("use_stream") and dev.type != "cuda":
            return fail_all("unavailable: use_stream needs a CUDA device")

    t0 = time.perf_counter()
    tensors, parser = load_tensors(args.checkpoint, args.parser)
    model, dim, hidden, dtype = build_model(tensors, torch)
    del tensors
    result["info"].update(parser=parser, dim=dim, hidden=hidden, dtype=dtype, blocks=len(model.layers),
                          load_s=round(time.perf_counter() - t0, 3))

    t0 = time.perf_counter()
    cpu = torch.device("cpu")
    if mode == "no_offload":
        model.to(dev)
    elif system == "diffusers":
        kwargs = dict(onload_device=dev, offload_device=cpu, **DIFFUSERS_ARGS[mode])
        apply(model, **kwargs)
        result["info"]["apply_group_offloading"] = {k: str(v) for k, v in kwargs.items()}
    # naive modes keep the model on the CPU, as loaded
    import gc
    gc.collect()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    result["info"]["setup_s"] = round(time.perf_counter() - t0, 3)

    def block_forward_weights(x, w):
        f = torch.nn.functional.linear
        s = f(x, w["q"]) + f(x, w["k"]) + f(x, w["v"])
        x = x + f(s, w["o"])
        return x + f(f(x, w["up"]), w["down"])

    cpu_weights = None
    if mode == "sync_drop":
        cpu_weights = [{a: getattr(b, a).weight.data for a in WEIGHTS} for b in model.layers]

    def step(x):
        if mode == "sync_drop":
            for w_cpu in cpu_weights:
                w = {a: t.to(dev) for a, t in w_cpu.items()}  # ordinary (pageable) memory, as naive offloaders do
                x = block_forward_weights(x, w)
                del w
            return x
        if mode == "sync_moveback":
            for block in model.layers:
                block.to(dev)
                x = block(x)
                block.to(cpu)
            return x
        return model(x)

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize()

    gen = torch.Generator(device="cpu").manual_seed(1234)
    with torch.no_grad():
        for tokens in args.tokens:
            row = dict(system=system, mode=mode, tokens=tokens, step_ms_median=None, status="ok")
            try:
                x0 = torch.randn(tokens, dim, generator=gen, dtype=torch.float32).to(dtype=getattr(torch, dtype)).to(dev)
                if dev.type == "cuda":
                    torch.cuda.reset_peak_memory_stats()
                sync()
                t = time.perf_counter()
                out = step(x0)  # warm-up (diffusers' stream modes trace the execution order here)
                sync()
                row["warmup_ms"] = round((time.perf_counter() - t) * 1e3, 3)
                times, steady = [], rss_bytes() or 0
                for _ in range(args.steps):
                    sync()
                    t = time.perf_counter()
                    out = step(x0)
                    sync()
                    times.append((time.perf_counter() - t) * 1e3)
                    steady = max(steady, rss_bytes() or 0)
                row["step_ms_median"] = round(statistics.median(times), 3)
                row["step_ms_all"] = [round(v, 3) for v in times]
                row["rss_steady_bytes"] = steady
                of = out.float()
                row["out_sum"] = of.sum().item()
                row["out_abs_sum"] = of.abs().sum().item()
                row["out_finite"] = bool(torch.isfinite(of).all().item())
                if dev.type == "cuda":
                    row["cuda_max_allocated_bytes"] = torch.cuda.max_memory_allocated()
                weights = sum(p.numel() * p.element_size() for p in model.parameters())
                row["model_bytes"] = weights
                row["h2d_bytes_per_step"] = 0 if mode == "no_offload" else weights
            except Exception as e:  # noqa: BLE001 - one failed token count is a row, not the end
                row["status"] = f"failed: {type(e).__name__}: {str(e)[:300]}"
            row["peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
            result["rows"].append(row)
            emit()  # what is measured survives a later timeout
            print(json.dumps(row), flush=True)
    emit()
    return 0


# ---------------------------------------------------------------- orchestrator

def run_modes(args):
    start = time.monotonic()
    rows, infos = [], {}
    for mode in args.modes:
        left = args.deadline_s - (time.monotonic() - start)
        limit = min(args.mode_timeout_s, left - 5)
        if limit < 15:
            rows += [dict(system=SYSTEM[mode], mode=mode, tokens=t, step_ms_median=None,
                          status="skipped: out of time") for t in args.tokens]
            continue
        result_file = os.path.join(args.work_dir, f"peer-{mode}.json")
        if os.path.exists(result_file):
            os.remove(result_file)
        cmd = [sys.executable, os.path.abspath(__file__), "--worker", mode, "--result-file", result_file,
               "--checkpoint", args.checkpoint, "--steps", str(args.steps), "--device", args.device,
               "--parser", args.parser, "--tokens", *map(str, args.tokens)]
        if args.diffusers_src:
            cmd += ["--diffusers-src", args.diffusers_src]
        print(f"peer: {mode} (limit {limit:.0f} s)", flush=True)
        t = time.monotonic()
        status = None
        try:
            proc = subprocess.run(cmd, timeout=limit, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            if proc.returncode != 0:
                status = f"failed: worker exit {proc.returncode}: " + " | ".join(proc.stdout.strip().splitlines()[-3:])[:400]
            log = proc.stdout
        except subprocess.TimeoutExpired as e:
            status = f"timeout after {limit:.0f} s"
            log = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        with open(os.path.join(args.work_dir, f"peer-{mode}.log"), "w") as f:
            f.write(log)
        got = {}
        if os.path.exists(result_file):
            with open(result_file) as f:
                got = json.load(f)
        infos[mode] = dict(got.get("info", {}), wall_s=round(time.monotonic() - t, 1))
        measured = {r["tokens"]: r for r in got.get("rows", [])}
        for tokens in args.tokens:
            r = measured.get(tokens) or dict(system=SYSTEM[mode], mode=mode, tokens=tokens, step_ms_median=None,
                                             status=status or "failed: no result")
            rows.append(r)
    # The same input in every mode: outputs should agree with no_offload's (same kernels, same order).
    ref = {r["tokens"]: r for r in rows if r["mode"] == "no_offload" and r.get("out_abs_sum")}
    for r in rows:
        base = ref.get(r["tokens"])
        if base and r.get("out_abs_sum") is not None and r["mode"] != "no_offload":
            r["out_rel_diff_vs_no_offload"] = abs(r["out_abs_sum"] - base["out_abs_sum"]) / max(base["out_abs_sum"], 1e-30)
    return rows, infos


def table(rows):
    lines = [f"{'system':<10} {'mode':<20} {'tokens':>6} {'step ms':>10} {'peak RSS GiB':>12} {'steady RSS GiB':>14} "
             f"{'GPU max GiB':>11}  status"]
    gib = lambda v: f"{v / 2**30:.2f}" if isinstance(v, (int, float)) else "-"  # noqa: E731
    for r in rows:
        ms = r.get("step_ms_median")
        lines.append(f"{r['system']:<10} {r['mode']:<20} {r['tokens']:>6} {ms if ms is not None else '-':>10} "
                     f"{gib(r.get('peak_rss_bytes')):>12} {gib(r.get('rss_steady_bytes')):>14} "
                     f"{gib(r.get('cuda_max_allocated_bytes')):>11}  {r.get('status', '')}")
    return "\n".join(lines)


def write_json_atomically(path, value, indent=None):
    """JSON to a temporary in path's folder, synced, then renamed over path: a reader (or a kill) never sees half a file."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(value, f, indent=indent)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True, help="linear safetensors file from ./offload synth --workload linear")
    p.add_argument("--tokens", type=int, nargs="+", default=[64, 256, 1024, 4096])
    p.add_argument("--steps", type=int, default=5, help="timed steps per token count, after one warm-up step")
    p.add_argument("--diffusers-src", default=None, help="folder holding diffusers' src/ (or src/ itself)")
    p.add_argument("--json-out", default=None)
    p.add_argument("--modes", nargs="+", default=[m for m, _, _ in MODES], choices=[m for m, _, _ in MODES])
    p.add_argument("--device", default="cuda", help="cuda (cpu only for a smoke test: stream modes are then unavailable)")
    p.add_argument("--parser", choices=["auto", "hand"], default="auto")
    p.add_argument("--deadline-s", type=float, default=300, help="all modes together")
    p.add_argument("--mode-timeout-s", type=float, default=120, help="one mode, every token count")
    p.add_argument("--work-dir", default="/tmp/peer", help="per-mode results and logs")
    p.add_argument("--worker", choices=[m for m, _, _ in MODES], help=argparse.SUPPRESS)
    p.add_argument("--result-file", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.steps < 1 or any(t < 1 for t in args.tokens):
        p.error("--steps and --tokens must be positive")
    if args.worker:
        return worker(args)

    header, _, _ = read_header(args.checkpoint)  # fail early, and without torch, on a wrong file
    if not block_names(header):
        p.error(f"{args.checkpoint}: no model.layers.{{i}}.* tensors (write it with synth --workload linear)")
    os.makedirs(args.work_dir, exist_ok=True)
    rows, infos = run_modes(args)
    print(table(rows), flush=True)
    if args.json_out:
        meta = dict(checkpoint=args.checkpoint, checkpoint_bytes=os.path.getsize(args.checkpoint),
                    tokens=args.tokens, steps=args.steps, device=args.device, modes=infos,
                    python=sys.version.split()[0])
        write_json_atomically(args.json_out, {"meta": meta, "rows": rows}, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
