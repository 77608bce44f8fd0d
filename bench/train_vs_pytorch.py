#!/usr/bin/python3
"""Training speed: qualm against PyTorch on the same recipe, machine and thread count.

Issue 11 asks for a LeNet-5 epoch and a ResNet-20 epoch no slower than PyTorch
(Debian's python3-torch 1.13, used by this script only; qualm never links it).
Both sides train the zoo architecture from engine/src/zoo.cpp with the recipe of
study/src/recipes.cpp (SGD, Nesterov momentum 0.9, weight decay 5e-4; LeNet-5
batch 64, ResNet-20 batch 128 with flip + 2-pixel shift augmentation) on the
first N Fashion-MNIST training images, one epoch, no validation pass, and the
script prints images per second and the ratio qualm / PyTorch as Markdown.

Only the epoch's training loop is timed on both sides: qualm's own per-epoch
"seconds" from `qualm train --json`, and for PyTorch the loop over batches
(data already in memory as float tensors, like qualm's loader leaves them).

    /usr/bin/python3 bench/train_vs_pytorch.py --qualm build/release/qualm \
        --arch lenet5 --arch resnet20 --threads 1 --threads 2 --limit 10000
"""
import argparse
import gzip
import json
import os
import platform
import struct
import subprocess
import sys
import tempfile
import time

FASHION = os.environ.get("QUALM_FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")
RECIPES = {  # mirrors study/src/recipes.cpp: DefaultRecipe
    "lenet5": {"batch": 64, "lr": 0.05, "flip": False, "shift": 0},
    "resnet20": {"batch": 128, "lr": 0.1, "flip": True, "shift": 2},
}


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return dims, data[4 + 4 * ndim:]


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def torch_models(torch):
    nn = torch.nn

    class LeNet5(nn.Module):
        def __init__(self):
            super().__init__()
            self.f = nn.Sequential(
                nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))

        def forward(self, x):
            return self.f(x)

    class Block(nn.Module):  # pre-activation block as in zoo.cpp ResNet20
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.bn1 = nn.BatchNorm2d(cin)
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.proj = nn.Conv2d(cin, cout, 1, stride, bias=False) if (stride != 1 or cin != cout) else None

        def forward(self, x):
            a = torch.relu(self.bn1(x))
            shortcut = self.proj(a) if self.proj is not None else x
            y = self.conv2(torch.relu(self.bn2(self.conv1(a))))
            return y + shortcut

    class ResNet20(nn.Module):
        def __init__(self):
            super().__init__()
            layers, cin = [nn.Conv2d(1, 16, 3, 1, 1, bias=False)], 16
            for stage, width in enumerate((16, 32, 64)):
                for block in range(3):
                    layers.append(Block(cin, width, 2 if stage > 0 and block == 0 else 1))
                    cin = width
            layers += [nn.BatchNorm2d(64), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10)]
            self.f = nn.Sequential(*layers)

        def forward(self, x):
            return self.f(x)

    return {"lenet5": LeNet5, "resnet20": ResNet20}


def pytorch_epoch(arch, threads, limit, seed):
    import torch
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    dims, pixels = read_idx(os.path.join(FASHION, "train-images-idx3-ubyte.gz"))
    _, labels = read_idx(os.path.join(FASHION, "train-labels-idx1-ubyte.gz"))
    n = min(limit, dims[0])
    x = torch.frombuffer(bytearray(pixels[:n * 784]), dtype=torch.uint8).reshape(n, 1, 28, 28).float() / 255.0
    y = torch.frombuffer(bytearray(labels[:n]), dtype=torch.uint8).long()
    r = RECIPES[arch]
    model = torch_models(torch)[arch]()
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=r["lr"], momentum=0.9, nesterov=True, weight_decay=5e-4)
    loss_fn = torch.nn.CrossEntropyLoss()
    start = time.perf_counter()
    perm = torch.randperm(n)
    for i in range(0, n, r["batch"]):
        idx = perm[i:i + r["batch"]]
        xb, yb = x[idx], y[idx]
        if r["flip"]:
            flip = torch.rand(len(idx)) < 0.5
            xb[flip] = xb[flip].flip(3)
        if r["shift"]:
            s = r["shift"]
            dx, dy = [int(v) for v in torch.randint(-s, s + 1, (2,))]
            xb = torch.roll(torch.nn.functional.pad(xb, (s, s, s, s)), (dy, dx), (2, 3))[:, :, s:s + 28, s:s + 28]
        opt.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
    return n, time.perf_counter() - start, torch.__version__


def qualm_epoch(qualm, arch, threads, limit, seed):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "m.qm")
        cmd = [qualm, "train", "--arch", arch, "--epochs", "1", "--limit", str(limit), "--no-validation",
               "--threads", str(threads), "--seed", str(seed), "--no-resume", "-o", out, "--json", "-q"]
        report = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    return report["history"][0]["seconds"], report.get("path", "?")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--qualm", default="build/release/qualm")
    ap.add_argument("--arch", action="append", choices=sorted(RECIPES))
    ap.add_argument("--threads", action="append", type=int)
    ap.add_argument("--limit", type=int, default=10000, help="training images per epoch (both sides)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    try:
        import torch  # noqa: F401
    except ImportError:
        sys.exit("python3-torch is not installed (apt-get install python3-torch); it is needed for this script only")
    archs, threads = args.arch or ["lenet5"], args.threads or [1, 2]
    print(f"CPU: {cpu_name()}; {args.limit} Fashion-MNIST training images, one epoch, no validation\n")
    print("| arch | threads | qualm img/s | PyTorch img/s | qualm / PyTorch | qualm path |")
    print("|---|---|---|---|---|---|")
    for arch in archs:
        for t in threads:
            q_s, path = qualm_epoch(args.qualm, arch, t, args.limit, args.seed)
            n, p_s, version = pytorch_epoch(arch, t, args.limit, args.seed)
            print(f"| {arch} | {t} | {n / q_s:,.0f} | {n / p_s:,.0f} | {p_s / q_s:.2f}x | {path} |", flush=True)
    print(f"\nPyTorch {version}; ratio > 1 means qualm is faster.")


if __name__ == "__main__":
    main()
