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

It also loads a trained network exported by `deno task export`
(experiments/export.ts, a safetensors file; no `safetensors` package needed):

    net, config, crop = load_model("m.safetensors")
    f = features(net, crops)   # crops: uint8 [N, H, W, C] -> float32 [N, 160]

and, from the command line,

    python deepid2_torch.py features --weights m.safetensors --crops c.u8 --out f.f32
        [--onnx m.onnx --onnx-out g.f32]
    python deepid2_torch.py export-onnx --weights m.safetensors --out m.onnx

(`c.u8`: raw uint8 crops, [N, H, W, C] row-major; `f.f32`: raw float32 LE
features [N, D]; the ONNX graph takes float32 crops [N, H, W, C] of pixel
values 0..255 as `crops` and gives `features` [N, D]).

Layouts (ours, lib/nn/model.ts and lib/nn/locally_shared.ts -> PyTorch's):
conv<i>/w is [banks, kh * kw * cin, cout] with rows ordered (dy, dx, cin)
and bank r = gi * gw + gj for the block at (gi, gj) of the output map; a
one-bank layer is an ordinary convolution (HWIO -> OIHW), a layer of several
banks is BlockShared below, whose patches come from F.unfold ordered (cin,
dy, dx) and whose banks are row-major over the blocks too. conv<i>/b is
[banks, cout]. deepid2/w is [pool3 + conv4, D] applied as x @ w to pool3 and
conv4 flattened channels-last (h, w, c); PyTorch flattens (c, h, w), so its
rows are permuted. softmax/w is [D, n] (x @ w). Inputs are x / 127.5 - 1.
"""
import argparse
import json
import os
import struct
import sys
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


def default_config(identities):
    """lib/nn/model.ts defaultModelConfig: the paper's network, 55x47 RGB."""
    return {
        "inputShape": [55, 47, 3],
        "conv1": {"filters": 20, "kernel": 4, "region": None},
        "conv2": {"filters": 40, "kernel": 3, "region": None},
        "conv3": {"filters": 60, "kernel": 3, "region": [2, 2]},
        "conv4": {"filters": 80, "kernel": 2, "region": [1, 1]},
        "deepid2Dim": 160,
        "numIdentities": identities,
    }


class DeepID2(nn.Module):
    """The network of a model config (lib/nn/model.ts ModelConfig); the
    default (55x47 RGB -> conv1 52x44, pool 26x22 -> conv2 24x20, pool 12x10
    -> conv3 10x8, pool 5x4 -> conv4 4x3 -> 160) when only `identities` is
    given. Max-pooling floors odd sizes, as ours does."""

    def __init__(self, identities, config=None):
        super().__init__()
        config = config or default_config(identities)
        self.config = config
        h, w, c = config["inputShape"]
        self.shapes = []  # (in_h, in_w, in_c, out_h, out_w) per conv layer
        for i in range(1, 5):
            layer = config[f"conv{i}"]
            k, f = layer["kernel"], layer["filters"]
            oh, ow = h - k + 1, w - k + 1
            if layer["region"] is None:
                mod = nn.Conv2d(c, f, k)
            else:
                mod = BlockShared(c, f, k, h, w, tuple(layer["region"]))
            setattr(self, f"conv{i}", mod)
            self.shapes.append((h, w, c, oh, ow))
            h, w, c = oh, ow, f
            if i < 4:
                h, w = h // 2, w // 2
            if i == 3:
                self.pool3_shape = (h, w, c)
        self.conv4_shape = (h, w, c)
        p3 = self.pool3_shape
        fan_in = p3[0] * p3[1] * p3[2] + h * w * c
        self.deepid2 = nn.Linear(fan_in, config["deepid2Dim"])
        n = config.get("numIdentities", identities)
        self.softmax = nn.Linear(config["deepid2Dim"], n) if n else None

    def features(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        pool3 = F.max_pool2d(F.relu(self.conv3(x)), 2)
        conv4 = F.relu(self.conv4(pool3))
        return F.relu(self.deepid2(torch.cat([pool3.flatten(1), conv4.flatten(1)], 1)))


def load_safetensors(path):
    """Reads a safetensors file with numpy and struct alone: returns
    ({name: float32 array}, {metadata key: string}). F32 tensors only."""
    import numpy as np
    with open(path, "rb") as fh:
        data = fh.read()
    if len(data) < 8:
        raise ValueError(f"{path}: not a safetensors file ({len(data)} bytes)")
    (n,) = struct.unpack("<Q", data[:8])
    if 8 + n > len(data):
        raise ValueError(f"{path}: truncated header ({n} bytes, file {len(data)})")
    header = json.loads(data[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {}) or {}
    start = 8 + n
    tensors = {}
    for name, e in header.items():
        if e["dtype"] != "F32":
            raise ValueError(f"{path}: tensor {name} is {e['dtype']}, only F32 is read")
        b, t = e["data_offsets"]
        if start + t > len(data):
            raise ValueError(f"{path}: truncated (tensor {name})")
        tensors[name] = np.frombuffer(data, dtype="<f4", count=(t - b) // 4,
                                      offset=start + b).reshape(e["shape"]).astype(np.float32)
    return tensors, meta


def _permute_flat_hwc_to_chw(w, shape):
    """Rows of w [h*w*c, D] ordered (h, w, c) -> ordered (c, h, w)."""
    h, ww, c = shape
    return w.reshape(h, ww, c, -1).transpose(2, 0, 1, 3).reshape(h * ww * c, -1)


def load_model(path):
    """A DeepID2 (eval mode) with the weights of a `deno task export` file,
    mapped to PyTorch's layouts (module doc); returns (net, config, crop)."""
    import numpy as np
    tensors, meta = load_safetensors(path)
    if "model_config" not in meta:
        raise ValueError(f"{path}: no model_config in its metadata (not a deno task export file)")
    config = json.loads(meta["model_config"])
    crop = json.loads(meta.get("crop", "null"))
    net = DeepID2(config.get("numIdentities", 0), config)
    state = {}
    for i in range(1, 5):
        w = tensors[f"conv{i}/w"]  # [banks, kh*kw*cin, cout], rows (dy, dx, cin)
        b = tensors[f"conv{i}/b"]  # [banks, cout]
        in_h, in_w, cin, _, _ = net.shapes[i - 1]
        k = config[f"conv{i}"]["kernel"]
        banks, _, cout = w.shape
        w5 = w.reshape(banks, k, k, cin, cout)
        mod = getattr(net, f"conv{i}")
        if isinstance(mod, nn.Conv2d):
            if banks != 1:
                raise ValueError(f"{path}: conv{i} has {banks} banks but no sharing region")
            state[f"conv{i}.weight"] = w5[0].transpose(3, 2, 0, 1)  # HWIO -> OIHW
            state[f"conv{i}.bias"] = b[0]
        else:
            # unfold's patch order is (cin, dy, dx).
            state[f"conv{i}.weight"] = w5.transpose(0, 3, 1, 2, 4).reshape(banks, cin * k * k, cout)
            state[f"conv{i}.bias"] = b.reshape(banks, 1, cout)
    w = tensors["deepid2/w"]  # [pool3 + conv4 (each h, w, c), D]
    p3 = net.pool3_shape
    n3 = p3[0] * p3[1] * p3[2]
    w = np.concatenate([_permute_flat_hwc_to_chw(w[:n3], p3),
                        _permute_flat_hwc_to_chw(w[n3:], net.conv4_shape)], 0)
    state["deepid2.weight"] = w.T
    state["deepid2.bias"] = tensors["deepid2/b"]
    if net.softmax is not None:
        state["softmax.weight"] = tensors["softmax/w"].T
        state["softmax.bias"] = tensors["softmax/b"]
    net.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in state.items()})
    return net.eval(), config, crop


def normalise(crops):
    """uint8 crops [N, H, W, C] -> the network's input [N, C, H, W]: x / 127.5 - 1
    (in float64, then float32, as ours)."""
    import numpy as np
    x = (np.asarray(crops, dtype=np.float64) / 127.5 - 1).astype(np.float32)
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


def features(net, crops, batch=256):
    """DeepID2 features float32 [N, D] of uint8 crops [N, H, W, C]."""
    import numpy as np
    out = []
    with torch.inference_mode():
        for i in range(0, len(crops), batch):
            out.append(net.features(normalise(crops[i:i + batch])).numpy())
    return np.concatenate(out, 0) if out else np.zeros((0, net.config["deepid2Dim"]), np.float32)


class CropFeatures(nn.Module):
    """What the ONNX graph computes: float32 crops [N, H, W, C] of pixel values
    0..255 -> features [N, D]."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, crops):
        return self.net.features((crops / 127.5 - 1).permute(0, 3, 1, 2))


def export_onnx(net, out):
    """Writes the features graph as ONNX (TorchScript exporter, opset 18,
    dynamic batch) via a temp file and a rename."""
    import warnings
    h, w, c = net.config["inputShape"]
    tmp = f"{out}.{os.getpid()}.tmp"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(CropFeatures(net).eval(), (torch.zeros(2, h, w, c),), tmp,
                              input_names=["crops"], output_names=["features"],
                              dynamic_axes={"crops": {0: "n"}, "features": {0: "n"}},
                              opset_version=18, dynamo=False)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def onnx_features(path, crops):
    """Features of uint8 crops [N, H, W, C] by onnxruntime on an exported graph."""
    import numpy as np
    import onnxruntime as ort
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    return sess.run(["features"], {"crops": np.asarray(crops, np.float32)})[0]


def tool_main(argv):
    """The `features` and `export-onnx` subcommands (module doc)."""
    import numpy as np
    ap = argparse.ArgumentParser(prog="deepid2_torch.py " + argv[0])
    ap.add_argument("--weights", required=True, help="a deno task export safetensors file")
    if argv[0] == "features":
        ap.add_argument("--crops", required=True, help="raw uint8 crops [N, H, W, C]")
        ap.add_argument("--out", required=True, help="raw float32 features [N, D]")
        ap.add_argument("--onnx", help="also run this ONNX graph with onnxruntime")
        ap.add_argument("--onnx-out", help="its features, raw float32 [N, D]")
    else:
        ap.add_argument("--out", required=True, help="the ONNX file to write")
    a = ap.parse_args(argv[1:])
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    net, config, _ = load_model(a.weights)
    if argv[0] == "export-onnx":
        export_onnx(net, a.out)
        print(json.dumps({"onnx": a.out, "torch": torch.__version__}))
        return
    h, w, c = config["inputShape"]
    raw = np.fromfile(a.crops, dtype=np.uint8)
    if raw.size % (h * w * c):
        raise ValueError(f"{a.crops}: {raw.size} bytes are not crops of {h}x{w}x{c}")
    crops = raw.reshape(-1, h, w, c)
    features(net, crops).astype("<f4").tofile(a.out)
    if a.onnx:
        onnx_features(a.onnx, crops).astype("<f4").tofile(a.onnx_out)
    print(json.dumps({"n": len(crops), "torch": torch.__version__}))


def main():
    if len(sys.argv) > 1 and sys.argv[1] in ("features", "export-onnx"):
        tool_main(sys.argv[1:])
        return
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
