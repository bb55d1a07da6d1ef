"""MobileNetV2 [1], optionally with an attention module in every block.

The architecture is the table `V2_DEF` (Table 2 of [1]): a 3x3 stem conv, 17
inverted-residual blocks (`conv_blocks.expanded_conv`, expansion 6 except 1
in the first) and a 1x1 conv to 1280 channels, built by the generic
`mobilenet.mobilenet`. `mobilenet_v2_140` and `mobilenet_v2_035` are the same
table with depth multiplier 1.4 and 0.35; they create the same variable
names as `mobilenet_v2`, with other widths. `mobilenet_v2_035` keeps the
last layer at 1280 channels (finegrain classification mode, [1] Sec. 6.1),
as TF-Slim's published checkpoint does.

SE-Slim addition: `attention_module='se_block'` puts the SE block of [2]
inside each inverted residual, after the depthwise convolution and before
the linear projection, where MobileNetV3 [3] puts its squeeze-excite: on
`[batch, H, W, C_exp]` with C_exp the expanded width. SE variables live
under `MobilenetV2/expanded_conv[_<i>]/se/{fc1,fc2}`; all three width
variants take it. With attention off, every variable and end point equals
TF-Slim's, so its ImageNet checkpoints (1001 classes) load unchanged.

References:
  [1] Sandler et al., MobileNetV2: Inverted Residuals and Linear Bottlenecks,
      arXiv:1801.04381.
  [2] Hu et al., Squeeze-and-Excitation Networks, arXiv:1709.01507.
  [3] Howard et al., Searching for MobileNetV3, arXiv:1905.02244.

Typical use:

    from nets import attention
    from nets.mobilenet import mobilenet_v2

    with slim.arg_scope(mobilenet_v2.training_scope(weight_decay=4e-5)):
      logits, end_points = mobilenet_v2.mobilenet(
          images, num_classes=1001,
          attention_module=attention.bind('se_block', reduction_ratio=16))
      # images: [batch, 224, 224, 3]
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import copy

import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets.mobilenet import conv_blocks
from nets.mobilenet import mobilenet as lib

op = lib.op
conv = conv_blocks.conv
block = conv_blocks.expanded_conv
expand_input = conv_blocks.expand_input_by_factor  # TF-Slim's alias.

# Table 2 of [1]: (t, c, n, s) rows unrolled to one op per layer.
# TF-Slim's conv-defs dict: copy it (`copy.deepcopy`) to edit a variant.
V2_DEF = dict(
    defaults={
        (slim.batch_norm,): {'center': True, 'scale': True},
        (slim.conv2d, slim.fully_connected, slim.separable_conv2d):
            {'normalizer_fn': slim.batch_norm, 'activation_fn': tf.nn.relu6},
        (block,): {'expansion_size': conv_blocks.expand_by(6),
                   'split_expansion': 1,
                   'normalizer_fn': slim.batch_norm, 'residual': True},
        (slim.conv2d, slim.separable_conv2d): {'padding': 'SAME'},
    },
    spec=[
        op(conv, stride=2, num_outputs=32, kernel_size=[3, 3]),  # 112x112x32
        op(block, num_outputs=16,
           expansion_size=conv_blocks.expand_by(1, divisible_by=1)),
        op(block, stride=2, num_outputs=24),
        op(block, stride=1, num_outputs=24),                     # 56x56x24
        op(block, stride=2, num_outputs=32),
        op(block, stride=1, num_outputs=32),
        op(block, stride=1, num_outputs=32),                     # 28x28x32
        op(block, stride=2, num_outputs=64),
        op(block, stride=1, num_outputs=64),
        op(block, stride=1, num_outputs=64),
        op(block, stride=1, num_outputs=64),                     # 14x14x64
        op(block, stride=1, num_outputs=96),
        op(block, stride=1, num_outputs=96),
        op(block, stride=1, num_outputs=96),                     # 14x14x96
        op(block, stride=2, num_outputs=160),
        op(block, stride=1, num_outputs=160),
        op(block, stride=1, num_outputs=160),                    # 7x7x160
        op(block, stride=1, num_outputs=320),                    # 7x7x320
        op(conv, stride=1, num_outputs=1280, kernel_size=[1, 1]),  # 7x7x1280
    ])


# TF-Slim's group-norm variant of the table: group norm (`lib.group_norm`)
# where V2_DEF has batch norm.
V2_DEF_GROUP_NORM = copy.deepcopy(V2_DEF)
del V2_DEF_GROUP_NORM['defaults'][(slim.batch_norm,)]
for _key in ((slim.conv2d, slim.fully_connected, slim.separable_conv2d),
             (block,)):
  V2_DEF_GROUP_NORM['defaults'][_key]['normalizer_fn'] = lib.group_norm
del _key


@slim.add_arg_scope
def mobilenet(input_tensor,
              num_classes=1001,
              depth_multiplier=1.0,
              scope='MobilenetV2',
              conv_defs=None,
              finegrain_classification_mode=False,
              min_depth=None,
              divisible_by=None,
              activation_fn=None,
              attention_module=None,
              **kwargs):
  """MobileNetV2 classifier [1], with optional attention in every block.

  Args:
    input_tensor: `[batch, height, width, 3]` images, 224 x 224 by default
      (TF-Slim's name for it).
    num_classes: number of classes; 0 or None returns the pooled features
      `[batch, 1, 1, 1280]`.
    depth_multiplier: width multiplier (> 0) of [1].
    scope: variable scope; default 'MobilenetV2'.
    conv_defs: table; default `V2_DEF`.
    finegrain_classification_mode: with a multiplier < 1, keep the last
      layer at 1280 channels.
    min_depth: lower bound on scaled widths; None keeps 8 (or what an
      arg_scope on `mobilenet.depth_multiplier` sets).
    divisible_by: scaled widths are multiples of this (default 8, as
      `min_depth`).
    activation_fn: activation of the convolutions instead of the table's
      ReLU6 (e.g. `tf.nn.relu`); None keeps the table's.
    attention_module: None or an `attention.Attention` (or bare name);
      applied in each of the 17 inverted residuals after the depthwise conv.
    **kwargs: passed to `mobilenet.mobilenet`: `is_training`, `reuse`,
      `prediction_fn`, `base_only`, `output_stride`, `final_endpoint`.

  Returns:
    logits: `[batch, num_classes]`.
    end_points: 'layer_1'..'layer_19', 'layer_<i>/expansion_output',
      'layer_<i>/depthwise_output', 'layer_<i>/output', 'global_pool',
      'Logits', 'Predictions'.

  Raises:
    ValueError: for an unknown attention module, an invalid reduction ratio
      or depth multiplier, a `multiplier` argument (use `depth_multiplier`),
      or an input that is not 4-D.
  """
  if 'multiplier' in kwargs:
    raise ValueError("mobilenet_v2.mobilenet takes depth_multiplier, not the "
                     "generic 'multiplier' (got multiplier=%r)" %
                     (kwargs['multiplier'],))
  conv_defs = V2_DEF if conv_defs is None else conv_defs
  if activation_fn:
    conv_defs = copy.deepcopy(conv_defs)
    conv_defs['defaults'][
        (slim.conv2d, slim.fully_connected, slim.separable_conv2d)][
            'activation_fn'] = activation_fn
  return lib.mobilenet(
      input_tensor,
      conv_defs=conv_defs,
      num_classes=num_classes,
      scope=scope,
      multiplier=depth_multiplier,
      finegrain_classification_mode=finegrain_classification_mode,
      min_depth=min_depth,
      divisible_by=divisible_by,
      attention_module=attention_module,
      **kwargs)


mobilenet.default_image_size = 224


wrapped_partial = lib.wrapped_partial


def _variant(name, **defaults):
  """`mobilenet` with other default arguments, named `name`."""
  variant = wrapped_partial(mobilenet, **defaults)
  variant.__name__ = name
  variant.default_image_size = mobilenet.default_image_size
  return variant


mobilenet_v2_140 = _variant('mobilenet_v2_140', depth_multiplier=1.4)
mobilenet_v2_050 = _variant('mobilenet_v2_050', depth_multiplier=0.50,
                            finegrain_classification_mode=True)
mobilenet_v2_035 = _variant('mobilenet_v2_035', depth_multiplier=0.35,
                            finegrain_classification_mode=True)


@slim.add_arg_scope
def mobilenet_base(input_tensor, depth_multiplier=1.0, **kwargs):
  """The MobileNetV2 layers without pooling and logits (see `mobilenet`)."""
  return mobilenet(input_tensor, depth_multiplier=depth_multiplier,
                   base_only=True, **kwargs)


@slim.add_arg_scope
def mobilenet_base_group_norm(input_tensor, depth_multiplier=1.0, groups=8,
                              **kwargs):
  """`mobilenet_base` with group norm of `groups` groups for batch norm
  (TF-Slim's name; see `mobilenet.mobilenet_base(use_groupnorm=)`)."""
  with slim.arg_scope([lib.group_norm], groups=groups):
    return mobilenet_base(input_tensor, depth_multiplier=depth_multiplier,
                          use_groupnorm=True, **kwargs)


training_scope = lib.training_scope
