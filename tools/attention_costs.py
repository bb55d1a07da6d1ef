r"""Prints what each attention module adds to each model: parameters, MACs.

Builds every model that takes attention once with `cbam_block` (whose two
gates give each attention point's C, H and W) at its default input size,
and evaluates every registered module's parameter formula and
multiply-add count on those points. The README's "Attention modules" table
comes from this script.

Multiply-adds counted: the module's fully connected / convolution layers
(SE: 2 C^2/r; CBAM: two descriptors through the MLP, 4 C^2/r, plus the
k x k conv on 2 maps, 2 k^2 H W; ECA: k C), as the SE paper counts; the
pooling means and maxima and the channel-wise products (about 1 to 3 H W C
more each) are left out, as they are by [1].

    python tools/attention_costs.py [model ...]
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import os
import sys

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
  sys.path.insert(0, _ROOT)

import tf_compat  # pylint: disable=g-import-not-at-top,unused-import
import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top

from nets import attention  # pylint: disable=g-import-not-at-top
from nets import nets_factory  # pylint: disable=g-import-not-at-top


def attention_points(name):
  """[(C, H, W)] of every attention point of `name` at its default size."""
  with tf.Graph().as_default():
    fn = nets_factory.get_network_fn(name, 1000, attention_module='cbam_block')
    size = fn.default_image_size
    _, end_points = fn(tf.zeros([1, size, size, 3]))
  points = []
  for alias, gate in end_points.items():
    if alias.endswith('/cbam/channel_gate'):
      spatial = end_points[alias[:-len('channel_gate')] + 'spatial_gate']
      _, h, w, _ = spatial.shape.as_list()
      points.append((gate.shape[-1].value, h, w))
  return points


def macs(module, c, h, w):
  """Multiply-adds of one application (see the module docstring)."""
  bound = attention.bind(module)
  hp = bound.kwargs
  if module == 'se_block':
    return 2 * c * attention.se_units(c, hp['reduction_ratio'])
  if module == 'cbam_block':
    return (4 * c * attention.se_units(c, hp['reduction_ratio']) +
            2 * hp['kernel_size'] ** 2 * h * w)
  if module == 'eca_block':
    return c * bound.param_count(c)
  raise ValueError('No multiply-add count for %r' % module)


def main(names):
  valid = nets_factory.attention_model_names()
  if names and names[0] in ('-h', '--help'):
    print('usage: attention_costs.py [MODEL ...]  (default: every model that '
          'takes attention: %s)' % ', '.join(valid))
    return 0
  bad = [n for n in names if n not in valid]
  if bad:
    sys.stderr.write('attention_costs.py: unknown or non-attention model %r; '
                     'expected one of: %s\n' % (bad[0], ', '.join(valid)))
    return 2
  names = names or valid
  print('| model | blocks | ' + ' | '.join(
      '%s params | %s M mult-adds' % (m, m) for m in attention.names()) + ' |')
  for name in names:
    points = attention_points(name)
    cells = []
    for module in attention.names():
      bound = attention.bind(module)
      params = sum(bound.param_count(c) for c, _, _ in points)
      mults = sum(macs(module, c, h, w) for c, h, w in points)
      cells.append('%d | %.2f' % (params, mults / 1e6))
    print('| %s | %d | %s |' % (name, len(points), ' | '.join(cells)))
    sys.stdout.flush()
  return 0


if __name__ == '__main__':
  sys.exit(main(sys.argv[1:]))
