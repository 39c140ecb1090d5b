"""The CIFAR-shaped nets of `bench:engine` in PyTorch, and their weights for the TF.js side.

  resnet20        ResNet-20 (He et al. 2016, CIFAR): a 3x3-16 stem, three stages of three
                  basic blocks (16, 32, 64 channels; stride 2 at the start of stages 2 and 3,
                  1x1 strided projection shortcuts), batch norm, global average pool, dense.
  mobilenet-lite  a 3x3-32 stem and five MobileNet-v1 blocks (depthwise 3x3 + BN + ReLU,
                  pointwise 1x1 + BN + ReLU; 64, 128/s2, 128, 256/s2, 256), GAP, dense.

Module attribute names are the TF.js layer names of src/models/cnn-zoo.ts, so a weight
`s2b1_conv1.weight` is the TF.js variable `s2b1_conv1/kernel`. Strided 3x3 convs pad 1 on
every side (PyTorch's usual form); TF.js pads explicitly to match.

`python3 scripts/torch_nets.py --net resnet20|mobilenet-lite|onnx:PATH --out DIR [--seed 1]` writes DIR/weights.bin
and DIR/weights.json: every weight in TF.js layout (HWIO kernels, [kh, kw, C, 1] depthwise
kernels, [in, out] dense kernels) plus a parity probe: an input `x` (NCHW), the logits in
eval mode (`logits_eval`) and in training mode (`logits_train`, batch statistics), and the
eval-mode gradient of the summed cross-entropy with respect to `x` (`grad_x`).
"""
import argparse
import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

NETS = ('resnet20', 'mobilenet-lite')


def bn(c):
    return nn.BatchNorm2d(c, eps=1e-5, momentum=0.1)


class ResNet20(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.stem_conv = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.stem_bn = bn(16)
        self.blocks = []
        cin = 16
        for s in range(1, 4):
            cout = 16 * 2 ** (s - 1)
            for b in range(1, 4):
                stride = 2 if s > 1 and b == 1 else 1
                p = f's{s}b{b}'
                setattr(self, f'{p}_conv1', nn.Conv2d(cin, cout, 3, stride, 1, bias=False))
                setattr(self, f'{p}_bn1', bn(cout))
                setattr(self, f'{p}_conv2', nn.Conv2d(cout, cout, 3, 1, 1, bias=False))
                setattr(self, f'{p}_bn2', bn(cout))
                short = stride != 1 or cin != cout
                if short:
                    setattr(self, f'{p}_short', nn.Conv2d(cin, cout, 1, stride, 0, bias=False))
                    setattr(self, f'{p}_short_bn', bn(cout))
                self.blocks.append((p, short))
                cin = cout
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        x = F.relu(self.stem_bn(self.stem_conv(x)))
        for p, short in self.blocks:
            m = lambda n: getattr(self, f'{p}_{n}')  # noqa: E731
            y = F.relu(m('bn1')(m('conv1')(x)))
            y = m('bn2')(m('conv2')(y))
            x = F.relu(y + (m('short_bn')(m('short')(x)) if short else x))
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


MOBILE_BLOCKS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1))


class MobileNetLite(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.stem_conv = nn.Conv2d(3, 32, 3, 1, 1, bias=False)
        self.stem_bn = bn(32)
        cin = 32
        for i, (cout, stride) in enumerate(MOBILE_BLOCKS, 1):
            setattr(self, f'd{i}_dw', nn.Conv2d(cin, cin, 3, stride, 1, groups=cin, bias=False))
            setattr(self, f'd{i}_dwbn', bn(cin))
            setattr(self, f'd{i}_pw', nn.Conv2d(cin, cout, 1, 1, 0, bias=False))
            setattr(self, f'd{i}_pwbn', bn(cout))
            cin = cout
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        x = F.relu(self.stem_bn(self.stem_conv(x)))
        for i in range(1, len(MOBILE_BLOCKS) + 1):
            m = lambda n: getattr(self, f'd{i}_{n}')  # noqa: E731
            x = F.relu(m('dwbn')(m('dw')(x)))
            x = F.relu(m('pwbn')(m('pw')(x)))
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


def build(net, seed=1, classes=10):
    """The net with seeded weights and randomised batch-norm statistics (so eval mode is not the identity)."""
    torch.manual_seed(seed)
    model = ResNet20(classes) if net == 'resnet20' else MobileNetLite(classes)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            with torch.no_grad():
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.8, 1.2)
                m.weight.uniform_(0.8, 1.2)
                m.bias.uniform_(-0.1, 0.1)
    return model


def tfjs_weights(model):
    """(name, array) in TF.js layouts, named `layer/kind` as TF.js names its variables."""
    out = []
    for key, value in model.state_dict().items():
        layer, kind = key.rsplit('.', 1)
        if kind == 'num_batches_tracked':
            continue
        mod = dict(model.named_modules())[layer]
        v = value.detach().float().clone()
        if isinstance(mod, nn.Conv2d):
            if mod.groups > 1:  # depthwise [C, 1, kh, kw] -> [kh, kw, C, 1]
                out.append((f'{layer}/depthwise_kernel', v.permute(2, 3, 0, 1)))
            else:
                out.append((f'{layer}/kernel', v.permute(2, 3, 1, 0)))
        elif isinstance(mod, nn.Linear):
            out.append((f'{layer}/{"kernel" if kind == "weight" else "bias"}', v.t() if kind == 'weight' else v))
        else:
            name = {'weight': 'gamma', 'bias': 'beta', 'running_mean': 'moving_mean', 'running_var': 'moving_variance'}[kind]
            out.append((f'{layer}/{name}', v))
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--net', required=True, help=f'{", ".join(NETS)} or onnx:PATH')
    parser.add_argument('--out', required=True)
    parser.add_argument('--seed', type=int, default=1)
    args = parser.parse_args()
    if args.net.startswith('onnx:'):
        # The TF.js side imports the same ONNX file, so only the probe is written; the
        # importer runs batch norm in inference mode, so `logits_train` is eval mode too.
        from torch_onnx import OnnxModule
        model, entries = OnnxModule(args.net[5:]), []
    else:
        model = build(args.net, args.seed)
        entries = tfjs_weights(model)
    torch.manual_seed(args.seed + 100)
    x = torch.rand(4, 3, 32, 32)
    y = torch.arange(4) % 10
    model.eval()
    xg = x.clone().requires_grad_(True)
    logits_eval = model(xg)
    (grad_x,) = torch.autograd.grad(F.cross_entropy(logits_eval, y, reduction='sum'), [xg])
    model.train()
    with torch.no_grad():
        logits_train = model(x)
    probe = [('x', x), ('y', y.float()), ('logits_eval', logits_eval.detach()), ('logits_train', logits_train), ('grad_x', grad_x)]
    os.makedirs(args.out, exist_ok=True)
    manifest, blobs, offset = [], [], 0
    for name, t in entries + probe:
        data = t.contiguous().numpy().astype('<f4').tobytes()
        manifest.append({'name': name, 'shape': list(t.shape), 'offset': offset})
        blobs.append(data)
        offset += len(data)
    with open(os.path.join(args.out, 'weights.bin'), 'wb') as f:
        f.write(b''.join(blobs))
    with open(os.path.join(args.out, 'weights.json'), 'w') as f:
        json.dump({'net': args.net, 'seed': args.seed, 'entries': manifest}, f)
    print(json.dumps({'net': args.net, 'weights': len(entries), 'bytes': offset}))
    return 0


if __name__ == '__main__':
    sys.exit(main())
