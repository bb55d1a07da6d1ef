"""MobileNetV3 [1] (large, small, minimalistic) and MobileNet-EdgeTPU [2].

Each network is a table for the generic builder `mobilenet.mobilenet`:

* `V3_LARGE`, `V3_SMALL`: Tables 1 and 2 of [1]. Inverted residuals with
  ReLU or h-swish, 3x3 or 5x5 depthwise kernels, and MobileNetV3's own
  squeeze-and-excite (`conv_blocks.squeeze_excite`, hard-sigmoid gate, a
  bottleneck of 1/4 the expanded width) in the marked blocks; then a 1x1
  conv, an average pool to 1 x 1 and a 1x1 conv with biases and no batch
  norm (960 -> 1280 for large, 576 -> 1024 for small).
* `V3_LARGE_MINIMALISTIC`, `V3_SMALL_MINIMALISTIC`: the same widths without
  squeeze-excite, h-swish or 5x5 kernels (ReLU and 3x3 only).
* `V3_EDGETPU`: fused inverted residuals (one 3x3 conv instead of 1x1 +
  depthwise) in the early stages, regular ones later, ReLU throughout, no
  squeeze-excite and no pool layer.

The squeeze-excite here is part of the published architecture; its variables
are `<block>/squeeze_excite/Conv` and `.../Conv_1` in the checkpoints. These
models take no SE-Slim attention module (`nets_factory` raises for them).

Variable and end-point names are those of TF-Slim (`MobilenetV3/...`,
`MobilenetEdgeTPU/...`), so its published checkpoints (1001 classes) load.
`finegrain_classification_mode` (used by `edge_tpu_075`) keeps the last
layer at full width when the depth multiplier is below 1.

References:
  [1] Howard et al., Searching for MobileNetV3, arXiv:1905.02244.
  [2] Gupta and Tan, Introducing the Next Generation of On-Device Vision
      Models: MobileNetV3 and MobileNetEdgeTPU, Google AI Blog, 2019.
  [3] Sandler et al., MobileNetV2: Inverted Residuals and Linear Bottlenecks,
      arXiv:1801.04381.

Typical use:

    from nets.mobilenet import mobilenet_v3

    with slim.arg_scope(mobilenet_v3.training_scope(weight_decay=1e-5)):
      logits, end_points = mobilenet_v3.large(
          images, num_classes=1001)            # images: [batch, 224, 224, 3]
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets.mobilenet import conv_blocks
from nets.mobilenet import mobilenet as lib

op = lib.op
conv = conv_blocks.conv
hard_swish = conv_blocks.hard_swish
relu = tf.nn.relu


def _se4(expansion_tensor, input_tensor):
  """`squeeze_excite` on the expansion, as an `expansion_transform`.

  `expanded_conv` passes both tensors by keyword, as in TF-Slim; v3 gates
  the (depthwise) expansion by itself and ignores the block's input.
  """
  del input_tensor
  return conv_blocks.squeeze_excite(expansion_tensor, squeeze_factor=4,
                                    gating_fn=conv_blocks.hard_sigmoid)


def _block(t, c, k, s=1, act=relu, se=False, **kwargs):
  """An inverted residual: expansion factor t, c outputs, k x k, stride s."""
  return op(conv_blocks.expanded_conv,
            expansion_size=conv_blocks.expand_by(t),
            num_outputs=c,
            kernel_size=(k, k),
            stride=s,
            inner_activation_fn=act,
            expansion_transform=_se4 if se else None,
            **kwargs)


def _fused(t, c, k, s=1):
  """A fused inverted residual (EdgeTPU): one k x k expansion conv."""
  return op(conv_blocks.expanded_conv,
            expansion_size=conv_blocks.expand_by(t),
            num_outputs=c,
            kernel_size=(k, k),
            stride=s,
            fused=True)


_DEFAULTS = {
    (conv_blocks.expanded_conv,):
        {'normalizer_fn': slim.batch_norm, 'residual': True},
    (slim.conv2d, slim.fully_connected, slim.separable_conv2d):
        {'normalizer_fn': slim.batch_norm, 'activation_fn': relu},
    (slim.batch_norm,): {'center': True, 'scale': True},
}


def _head(mid, out, act):
  """1x1 conv to `mid`, average pool to 1 x 1, 1x1 conv (biases) to `out`."""
  return (op(conv, stride=1, kernel_size=[1, 1], num_outputs=mid,
             activation_fn=act),
          op(conv_blocks.pool_to_1x1, default_size=7, stride=1),
          op(conv, stride=1, kernel_size=[1, 1], num_outputs=out,
             normalizer_fn=None, activation_fn=act))


# Table 1 of [1], as TF-Slim's conv-defs dicts (copy them to edit).
# Comments: output size at 224 x 224 input.
V3_LARGE = dict(
    defaults=dict(_DEFAULTS),
    spec=list((
        op(conv, stride=2, num_outputs=16, kernel_size=(3, 3),
           activation_fn=hard_swish),                          # 112x112x16
        _block(1, 16, 3),
        _block(4, 24, 3, s=2),
        _block(3, 24, 3),                                      # 56x56x24
        _block(3, 40, 5, s=2, se=True),
        _block(3, 40, 5, se=True),
        _block(3, 40, 5, se=True),                             # 28x28x40
        _block(6, 80, 3, s=2, act=hard_swish),
        _block(2.5, 80, 3, act=hard_swish),
        _block(184 / 80., 80, 3, act=hard_swish),
        _block(184 / 80., 80, 3, act=hard_swish),              # 14x14x80
        _block(6, 112, 3, act=hard_swish, se=True),
        _block(6, 112, 3, act=hard_swish, se=True),            # 14x14x112
        _block(6, 160, 5, s=2, act=hard_swish, se=True),
        _block(6, 160, 5, act=hard_swish, se=True),
        _block(6, 160, 5, act=hard_swish, se=True),            # 7x7x160
    ) + _head(960, 1280, hard_swish)))                          # 1x1x1280

V3_LARGE_MINIMALISTIC = dict(
    defaults=dict(_DEFAULTS),
    spec=list((
        op(conv, stride=2, num_outputs=16, kernel_size=(3, 3)),
        _block(1, 16, 3),
        _block(4, 24, 3, s=2),
        _block(3, 24, 3),
        _block(3, 40, 3, s=2),
        _block(3, 40, 3),
        _block(3, 40, 3),
        _block(6, 80, 3, s=2),
        _block(2.5, 80, 3),
        _block(184 / 80., 80, 3),
        _block(184 / 80., 80, 3),
        _block(6, 112, 3),
        _block(6, 112, 3),
        _block(6, 160, 3, s=2),
        _block(6, 160, 3),
        _block(6, 160, 3),
    ) + _head(960, 1280, relu)))

# Table 2 of [1].
V3_SMALL = dict(
    defaults=dict(_DEFAULTS),
    spec=list((
        op(conv, stride=2, num_outputs=16, kernel_size=(3, 3),
           activation_fn=hard_swish),                          # 112x112x16
        _block(1, 16, 3, s=2, se=True),                        # 56x56x16
        _block(72. / 16, 24, 3, s=2),
        _block(88. / 24, 24, 3),                               # 28x28x24
        _block(4, 40, 5, s=2, act=hard_swish, se=True),
        _block(6, 40, 5, act=hard_swish, se=True),
        _block(6, 40, 5, act=hard_swish, se=True),             # 14x14x40
        _block(3, 48, 5, act=hard_swish, se=True),
        _block(3, 48, 5, act=hard_swish, se=True),             # 14x14x48
        _block(6, 96, 5, s=2, act=hard_swish, se=True),
        _block(6, 96, 5, act=hard_swish, se=True),
        _block(6, 96, 5, act=hard_swish, se=True),             # 7x7x96
    ) + _head(576, 1024, hard_swish)))                          # 1x1x1024

V3_SMALL_MINIMALISTIC = dict(
    defaults=dict(_DEFAULTS),
    spec=list((
        op(conv, stride=2, num_outputs=16, kernel_size=(3, 3)),
        _block(1, 16, 3, s=2),
        _block(72. / 16, 24, 3, s=2),
        _block(88. / 24, 24, 3),
        _block(4, 40, 3, s=2),
        _block(6, 40, 3),
        _block(6, 40, 3),
        _block(3, 48, 3),
        _block(3, 48, 3),
        _block(6, 96, 3, s=2),
        _block(6, 96, 3),
        _block(6, 96, 3),
    ) + _head(576, 1024, relu)))

# MobileNet-EdgeTPU [2]: fused blocks while the maps are large.
V3_EDGETPU = dict(
    defaults=dict(_DEFAULTS),
    spec=list((
        op(conv, stride=2, num_outputs=32, kernel_size=(3, 3)),  # 112x112x32
        _fused(1, 16, 3),                                      # 112x112x16
        _fused(8, 32, 3, s=2),
        _fused(4, 32, 3),
        _fused(4, 32, 3),
        _fused(4, 32, 3),                                      # 56x56x32
        _fused(8, 48, 3, s=2),
        _fused(4, 48, 3),
        _fused(4, 48, 3),
        _fused(4, 48, 3),                                      # 28x28x48
        _block(8, 96, 3, s=2),
        _block(4, 96, 3),
        _block(4, 96, 3),
        _block(4, 96, 3),
        _block(8, 96, 3, residual=False),
        _block(4, 96, 3),
        _block(4, 96, 3),
        _block(4, 96, 3),                                      # 14x14x96
        _block(8, 160, 5, s=2),
        _block(4, 160, 5),
        _block(4, 160, 5),
        _block(4, 160, 5),                                     # 7x7x160
        _block(8, 192, 3),                                     # 7x7x192
        op(conv, stride=1, num_outputs=1280, kernel_size=(1, 1)),  # 7x7x1280
    )))


@slim.add_arg_scope
def mobilenet(inputs,
              num_classes=1001,
              depth_multiplier=1.0,
              scope='MobilenetV3',
              conv_defs=None,
              finegrain_classification_mode=False,
              **kwargs):
  """MobileNetV3 / EdgeTPU classifier for a table of this module.

  Args:
    inputs: `[batch, height, width, 3]` images, 224 x 224 by default.
    num_classes: number of classes; 0 or None returns the pooled features.
    depth_multiplier: width multiplier (> 0).
    scope: variable scope; default 'MobilenetV3'.
    conv_defs: table; default `V3_LARGE`.
    finegrain_classification_mode: with a multiplier < 1, keep the last
      layer at full width.
    **kwargs: passed to `mobilenet.mobilenet`: `is_training`, `reuse`,
      `prediction_fn`, `base_only`, `output_stride`, `final_endpoint`,
      `min_depth`, `divisible_by`.

  Returns:
    logits: `[batch, num_classes]`.
    end_points: 'layer_<i>' for every table row, the blocks' inner tensors
      'layer_<i>/{expansion_output,depthwise_output,output}', 'global_pool',
      'Logits', 'Predictions'.

  Raises:
    ValueError: for an invalid depth multiplier or a non 4-D input.
  """
  return lib.mobilenet(
      inputs,
      conv_defs=V3_LARGE if conv_defs is None else conv_defs,
      num_classes=num_classes,
      scope=scope,
      multiplier=depth_multiplier,
      finegrain_classification_mode=finegrain_classification_mode,
      **kwargs)


mobilenet.default_image_size = 224


wrapped_partial = lib.wrapped_partial


def _variant(name, **defaults):
  """`mobilenet` with other default arguments, named `name`."""
  variant = wrapped_partial(mobilenet, **defaults)
  variant.__name__ = name
  variant.default_image_size = mobilenet.default_image_size
  return variant


large = _variant('large', conv_defs=V3_LARGE)
small = _variant('small', conv_defs=V3_SMALL)
large_minimalistic = _variant('large_minimalistic',
                              conv_defs=V3_LARGE_MINIMALISTIC)
small_minimalistic = _variant('small_minimalistic',
                              conv_defs=V3_SMALL_MINIMALISTIC)
edge_tpu = _variant('edge_tpu', conv_defs=V3_EDGETPU, scope='MobilenetEdgeTPU')
edge_tpu_075 = _variant('edge_tpu_075', conv_defs=V3_EDGETPU,
                        scope='MobilenetEdgeTPU', depth_multiplier=0.75,
                        finegrain_classification_mode=True)



@slim.add_arg_scope
def mobilenet_base(inputs, depth_multiplier=1.0, **kwargs):
  """The table's layers without pooling and logits (see `mobilenet`)."""
  return mobilenet(inputs, depth_multiplier=depth_multiplier, base_only=True,
                   **kwargs)


training_scope = lib.training_scope
