"""ECA [1] (`nets.attention.eca_block`): numbers, kernel sizes, the paper's count.

The generated tests (tests/test_nets_factory.py, tests/test_attention.py)
cross ECA with every model family and check its variables, formula,
gradients and its refusal of an identity start; here it is checked against
a NumPy transcription of [1]'s Eq. 7 and 12 and against the paper's
ResNet-50 figure.

[1] Wang et al., ECA-Net: Efficient Channel Attention for Deep
    Convolutional Neural Networks, CVPR 2020, arXiv:1910.03151.
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from nets import attention


@pytest.mark.parametrize('channels,k', [
    # ResNet-50's stage outputs, where ECA sits; MobileNetV2's widths.
    (256, 5), (512, 5), (1024, 5), (2048, 7), (16, 3), (96, 3), (144, 5),
    (960, 5), (64, 3), (128, 5)])
def test_adaptive_kernel_size(channels, k):
  # k = |log2(C) / 2 + 1 / 2|, truncated, then the next odd number if even.
  assert attention.eca_kernel_size(channels) == k
  assert attention.get_module('eca_block').param_count(channels) == k


def test_eca_matches_the_paper_equations():
  rng = np.random.RandomState(0)
  x = rng.normal(size=(2, 3, 4, 12)).astype(np.float32)
  with tf.Graph().as_default():
    out = attention.bind('eca_block', kernel_size=5)(tf.constant(x))
    (weights,) = tf.global_variables()
    assert weights.op.name == 'eca/conv/weights'
    assert weights.shape.as_list() == [1, 5, 1, 1]
    w = rng.normal(size=[1, 5, 1, 1]).astype(np.float32)
    with tf.Session() as sess:
      weights.load(w, sess)
      got = sess.run(out)
  y = x.mean(axis=(1, 2))  # [N, C]
  padded = np.pad(y, [(0, 0), (2, 2)])  # SAME: zeros beyond the channels
  # Cross-correlation across channels with one 5-tap filter, no bias.
  logits = np.stack([padded[:, c:c + 5] @ w[0, :, 0, 0] for c in range(12)],
                    axis=1)
  gate = 1.0 / (1.0 + np.exp(-logits))
  np.testing.assert_allclose(got, x * gate[:, None, None, :], rtol=1e-5,
                             atol=1e-6)


def test_resnet50_added_parameters_against_the_paper():
  """[1] (abstract, Table 2): ECA adds 80 parameters to ResNet-50.

  With the adaptive rule on the channels ECA sits on (the bottleneck
  outputs, 256..2048) the stage kernels are 5, 5, 5, 7 and the total is 86.
  The authors' ResNet-50 run uses fixed per-stage sizes 3, 5, 5, 7 (their
  README's `--ksize 3557`), which gives the paper's 80.
  """
  units = (3, 4, 6, 3)
  channels = (256, 512, 1024, 2048)
  kernels = [attention.eca_kernel_size(c) for c in channels]
  assert kernels == [5, 5, 5, 7]
  assert sum(n * k for n, k in zip(units, kernels)) == 86
  assert sum(n * k for n, k in zip(units, (3, 5, 5, 7))) == 80


@pytest.mark.parametrize('hparams,message', [
    ({'gamma': 0}, 'gamma must be a positive number, got 0'),
    ({'gamma': '2'}, "gamma must be a positive number, got '2'"),
    ({'b': None}, 'b must be a number, got None'),
    ({'kernel_size': 4}, 'kernel_size must be an odd positive integer'),
])
def test_bad_hparams_raise(hparams, message):
  with pytest.raises(ValueError) as err:
    attention.bind('eca_block', **hparams)
  assert message in str(err.value)
