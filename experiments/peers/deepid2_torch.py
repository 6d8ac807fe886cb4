"""A PyTorch yardstick for `deno task bench --vs-pytorch`: the same DeepID2
network as lib/nn/model.ts `defaultModelConfig` and the same joint training
step, timed the same way, so the speed ratio is measured in one run.

Network (55x47x3 input): conv1 4x4x20 and conv2 3x3x40, each ReLU + 2x2 max
pooling; conv3 3x3x60 with weights shared inside 2x2 blocks of output
positions, ReLU, pooling; conv4 2x2x80 unshared (one filter bank per output
position), ReLU; DeepID2 layer of 160 ReLU units on pool3 and conv4; a softmax
over `--identities`. One step on a batch of pairs: cross-entropy of both
faces plus 0.05 x the L2 verification loss (1/2 d^2 for same, 1/2
max(0, m - d)^2 for different pairs), backward, SGD with momentum 0.9 and
weight decay 5e-4. Random inputs: throughput only.

Prints one JSON line: peer, torch version, threads, batch, train_img_per_s,
extract_img_per_s.
"""
import argparse
import json
import time

import torch
from torch import nn
from torch.nn import functional as F


class BlockShared(nn.Module):
    """A convolution whose filters differ between blocks of output positions.

    block = (bh, bw): one filter bank per bh x bw block of the output map;
    block = (1, 1) is an unshared (locally connected) layer.
    """

    def __init__(self, c_in, c_out, k, in_h, in_w, block):
        super().__init__()
        self.k = k
        self.out_h, self.out_w = in_h - k + 1, in_w - k + 1
        self.bh, self.bw = block
        self.nh, self.nw = self.out_h // self.bh, self.out_w // self.bw
        fan_in = c_in * k * k
        banks = self.nh * self.nw
        self.weight = nn.Parameter(torch.randn(banks, fan_in, c_out) * (2.0 / fan_in) ** 0.5)
        self.bias = nn.Parameter(torch.zeros(banks, 1, c_out))

    def forward(self, x):
        n = x.shape[0]
        cols = F.unfold(x, self.k)  # [n, fan_in, out_h * out_w]
        fan_in = cols.shape[1]
        cols = cols.view(n, fan_in, self.nh, self.bh, self.nw, self.bw)
        # -> [banks, n * bh * bw, fan_in]: every bank's patches side by side.
        cols = cols.permute(2, 4, 0, 3, 5, 1).reshape(self.nh * self.nw, -1, fan_in)
        out = torch.baddbmm(self.bias, cols, self.weight)  # [banks, n*bh*bw, c_out]
        c_out = out.shape[-1]
        out = out.view(self.nh, self.nw, n, self.bh, self.bw, c_out)
        return out.permute(2, 5, 0, 3, 1, 4).reshape(n, c_out, self.out_h, self.out_w)


class DeepID2(nn.Module):
    def __init__(self, identities):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 20, 4)  # 55x47 -> 52x44, pool 26x22
        self.conv2 = nn.Conv2d(20, 40, 3)  # -> 24x20, pool 12x10
        self.conv3 = BlockShared(40, 60, 3, 12, 10, (2, 2))  # -> 10x8, pool 5x4
        self.conv4 = BlockShared(60, 80, 2, 5, 4, (1, 1))  # -> 4x3
        self.deepid2 = nn.Linear(60 * 5 * 4 + 80 * 4 * 3, 160)
        self.softmax = nn.Linear(160, identities)

    def features(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        pool3 = F.max_pool2d(F.relu(self.conv3(x)), 2)
        conv4 = F.relu(self.conv4(pool3))
        return F.relu(self.deepid2(torch.cat([pool3.flatten(1), conv4.flatten(1)], 1)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--identities", type=int, default=1000)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--kernels", type=int, default=0,
                    help="profile the timed steps and print the N ops with the most self CPU time")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(7)
    net = DeepID2(a.identities)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    x = torch.rand(a.batch, 3, 55, 47) * 255
    labels = torch.randint(0, a.identities, (a.batch,))
    same = (torch.arange(a.batch // 2) % 2 == 0).float()  # half same, half different pairs

    def step():
        f = net.features(x)
        ident = F.cross_entropy(net.softmax(f), labels)
        d = (f[0::2] - f[1::2]).pow(2).sum(1).clamp_min(1e-12).sqrt()
        verif = 0.5 * (same * d.pow(2) + (1 - same) * F.relu(1.0 - d).pow(2)).mean()
        opt.zero_grad(set_to_none=True)
        (ident + 0.05 * verif).backward()
        opt.step()

    for _ in range(2):  # warm-up, as the Deno bench
        step()
    if a.kernels:
        # Self time per op (children excluded), as `bench --kernels` reports ours.
        from torch.profiler import ProfilerActivity, profile
        t = time.perf_counter()
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(a.steps):
                step()
        wall = (time.perf_counter() - t) * 1000 / a.steps
        ops = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)
        print(json.dumps({
            "peer": "pytorch",
            "torch": torch.__version__,
            "threads": a.threads,
            "batch": a.batch,
            "step_ms": round(wall, 2),
            "kernels": [
                {"name": e.key, "calls_per_step": e.count / a.steps,
                 "ms_per_step": round(e.self_cpu_time_total / 1000 / a.steps, 3)}
                for e in ops[:a.kernels]
            ],
            "kernel_ms_per_step": round(
                sum(e.self_cpu_time_total for e in ops) / 1000 / a.steps, 2),
        }))
        return
    t = time.perf_counter()
    for _ in range(a.steps):
        step()
    train = a.steps * a.batch / (time.perf_counter() - t)
    big = torch.rand(1024, 3, 55, 47) * 255
    with torch.inference_mode():
        net.features(big[:256])
        t = time.perf_counter()
        for i in range(0, 1024, 256):
            net.features(big[i:i + 256])
        extract = 1024 / (time.perf_counter() - t)
    print(json.dumps({
        "peer": "pytorch",
        "torch": torch.__version__,
        "threads": a.threads,
        "batch": a.batch,
        "train_img_per_s": round(train, 1),
        "extract_img_per_s": round(extract, 1),
    }))


if __name__ == "__main__":
    main()
