"""CBAM [1] (`nets.attention.cbam_block`): numbers, names and the paper's count.

The generated tests (tests/test_nets_factory.py, tests/test_attention.py)
cross CBAM with every model and check its variables, formula, gradients and
identity start; here it is checked against a NumPy transcription of [1]'s
Eq. 1-3 and against the paper's ResNet-50 parameter count.

[1] Woo et al., CBAM: Convolutional Block Attention Module, ECCV 2018,
    arXiv:1807.06521.
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import numpy as np
import pytest
import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import attention
from nets import resnet_v1
from tests import nets_testutil as util


def _sigmoid(x):
  return 1.0 / (1.0 + np.exp(-x))


def _conv_same(maps, kernel):
  """`maps` [N, H, W, 2] * `kernel` [k, k, 2, 1], SAME padding, stride 1."""
  k = kernel.shape[0]
  pad = k // 2
  padded = np.pad(maps, [(0, 0), (pad, pad), (pad, pad), (0, 0)])
  n, h, w, _ = maps.shape
  out = np.zeros([n, h, w, 1])
  for i in range(h):
    for j in range(w):
      window = padded[:, i:i + k, j:j + k, :]
      out[:, i, j, 0] = np.tensordot(window, kernel[..., 0],
                                     axes=([1, 2, 3], [0, 1, 2]))
  return out


def test_cbam_matches_the_paper_equations():
  rng = np.random.RandomState(0)
  x = rng.normal(size=(3, 6, 5, 8)).astype(np.float32)
  with tf.Graph().as_default():
    out = attention.bind('cbam_block', reduction_ratio=2, kernel_size=3)(
        tf.constant(x))
    variables = {v.op.name: v for v in tf.global_variables()}
    # Non-zero biases, gamma and beta, so every term is exercised.
    values = {n: rng.normal(size=v.shape.as_list()).astype(np.float32)
              for n, v in variables.items() if 'moving' not in n}
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      for n, value in values.items():
        variables[n].load(value, sess)
      got = sess.run(out)
  v = {n[len('cbam/'):]: value for n, value in values.items()}
  assert sorted(v) == [
      'channel/fc1/biases', 'channel/fc1/weights', 'channel/fc2/biases',
      'channel/fc2/weights', 'spatial/conv/BatchNorm/beta',
      'spatial/conv/BatchNorm/gamma', 'spatial/conv/weights']

  def mlp(d):  # shared by both descriptors, [N, C] -> [N, C]
    hidden = np.maximum(d @ v['channel/fc1/weights'][0, 0] +
                        v['channel/fc1/biases'], 0)
    return hidden @ v['channel/fc2/weights'][0, 0] + v['channel/fc2/biases']

  mc = _sigmoid(mlp(x.mean(axis=(1, 2))) + mlp(x.max(axis=(1, 2))))
  f1 = x * mc[:, None, None, :]
  pooled = np.stack([f1.mean(axis=3), f1.max(axis=3)], axis=3)
  conv = _conv_same(pooled, v['spatial/conv/weights'])
  # Batch norm in training mode (slim's default): batch statistics, eps 1e-3.
  normed = (conv - conv.mean()) / np.sqrt(conv.var() + 1e-3)
  ms = _sigmoid(normed * v['spatial/conv/BatchNorm/gamma'] +
                v['spatial/conv/BatchNorm/beta'])
  np.testing.assert_allclose(got, f1 * ms, rtol=1e-4, atol=1e-5)


def test_resnet50_parameter_count_matches_the_paper():
  """[1] Table 4: ResNet50 25.56M, + SE 28.09M, + CBAM 28.09M parameters."""
  ref = util.load_reference('resnet_v1_50')
  # The paper's 1000-class head; the reference has 1001 classes.
  plain = ref['total_params'] - (ref['num_classes'] - 1000) * (2048 + 1)
  channels = [256] * 3 + [512] * 4 + [1024] * 6 + [2048] * 3
  cbam = sum(attention.cbam_param_count(c) for c in channels)
  se = sum(attention.se_param_count(c) for c in channels)
  assert round(plain / 1e6, 2) == 25.56
  assert round((plain + se) / 1e6, 2) == 28.09
  assert round((plain + cbam) / 1e6, 2) == 28.09
  # What CBAM adds over SE: per block a 7x7x2 conv and batch norm's
  # beta and gamma.
  assert cbam - se == 16 * (7 * 7 * 2 + 2)


@pytest.mark.parametrize('kernel_size', [0, 4, -3, 2.0, True, '7'])
def test_bad_kernel_size_raises(kernel_size):
  with pytest.raises(ValueError) as err:
    attention.bind('cbam_block', kernel_size=kernel_size)
  assert repr(kernel_size) in str(err.value)
  assert 'odd positive integer' in str(err.value)


def test_batch_norm_follows_the_model():
  """The spatial batch norm runs in the model's mode with its epsilon."""
  x = np.random.RandomState(1).normal(size=(2, 4, 4, 32)).astype(np.float32)
  with tf.Graph().as_default() as g:
    with slim.arg_scope(resnet_v1.resnet_arg_scope()):  # epsilon 1e-5
      with slim.arg_scope([slim.batch_norm], is_training=False):
        attention.apply_attention('cbam_block', tf.constant(x))
    conv = g.get_tensor_by_name('cbam/spatial/conv/Conv2D:0')
    gate = g.get_tensor_by_name('cbam/spatial/gate:0')
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      conv, gate = sess.run([conv, gate])
  # Inference mode: fresh moving mean 0 and variance 1, gamma 1, beta 0.
  np.testing.assert_allclose(gate, _sigmoid(conv / np.sqrt(1 + 1e-5)),
                             rtol=1e-5, atol=1e-6)
