"""An ONNX file as a PyTorch module, for bench:engine's imported-model workload: the graph
run node by node with torch.nn.functional, its float initializers as parameters (batch
norm statistics as buffers), so PyTorch and Rampart's importer use the same weights.

Covers the ops of fixtures/onnx/cifar-resnet.onnx: Conv (strides, pads, groups,
dilations), Relu, LeakyRelu, Sigmoid, MaxPool, AveragePool, Pad (constant), Add, Concat,
Constant, BatchNormalization (inference mode, as the importer runs it), GlobalAveragePool,
Flatten, Gemm. Anything else raises, naming the op.
"""
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import numpy_helper

BN_STATS = ('running_mean', 'running_var')


def _attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


class OnnxModule(nn.Module):
    def __init__(self, path):
        super().__init__()
        model = onnx.load(path)
        self.nodes = list(model.graph.node)
        self.input_name = model.graph.input[0].name
        self.output_name = model.graph.output[0].name
        self.names = {}
        stats = set()
        for n in self.nodes:
            if n.op_type == 'BatchNormalization':
                stats.update(n.input[3:5])
        for i, init in enumerate(model.graph.initializer):
            t = torch.from_numpy(numpy_helper.to_array(init).copy())
            key = f'w{i}'
            self.names[init.name] = key
            if init.name in stats or not t.is_floating_point():
                self.register_buffer(key, t)
            else:
                self.register_parameter(key, nn.Parameter(t.float()))

    def _get(self, env, name):
        if name in env:
            return env[name]
        return getattr(self, self.names[name])

    def forward(self, x):
        env = {self.input_name: x}
        for n in self.nodes:
            a = _attrs(n)
            ins = [self._get(env, i) if i else None for i in n.input]
            op = n.op_type
            if op == 'Conv':
                p = a.get('pads', [0, 0, 0, 0])
                assert p[0] == p[2] and p[1] == p[3], 'asymmetric conv pads'
                y = F.conv2d(ins[0], ins[1], ins[2] if len(ins) > 2 else None, a.get('strides', [1, 1]), (p[0], p[1]),
                             a.get('dilations', [1, 1]), a.get('group', 1))
            elif op == 'Relu':
                y = F.relu(ins[0])
            elif op == 'LeakyRelu':
                y = F.leaky_relu(ins[0], a.get('alpha', 0.01))
            elif op == 'Sigmoid':
                y = torch.sigmoid(ins[0])
            elif op == 'MaxPool':
                p = a.get('pads', [0, 0, 0, 0])
                y = F.max_pool2d(ins[0], a['kernel_shape'], a.get('strides', [1, 1]), (p[0], p[1]), ceil_mode=bool(a.get('ceil_mode', 0)))
            elif op == 'AveragePool':
                p = a.get('pads', [0, 0, 0, 0])
                y = F.avg_pool2d(ins[0], a['kernel_shape'], a.get('strides', [1, 1]), (p[0], p[1]), ceil_mode=bool(a.get('ceil_mode', 0)),
                                 count_include_pad=bool(a.get('count_include_pad', 0)))
            elif op == 'Pad':
                pads = [int(v) for v in ins[1].tolist()]
                half = len(pads) // 2
                torch_pads = []
                for d in reversed(range(half)):
                    torch_pads += [pads[d], pads[d + half]]
                y = F.pad(ins[0], torch_pads, value=float(ins[2]) if len(ins) > 2 and ins[2] is not None else 0.0)
            elif op == 'Add':
                y = ins[0] + ins[1]
            elif op == 'Concat':
                y = torch.cat(ins, dim=a['axis'])
            elif op == 'Constant':
                y = torch.from_numpy(numpy_helper.to_array(a['value']).copy())
            elif op == 'BatchNormalization':
                y = F.batch_norm(ins[0], ins[3], ins[4], ins[1], ins[2], False, 0.0, a.get('epsilon', 1e-5))
            elif op == 'GlobalAveragePool':
                y = F.adaptive_avg_pool2d(ins[0], 1)
            elif op == 'Flatten':
                y = torch.flatten(ins[0], a.get('axis', 1))
            elif op == 'Gemm':
                b = ins[1].t() if a.get('transB', 0) else ins[1]
                A = ins[0].t() if a.get('transA', 0) else ins[0]
                y = a.get('alpha', 1.0) * (A @ b)
                if len(ins) > 2 and ins[2] is not None:
                    y = y + a.get('beta', 1.0) * ins[2]
            else:
                raise NotImplementedError(f'ONNX op {op} (node {n.name}) is not covered by scripts/torch_onnx.py')
            env[n.output[0]] = y
        return env[self.output_name]
