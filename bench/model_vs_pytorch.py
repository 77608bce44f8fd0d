#!/usr/bin/python3
"""Whole-model inference: qualm float / int8 against PyTorch float / quantized, images per second.

Issue 11's whole-model rows: "whole int8 ResNet-20 >= 3x qualm float and >= 1.2x
PyTorch's quantized model (onednn engine)". For each architecture (ResNet-20,
LeNet-5; 28x28x1 Fashion-MNIST inputs), thread count and batch this prints the
images/s of

  qualm float, fast backend          bench/bench_whole_model on a `qualm train` model
  qualm int8, fast backend           ... on its `qualm quantize --scheme int8` model
  qualm int8, onednn backend         (oneDNN s32 accumulators + qualm's requantization)
  PyTorch float                      the module bench/train_vs_pytorch.py defines, eval mode
  PyTorch quantized                  eager-mode static PTQ of the same module (fused
                                     conv+bn+relu, bn+relu, quantized add), engine 'onednn'

as a Markdown table with the ratios the issue's goals name. Speed only: the
qualm models are trained for one short epoch and the PyTorch ones are randomly
initialized and calibrated on 256 test images (weights do not change the work,
only the architecture, batch and threads do, and those match).

Clocks: 1-thread rows are CPU time (qualm: Google Benchmark's thread CPU time;
PyTorch: time.process_time(), the process's CPU time), which stays meaningful on
a shared machine; rows with more threads are wall-clock time on both sides.
Every timed call runs the model on the first <batch> Fashion-MNIST test images,
inputs already in memory (qualm: float NHWC; PyTorch: float NCHW tensors); the
PyTorch quantized model includes its QuantStub (input quantization) as qualm's
int8 model does.

    /usr/bin/python3 bench/model_vs_pytorch.py --qualm build/release/qualm \
        --bench build/release/bench/bench_whole_model [--threads 1 --threads 2] [--min-time 2]

On a machine shared with other busy processes, run the 2-thread rows with
OMP_WAIT_POLICY=PASSIVE in the environment (both qualm and PyTorch use OpenMP,
whose spinning threads otherwise collapse when a core is taken); the table
header says which policy was in effect.

Fails (exit 1, with a message) if torch, the qualm binary or the benchmark
binary is missing, or if any step fails.
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FASHION = os.environ.get("QUALM_FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")
ARCHS = ("resnet20", "lenet5")


def fail(msg):
    print(f"model_vs_pytorch.py: {msg}", file=sys.stderr)
    sys.exit(1)


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        fail(f"`{' '.join(cmd)}` exited with {r.returncode}:\n{r.stderr.strip()}")
    return r.stdout


# --------------------------------------------------------------------------- qualm


def qualm_models(qualm, arch, work, limit):
    """Trains one short epoch and quantizes: (float path, int8 path)."""
    fp, q8 = os.path.join(work, f"{arch}.qm"), os.path.join(work, f"{arch}.int8.qm")
    if not os.path.exists(fp):
        run([qualm, "train", "--arch", arch, "--data", "fashion-mnist", "--epochs", "1", "--limit", str(limit),
             "--no-validation", "--seed", "1", "--threads", "1", "-q", "-o", fp])
    if not os.path.exists(q8):
        run([qualm, "quantize", fp, "--scheme", "int8", "-q", "-o", q8])
    return fp, q8


def qualm_rates(bench, models, backends, threads, batches, min_time):
    """{(name, backend, threads, batch): (images/s, label)} from bench_whole_model's JSON."""
    cmd = [bench, f"--backends={','.join(backends)}", f"--threads={','.join(map(str, threads))}",
           f"--batches={','.join(map(str, batches))}", "--benchmark_format=json",
           f"--benchmark_min_time={min_time}"] + [f"--model={n}={p}" for n, p in models]
    report = json.loads(run(cmd))
    out = {}
    for b in report["benchmarks"]:
        if b.get("error_occurred"):
            fail(f"{b['name']}: {b.get('error_message')}")
        _, name, backend, t, batch = b["name"].split("/")[:5]
        # items_per_second uses the row's clock: CPU time, or wall time for UseRealTime rows.
        out[(name, backend, int(t.split(":")[1]), int(batch.split(":")[1]))] = (b["items_per_second"], b["label"])
    return out, report["context"]


# --------------------------------------------------------------------------- PyTorch


def pytorch_modules(torch):
    """Quantizable copies of train_vs_pytorch.py's modules: the same layers under the
    same state_dict keys (checked by loading one into the other), plus the stubs,
    named ReLUs and FloatFunctional add that eager-mode quantization needs."""
    nn = torch.nn
    sys.path.insert(0, HERE)
    import train_vs_pytorch  # noqa: E402  (the architectures of the training comparison)

    reference = train_vs_pytorch.torch_models(torch)

    class QLeNet5(nn.Module):
        def __init__(self):
            super().__init__()
            self.quant, self.dequant = torch.quantization.QuantStub(), torch.quantization.DeQuantStub()
            self.f = reference["lenet5"]().f  # same Sequential: conv, relu, pool, ..., linear

        def forward(self, x):
            return self.dequant(self.f(self.quant(x)))

        def fuse(self):
            torch.quantization.fuse_modules(self.f, [["0", "1"], ["3", "4"], ["7", "8"], ["9", "10"]], inplace=True)

    class QBlock(nn.Module):  # train_vs_pytorch's pre-activation Block
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.bn1 = nn.BatchNorm2d(cin)
            self.relu1 = nn.ReLU()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.relu2 = nn.ReLU()
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.proj = nn.Conv2d(cin, cout, 1, stride, bias=False) if (stride != 1 or cin != cout) else None
            self.skip_add = nn.quantized.FloatFunctional()

        def forward(self, x):
            a = self.relu1(self.bn1(x))
            shortcut = self.proj(a) if self.proj is not None else x
            y = self.conv2(self.relu2(self.bn2(self.conv1(a))))
            return self.skip_add.add(y, shortcut)

        def fuse(self):
            torch.quantization.fuse_modules(self, [["bn1", "relu1"], ["conv1", "bn2", "relu2"]], inplace=True)

    class QResNet20(nn.Module):
        def __init__(self):
            super().__init__()
            self.quant, self.dequant = torch.quantization.QuantStub(), torch.quantization.DeQuantStub()
            layers, cin = [nn.Conv2d(1, 16, 3, 1, 1, bias=False)], 16
            for stage, width in enumerate((16, 32, 64)):
                for block in range(3):
                    layers.append(QBlock(cin, width, 2 if stage > 0 and block == 0 else 1))
                    cin = width
            layers += [nn.BatchNorm2d(64), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10)]
            self.f = nn.Sequential(*layers)

        def forward(self, x):
            return self.dequant(self.f(self.quant(x)))

        def fuse(self):
            for m in self.f:
                if isinstance(m, QBlock):
                    m.fuse()
            last_bn = str(len(self.f) - 5)
            torch.quantization.fuse_modules(self.f, [[last_bn, str(len(self.f) - 4)]], inplace=True)

    return reference, {"lenet5": QLeNet5, "resnet20": QResNet20}


def pytorch_models(torch, arch, engine, calibration):
    """(float module, quantized module), both in eval mode."""
    reference, quantizable = pytorch_modules(torch)
    torch.manual_seed(1)
    fp = reference[arch]().eval()
    qm = quantizable[arch]()
    qm.load_state_dict(fp.state_dict(), strict=True)  # same layers, same names: the same architecture
    qm.eval()
    qm.fuse()
    qm.qconfig = torch.quantization.get_default_qconfig(engine)
    torch.quantization.prepare(qm, inplace=True)
    with torch.no_grad():
        for i in range(0, len(calibration), 64):
            qm(calibration[i:i + 64])
    torch.quantization.convert(qm, inplace=True)
    return fp, qm


def pytorch_rate(torch, model, x, threads, min_time):
    """Images/s: process CPU time for 1 thread, wall time otherwise."""
    torch.set_num_threads(threads)
    clock = time.process_time if threads == 1 else time.perf_counter
    with torch.no_grad():
        for _ in range(3):
            model(x)
        iters, start = 0, clock()
        while True:
            model(x)
            iters += 1
            elapsed = clock() - start
            if elapsed >= min_time and iters >= 3:
                return iters * len(x) / elapsed


def read_images(n):
    sys.path.insert(0, HERE)
    import train_vs_pytorch  # noqa: E402
    dims, pixels = train_vs_pytorch.read_idx(os.path.join(FASHION, "t10k-images-idx3-ubyte.gz"))
    n = min(n, dims[0])
    return n, pixels[:n * 28 * 28]


# --------------------------------------------------------------------------- main


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--qualm", default="build/release/qualm")
    ap.add_argument("--bench", default=None, help="bench_whole_model (default: bench/ next to --qualm)")
    ap.add_argument("--arch", action="append", choices=ARCHS)
    ap.add_argument("--threads", action="append", type=int)
    ap.add_argument("--batch", action="append", type=int)
    ap.add_argument("--min-time", type=float, default=2.0, help="seconds per timed row (both sides)")
    ap.add_argument("--limit", type=int, default=2000, help="training images of the qualm models' one epoch")
    ap.add_argument("--work", default=None, help="keep the qualm model files here (default: a temporary folder)")
    args = ap.parse_args()
    try:
        import torch
    except ImportError:
        fail("python3-torch is not installed (apt-get install python3-torch); it is needed for this script only")
    bench = args.bench or os.path.join(os.path.dirname(args.qualm), "bench", "bench_whole_model")
    for what, path in (("qualm binary", args.qualm), ("benchmark binary", bench)):
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            fail(f"{what} not found or not executable: {path} (build it: cmake -DQUALM_BUILD_BENCH=ON, "
                 "ninja qualm bench_whole_model)")
    if not os.path.exists(os.path.join(FASHION, "t10k-images-idx3-ubyte.gz")):
        fail(f"Fashion-MNIST not found in {FASHION} (apt-get install dataset-fashion-mnist, or set "
             "QUALM_FASHION_MNIST_DIR)")
    engines = torch.backends.quantized.supported_engines
    engine = "onednn" if "onednn" in engines else "fbgemm" if "fbgemm" in engines else None
    if engine is None:
        fail(f"this PyTorch has neither the onednn nor the fbgemm quantized engine ({engines})")
    torch.backends.quantized.engine = engine
    archs, threads, batches = args.arch or list(ARCHS), args.threads or [1, 2], args.batch or [1, 64]

    n, pixels = read_images(max(max(batches), 256))
    images = torch.frombuffer(bytearray(pixels), dtype=torch.uint8).reshape(n, 1, 28, 28).float() / 255.0
    load_before = os.getloadavg()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or tmp
        os.makedirs(work, exist_ok=True)
        for arch in archs:
            fp, q8 = qualm_models(args.qualm, arch, work, args.limit)
            q_float, context = qualm_rates(bench, [("float", fp)], ["fast"], threads, batches, args.min_time)
            q_int8, _ = qualm_rates(bench, [("int8", q8)], ["fast", "onednn"], threads, batches, args.min_time)
            t_float, t_quant = pytorch_models(torch, arch, engine, images[:256])
            for t in threads:
                for b in batches:
                    x = images[:b]
                    r = {"arch": arch, "threads": t, "batch": b,
                         "qualm_float": q_float[("float", "fast", t, b)][0],
                         "qualm_int8_fast": q_int8[("int8", "fast", t, b)][0],
                         "qualm_int8_onednn": q_int8[("int8", "onednn", t, b)][0],
                         "torch_float": pytorch_rate(torch, t_float, x, t, args.min_time),
                         "torch_quant": pytorch_rate(torch, t_quant, x, t, args.min_time),
                         "labels": {k: q[(n_, be, t, b)][1] for k, q, n_, be in (
                             ("float", q_float, "float", "fast"), ("int8 fast", q_int8, "int8", "fast"),
                             ("int8 onednn", q_int8, "int8", "onednn"))}}
                    rows.append(r)
                    print(f"{arch} threads {t} batch {b}: done", file=sys.stderr, flush=True)
    load_after = os.getloadavg()

    print(f"CPU: {context.get('qualm_cpu', platform.processor())}; {os.cpu_count()} hardware threads; "
          f"load average (1/5/15 min) {load_before[0]:.2f}/{load_before[1]:.2f}/{load_before[2]:.2f} before, "
          f"{load_after[0]:.2f}/{load_after[1]:.2f}/{load_after[2]:.2f} after")
    print(f"PyTorch {torch.__version__}, quantized engine '{engine}'; qualm int8 GEMM "
          f"{context.get('qualm_int8_gemm_path')}, float GEMM {context.get('qualm_gemm_path')}")
    print(f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '(unset)')} (both sides use OpenMP); "
          "1-thread rows: CPU time; 2-thread rows: wall time. Images/s; ratios > 1 mean qualm int8 fast is faster.\n")
    print("| model | threads | batch | qualm float (fast) | qualm int8 (fast) | qualm int8 (onednn) | PyTorch float "
          f"| PyTorch quantized ({engine}) | int8 fast / qualm float | int8 fast / PyTorch quantized |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['arch']} | {r['threads']} | {r['batch']} | {r['qualm_float']:,.0f} | {r['qualm_int8_fast']:,.0f} "
              f"| {r['qualm_int8_onednn']:,.0f} | {r['torch_float']:,.0f} | {r['torch_quant']:,.0f} "
              f"| {r['qualm_int8_fast'] / r['qualm_float']:.2f}x | {r['qualm_int8_fast'] / r['torch_quant']:.2f}x |")
    print("\nqualm paths:")
    for label in sorted({v for r in rows for v in r["labels"].values()}):
        print(f"- {label}")


if __name__ == "__main__":
    main()
