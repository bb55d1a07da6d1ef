"""Slim's builder options on the Inception family, VGG, AlexNet, OverFeat,
CifarNet and LeNet: features-only builds (`num_classes=0`), `global_pool`,
`spatial_squeeze`, depth multipliers, final end points, and the registry rows.

The reference lists at Slim's settings are checked for every model by
tests/test_nets_factory.py; this file covers the arguments that test does not
pass. Graph construction only, except where noted.
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import pytest
import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import alexnet
from nets import cifarnet
from nets import inception_resnet_v2
from nets import inception_v1
from nets import inception_v2
from nets import inception_v3
from nets import inception_v4
from nets import lenet
from nets import nets_factory
from nets import overfeat
from nets import vgg

# (model, builder, arg_scope, input side, channels, features end point and
# shape when num_classes=0). Inception-v4 and Inception-ResNet-v2 are left
# out: building either takes long, and their features path is the same
# `if not num_classes: return` after 'global_pool' as v3's.
_FEATURES = [
    ('alexnet_v2', alexnet.alexnet_v2, alexnet.alexnet_v2_arg_scope, 224, 3,
     'alexnet_v2/fc7', [1, 1, 1, 4096]),
    ('overfeat', overfeat.overfeat, overfeat.overfeat_arg_scope, 231, 3,
     'overfeat/fc7', [1, 1, 1, 4096]),
    ('vgg_a', vgg.vgg_a, vgg.vgg_arg_scope, 224, 3, 'vgg_a/fc7',
     [1, 1, 1, 4096]),
    ('vgg_16', vgg.vgg_16, vgg.vgg_arg_scope, 224, 3, 'vgg_16/fc7',
     [1, 1, 1, 4096]),
    ('vgg_19', vgg.vgg_19, vgg.vgg_arg_scope, 224, 3, 'vgg_19/fc7',
     [1, 1, 1, 4096]),
    # The Inception heads are built with global_pool=True at 320 x 320: the
    # global mean replaces the fixed-size pool ('AvgPool_*'), whose default
    # path the reference test covers.
    ('inception_v1', inception_v1.inception_v1,
     inception_v1.inception_v1_arg_scope, 320, 3, 'global_pool',
     [1, 1, 1, 1024]),
    ('inception_v2', inception_v2.inception_v2,
     inception_v2.inception_v2_arg_scope, 320, 3, 'global_pool',
     [1, 1, 1, 1024]),
    ('inception_v3', inception_v3.inception_v3,
     inception_v3.inception_v3_arg_scope, 320, 3, 'global_pool',
     [1, 1, 1, 2048]),
    ('cifarnet', cifarnet.cifarnet, cifarnet.cifarnet_arg_scope, 32, 3, 'fc4',
     [1, 192]),
    ('lenet', lenet.lenet, lenet.lenet_arg_scope, 28, 1, 'fc3', [1, 1024]),
]


def _build(builder, arg_scope, size, channels=3, batch=1, **kwargs):
  graph = tf.Graph()
  with graph.as_default():
    images = tf.placeholder(tf.float32, [batch, size, size, channels])
    with slim.arg_scope(arg_scope()):
      net, end_points = builder(images, **kwargs)
  return graph, net, end_points


@pytest.mark.parametrize(
    'name,builder,arg_scope,size,channels,feature_key,feature_shape',
    _FEATURES, ids=[row[0] for row in _FEATURES])
def test_num_classes_zero_returns_features_without_classifier(
    name, builder, arg_scope, size, channels, feature_key, feature_shape):
  kwargs = {'global_pool': True} if name.startswith('inception') else {}
  graph, net, end_points = _build(builder, arg_scope, size, channels,
                                  num_classes=0, **kwargs)
  assert net.shape.as_list() == feature_shape
  assert end_points[feature_key] is net or (
      end_points[feature_key].shape.as_list() == feature_shape)
  assert 'Logits' not in end_points and 'AuxLogits' not in end_points
  assert not any(k.startswith('AvgPool') for k in end_points)
  with graph.as_default():
    names = [v.op.name for v in tf.global_variables()]
  for classifier in ('fc8', 'Logits/', 'logits/', 'fc4/', 'AuxLogits'):
    if name == 'cifarnet' and classifier == 'fc4/':
      continue  # cifarnet's fc4 is a hidden layer
    assert not any(classifier in n for n in names), (name, classifier)


@pytest.mark.parametrize('builder,arg_scope,scope', [
    (vgg.vgg_16, vgg.vgg_arg_scope, 'vgg_16'),
    (alexnet.alexnet_v2, alexnet.alexnet_v2_arg_scope, 'alexnet_v2'),
    (overfeat.overfeat, overfeat.overfeat_arg_scope, 'overfeat'),
], ids=['vgg_16', 'alexnet_v2', 'overfeat'])
def test_fc_nets_global_pool_on_larger_input(builder, arg_scope, scope):
  _, logits, end_points = _build(builder, arg_scope, 320, batch=2,
                                 num_classes=7, global_pool=True)
  assert end_points['global_pool'].shape.as_list() == [2, 1, 1, 4096]
  assert logits.shape.as_list() == [2, 7]
  assert end_points[scope + '/fc8'] is logits


def test_vgg_dense_fc_conv_padding_and_no_squeeze():
  _, logits, end_points = _build(vgg.vgg_19, vgg.vgg_arg_scope, 224,
                                 num_classes=7, fc_conv_padding='SAME',
                                 spatial_squeeze=False)
  # fc6 as a SAME 7x7 conv keeps the 7 x 7 grid: a dense prediction map.
  assert end_points['vgg_19/fc6'].shape.as_list() == [1, 7, 7, 4096]
  assert logits.shape.as_list() == [1, 7, 7, 7]
  assert vgg.vgg_d is vgg.vgg_16 and vgg.vgg_e is vgg.vgg_19
  assert vgg.vgg_a.default_image_size == 224


def test_vgg_variants_share_one_builder_table():
  for name, convs in [('vgg_a', 8), ('vgg_16', 13), ('vgg_19', 16)]:
    graph, _, _ = _build(getattr(vgg, name), vgg.vgg_arg_scope, 224,
                         num_classes=0)
    with graph.as_default():
      conv_kernels = [v for v in tf.global_variables()
                      if v.op.name.endswith('weights') and '/conv' in v.op.name]
    assert len(conv_kernels) == convs, name


def test_vgg_reuse_shares_variables():
  graph = tf.Graph()
  with graph.as_default():
    images = tf.placeholder(tf.float32, [1, 224, 224, 3])
    with slim.arg_scope(vgg.vgg_arg_scope()):
      vgg.vgg_a(images, num_classes=7)
      count = len(tf.global_variables())
      vgg.vgg_a(images, num_classes=7, reuse=True)
    assert len(tf.global_variables()) == count


def test_inception_v3_depth_multiplier_and_shrunk_aux_kernel():
  graph, logits, end_points = _build(inception_v3.inception_v3,
                                     inception_v3.inception_v3_arg_scope, 107,
                                     num_classes=7, depth_multiplier=0.5)
  with graph.as_default():
    aux = [(v.op.name, v.shape.as_list()) for v in tf.global_variables()
           if v.op.name.endswith('weights') and 'AuxLogits' in v.op.name]
  # Mixed_6e is 5 x 5 at 107, pooled to 1 x 1: the 5x5 conv is named and
  # shaped 1x1. Every width is halved.
  assert aux == [('InceptionV3/AuxLogits/Conv2d_1b_1x1/weights',
                  [1, 1, 384, 64]),
                 ('InceptionV3/AuxLogits/Conv2d_2a_1x1/weights',
                  [1, 1, 64, 384]),
                 ('InceptionV3/AuxLogits/Conv2d_2b_1x1/weights',
                  [1, 1, 384, 7])]
  assert end_points['Mixed_5b'].shape.as_list() == [1, 11, 11, 128]
  assert end_points['Mixed_7c'].shape.as_list() == [1, 2, 2, 1024]
  assert end_points['AuxLogits'].shape.as_list() == [1, 7]
  assert logits.shape.as_list() == [1, 7]
  with pytest.raises(ValueError, match='depth_multiplier.*got 0'):
    _build(inception_v3.inception_v3, inception_v3.inception_v3_arg_scope,
           107, num_classes=7, depth_multiplier=0)


@pytest.mark.parametrize('base,final,shape', [
    (inception_v3.inception_v3_base, 'Mixed_6a', [1, 17, 17, 768]),
    (inception_v4.inception_v4_base, 'Mixed_6a', [1, 17, 17, 1024]),
    (inception_resnet_v2.inception_resnet_v2_base, 'Mixed_6a',
     [1, 17, 17, 1088]),
], ids=['inception_v3', 'inception_v4', 'inception_resnet_v2'])
def test_bases_stop_at_final_endpoint_and_reject_unknown_ones(base, final,
                                                              shape):
  graph = tf.Graph()
  with graph.as_default():
    images = tf.placeholder(tf.float32, [1, 299, 299, 3])
    net, end_points = base(images, final_endpoint=final)
    assert net.shape.as_list() == shape
    assert list(end_points)[-1] == final
    with pytest.raises(ValueError) as err:
      base(images, final_endpoint='Mixed_9z')
  assert "'Mixed_9z'" in str(err.value) and 'Mixed_6a' in str(err.value)


def test_inception_resnet_v2_output_stride_8():
  graph = tf.Graph()
  with graph.as_default():
    images = tf.placeholder(tf.float32, [1, 299, 299, 3])
    net, _ = inception_resnet_v2.inception_resnet_v2_base(
        images, final_endpoint='PreAuxLogits', output_stride=8)
    # Mixed_6a's 3x3 VALID convs at stride 1: 35 - 2.
    assert net.shape.as_list() == [1, 33, 33, 1088]
    with pytest.raises(ValueError, match='PreAuxLogits'):
      inception_resnet_v2.inception_resnet_v2_base(images, output_stride=8)
    with pytest.raises(ValueError, match='got 4'):
      inception_resnet_v2.inception_resnet_v2_base(images, output_stride=4)


def test_registry_rows_in_slims_order_with_preprocessing():
  names = list(nets_factory.networks_map)
  mine = ['alexnet_v2', 'cifarnet', 'overfeat', 'vgg_a', 'vgg_16', 'vgg_19',
          'inception_v1', 'inception_v2', 'inception_v3', 'inception_v4',
          'inception_resnet_v2', 'lenet']
  assert [n for n in names if n in mine] == mine
  expected = {
      'alexnet_v2': (224, 'vgg', False), 'cifarnet': (32, 'cifarnet', False),
      'overfeat': (231, 'vgg', False), 'vgg_a': (224, 'vgg', False),
      'vgg_16': (224, 'vgg', False), 'vgg_19': (224, 'vgg', False),
      'inception_v1': (224, 'inception', False),
      'inception_v2': (224, 'inception', False),
      'inception_v3': (299, 'inception', True),
      'inception_v4': (299, 'inception', True),
      'inception_resnet_v2': (299, 'inception', True),
      'lenet': (28, 'lenet', False),
  }
  for name, (size, preprocessing, takes_attention) in expected.items():
    spec = nets_factory.get_model_spec(name)
    assert (spec.default_image_size, spec.preprocessing,
            spec.supports_attention) == (size, preprocessing, takes_attention)
    assert spec.builder.default_image_size == size
    with slim.arg_scope(spec.arg_scope(weight_decay=0.5)):
      pass  # every arg_scope takes weight_decay=


def test_weight_decay_reaches_the_regularization_losses():
  graph = tf.Graph()
  with graph.as_default():
    network_fn = nets_factory.get_network_fn('lenet', 10, weight_decay=0.1)
    network_fn(tf.placeholder(tf.float32, [1, 28, 28, 1]))
    # conv1, conv2, fc3, fc4 weights.
    assert len(tf.losses.get_regularization_losses()) == 4
