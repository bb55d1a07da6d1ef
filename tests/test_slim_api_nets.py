"""TF-Slim's library API of `nets`: the names and options Slim users call.

Each test builds what a caller of TF-Slim's research/slim `nets` would (the
aggregate `nets.inception`, `nets.resnet_utils`, MobileNet conv-def tables,
NASNet HParams configs, ...) and checks the shapes, end points and variables
Slim's code gives for it.
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import copy
import re

import numpy as np
import pytest
import tensorflow.compat.v1 as tf
import tf_slim as slim
from tf_slim.nets import resnet_utils as tf_slim_resnet_utils

from nets import hparams
from nets import inception
from nets import inception_resnet_v2
from nets import inception_utils
from nets import inception_v1
from nets import inception_v2
from nets import inception_v3
from nets import inception_v4
from nets import mobilenet_v1
from nets import resnet_utils
from nets import resnet_v1
from nets.mobilenet import conv_blocks
from nets.mobilenet import mobilenet
from nets.mobilenet import mobilenet_v2
from nets.mobilenet import mobilenet_v3
from nets.nasnet import nasnet
from nets.nasnet import nasnet_utils
from nets.nasnet import pnasnet


def _param_count(variables):
  return sum(int(np.prod(v.shape.as_list())) for v in variables)


# ---------------------------------------------------------------------------
# nets.inception and the Inception arg scopes.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize('version', ['v1', 'v2', 'v3', 'v4', 'resnet_v2'])
def test_inception_aggregates_every_builder_base_and_arg_scope(version):
  module = __import__('nets.inception_' + version,
                      fromlist=['inception_' + version])
  for suffix in ('', '_base', '_arg_scope'):
    name = 'inception_' + version + suffix
    assert getattr(inception, name) is getattr(module, name)


def test_inception_v1_base_through_the_aggregate():
  with tf.Graph().as_default():
    net, end_points = inception.inception_v1_base(
        tf.zeros([2, 224, 224, 3]), final_endpoint='Mixed_3b')
    assert net.shape.as_list() == [2, 28, 28, 256]
    assert list(end_points)[-1] == 'Mixed_3b'
    assert list(end_points)[:5] == ['Conv2d_1a_7x7', 'MaxPool_2a_3x3',
                                    'Conv2d_2b_1x1', 'Conv2d_2c_3x3',
                                    'MaxPool_3a_3x3']


def test_inception_v1_base_without_root_block():
  with tf.Graph().as_default():
    full_net, _ = inception_v1.inception_v1_base(
        tf.zeros([1, 28, 28, 192]), final_endpoint='Mixed_3c',
        include_root_block=False, scope='NoRoot')
    _, end_points = inception_v1.inception_v1_base(
        tf.zeros([1, 64, 64, 3]), final_endpoint='Mixed_3c', scope='Root')
    no_root = {v.op.name[len('NoRoot/'):]: v.shape.as_list()
               for v in tf.global_variables('NoRoot/')}
    root = {v.op.name[len('Root/'):]: v.shape.as_list()
            for v in tf.global_variables('Root/')}
    with pytest.raises(ValueError, match="Unknown final_endpoint 'Conv2d_1a"):
      inception_v1.inception_v1_base(tf.zeros([1, 28, 28, 192]),
                                     final_endpoint='Conv2d_1a_7x7',
                                     include_root_block=False)
  assert full_net.shape.as_list() == [1, 28, 28, 480]
  stem = {k for k in root if k.split('/')[0].startswith('Conv2d_')}
  assert {k.split('/')[0] for k in stem} == {'Conv2d_1a_7x7', 'Conv2d_2b_1x1',
                                             'Conv2d_2c_3x3'}
  # Without the stem: the same modules, with the same shapes.
  assert no_root == {k: v for k, v in root.items() if k not in stem}
  assert list(end_points)[:6] == ['Conv2d_1a_7x7', 'MaxPool_2a_3x3',
                                  'Conv2d_2b_1x1', 'Conv2d_2c_3x3',
                                  'MaxPool_3a_3x3', 'Mixed_3b']


def _variable_shapes(scope):
  return {v.op.name[len(scope) + 1:]: v.shape.as_list()
          for v in tf.global_variables(scope + '/')}


def test_inception_v2_base_options():
  with tf.Graph().as_default():
    separable, _ = inception_v2.inception_v2_base(
        tf.zeros([1, 64, 64, 3]), final_endpoint='Mixed_3c', scope='Sep')
    plain, _ = inception_v2.inception_v2_base(
        tf.zeros([1, 64, 64, 3]), final_endpoint='Mixed_3c',
        use_separable_conv=False, scope='Plain')
    nchw, nchw_ends = inception_v2.inception_v2_base(
        tf.zeros([1, 3, 64, 64]), final_endpoint='Mixed_3c',
        use_separable_conv=False, data_format='NCHW', scope='NCHW')
    no_root, no_root_ends = inception_v2.inception_v2_base(
        tf.zeros([1, 8, 8, 192]), final_endpoint='Mixed_3c',
        include_root_block=False, scope='NoRoot')
    sep, flat = _variable_shapes('Sep'), _variable_shapes('Plain')
    assert _variable_shapes('NCHW') == flat
    assert set(_variable_shapes('NoRoot')) == {
        k for k in flat if not k.startswith(('Conv2d_1a', 'Conv2d_2'))}
    with pytest.raises(ValueError, match='use_separable_conv=False'):
      inception_v2.inception_v2_base(tf.zeros([1, 3, 64, 64]),
                                     data_format='NCHW')
    with pytest.raises(ValueError, match="Unknown data_format 'NCWH'"):
      inception_v2.inception_v2_base(tf.zeros([1, 3, 64, 64]),
                                     use_separable_conv=False,
                                     data_format='NCWH')
  assert separable.shape.as_list() == plain.shape.as_list() == [1, 8, 8, 320]
  assert nchw.shape.as_list() == [1, 320, 8, 8]
  assert nchw_ends['MaxPool_3a_3x3'].shape.as_list() == [1, 192, 8, 8]
  assert no_root.shape.as_list() == [1, 8, 8, 320]
  assert list(no_root_ends) == ['Mixed_3b', 'Mixed_3c']
  # Slim's separable stem: 7x7 depthwise x8, then 1x1 to 64, with biases.
  assert sep['Conv2d_1a_7x7/depthwise_weights'] == [7, 7, 3, 8]
  assert sep['Conv2d_1a_7x7/pointwise_weights'] == [1, 1, 24, 64]
  assert flat['Conv2d_1a_7x7/weights'] == [7, 7, 3, 64]
  assert 'Conv2d_1a_7x7/weights' not in sep


@pytest.mark.parametrize('arg_scope_fn', [
    inception_utils.inception_arg_scope, inception_v1.inception_v1_arg_scope,
    inception_v3.inception_v3_arg_scope, inception_v4.inception_v4_arg_scope,
    inception_resnet_v2.inception_resnet_v2_arg_scope])
def test_inception_arg_scopes_take_batch_norm_scale(arg_scope_fn):
  names = {}
  for scale in (False, True):
    with tf.Graph().as_default():
      with slim.arg_scope(arg_scope_fn(batch_norm_scale=scale)):
        slim.conv2d(tf.zeros([1, 8, 8, 3]), 4, [3, 3], scope='c')
      names[scale] = {v.op.name for v in tf.global_variables()}
  assert names[True] - names[False] == {'c/BatchNorm/gamma'}


# ---------------------------------------------------------------------------
# nets.resnet_utils and ResNet options.
# ---------------------------------------------------------------------------


def test_resnet_utils_reuses_tf_slims_pieces():
  for name in ('Block', 'subsample', 'conv2d_same'):
    assert getattr(resnet_utils, name) is getattr(tf_slim_resnet_utils, name)


def _scope_summary(arg_scope):
  """{op: {kwarg: value}} with functions named and objects by type."""
  def plain(value):
    if isinstance(value, dict):
      return {k: plain(v) for k, v in value.items()}
    if callable(value) and hasattr(value, '__name__'):
      return value.__name__
    return type(value).__name__ if hasattr(value, '__dict__') else value
  return {op: plain(kwargs) for op, kwargs in arg_scope.items()}


def test_resnet_arg_scope_defaults_match_tf_slims():
  ours = resnet_utils.resnet_arg_scope(weight_decay=0.5)
  theirs = tf_slim_resnet_utils.resnet_arg_scope(weight_decay=0.5)
  assert _scope_summary(ours) == _scope_summary(theirs)
  with tf.Graph().as_default():
    with slim.arg_scope(ours):
      slim.conv2d(tf.ones([1, 2, 2, 1]), 1, [1, 1],
                  weights_initializer=tf.ones_initializer())
    (loss,) = tf.losses.get_regularization_losses()
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      assert sess.run(loss) == pytest.approx(0.25)  # 0.5 * 1^2 / 2


def test_resnet_arg_scope_research_slim_options():
  with tf.Graph().as_default():
    with slim.arg_scope(resnet_utils.resnet_arg_scope(
        activation_fn=tf.nn.relu6, use_batch_norm=False,
        batch_norm_updates_collections=None)):
      net = slim.conv2d(tf.fill([1, 2, 2, 1], 10.0), 1, [1, 1],
                        weights_initializer=tf.ones_initializer(),
                        scope='conv')
    names = sorted(v.op.name for v in tf.global_variables())
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      out = sess.run(net)
  assert names == ['conv/biases', 'conv/weights']  # no batch norm
  np.testing.assert_array_equal(out, np.full([1, 2, 2, 1], 6.0))  # relu6
  scope = resnet_utils.resnet_arg_scope(batch_norm_updates_collections=None)
  bn = [kwargs for op, kwargs in scope.items() if 'batch_norm' in op][0]
  assert bn['updates_collections'] is None


def _tiny_blocks():
  """Two blocks of two v1 units, strides 2 and 2, 4 and 8 channels."""
  return [resnet_v1.resnet_v1_block('block1', base_depth=1, num_units=2,
                                    stride=2),
          resnet_v1.resnet_v1_block('block2', base_depth=2, num_units=2,
                                    stride=2)]


def _stack(inputs, store_non_strided_activations, output_stride=None,
           reuse=None):
  collection = 'end_points_%s_%s' % (store_non_strided_activations,
                                     output_stride)
  with tf.variable_scope('stack', reuse=reuse):
    with slim.arg_scope(resnet_utils.resnet_arg_scope()), \
        slim.arg_scope([slim.batch_norm], is_training=False), \
        slim.arg_scope([resnet_v1.bottleneck, resnet_utils.stack_blocks_dense],
                       outputs_collections=collection):
      net = resnet_utils.stack_blocks_dense(
          inputs, _tiny_blocks(), output_stride=output_stride,
          store_non_strided_activations=store_non_strided_activations)
  return net, slim.utils.convert_collection_to_dict(collection)


def test_store_non_strided_activations_keeps_outputs_and_full_res_blocks():
  with tf.Graph().as_default():
    tf.set_random_seed(0)
    inputs = tf.random_uniform([2, 16, 16, 3], seed=1)
    strided, strided_ends = _stack(inputs, False)
    stored, stored_ends = _stack(inputs, True, reuse=True)
    dense, _ = _stack(inputs, True, output_stride=2, reuse=True)
    assert len(tf.global_variables()) == len(
        {v.op.name for v in tf.global_variables()})
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      (strided, stored, dense, block1, block1_full, block2,
       block2_full) = sess.run([
           strided, stored, dense, strided_ends['stack/block1'],
           stored_ends['stack/block1'], strided_ends['stack/block2'],
           stored_ends['stack/block2']])
  # The network output is the same; only the block end points change.
  assert strided.shape == stored.shape == (2, 4, 4, 8)
  np.testing.assert_allclose(stored, strided, rtol=1e-5, atol=1e-5)
  assert block1.shape == (2, 8, 8, 4) and block1_full.shape == (2, 16, 16, 4)
  assert block2.shape == (2, 4, 4, 8) and block2_full.shape == (2, 8, 8, 8)
  # Striding the last unit equals running it densely and subsampling.
  np.testing.assert_allclose(block1_full[:, ::2, ::2], block1, rtol=1e-5,
                             atol=1e-5)
  np.testing.assert_allclose(block2_full[:, ::2, ::2], block2, rtol=1e-5,
                             atol=1e-5)
  # With output_stride 2 the second block runs atrous at 8 x 8.
  assert dense.shape == (2, 8, 8, 8)
  np.testing.assert_allclose(dense[:, ::2, ::2], strided, rtol=1e-4,
                             atol=1e-4)


def test_stack_blocks_dense_rejects_unreachable_output_stride():
  with tf.Graph().as_default():
    with pytest.raises(ValueError, match='output_stride cannot be reached'):
      _stack(tf.zeros([1, 16, 16, 3]), True, output_stride=3)


def test_resnet_v1_50_store_non_strided_activations_end_points():
  with tf.Graph().as_default(), \
      slim.arg_scope(resnet_utils.resnet_arg_scope()):
    _, end_points = resnet_v1.resnet_v1_50(
        tf.zeros([1, 64, 64, 3]), num_classes=None, is_training=False,
        store_non_strided_activations=True, depth_multiplier=0.125)
    shapes = {k: end_points['resnet_v1_50/' + k].shape.as_list()[1:3]
              for k in ('block1', 'block2', 'block3', 'block4')}
    variables = [(v.op.name, v.shape.as_list())
                 for v in tf.global_variables()]
  with tf.Graph().as_default(), \
      slim.arg_scope(resnet_utils.resnet_arg_scope()):
    resnet_v1.resnet_v1_50(tf.zeros([1, 64, 64, 3]), num_classes=None,
                           is_training=False, depth_multiplier=0.125)
    assert variables == [(v.op.name, v.shape.as_list())
                         for v in tf.global_variables()]
  # Stem: 64 -> 16; each block's end point is before its own stride.
  assert shapes == {'block1': [16, 16], 'block2': [8, 8], 'block3': [4, 4],
                    'block4': [2, 2]}


@pytest.mark.parametrize('outer', [False, True])
def test_resnet_is_training_none_leaves_batch_norm_to_the_caller(outer):
  with tf.Graph().as_default(), \
      slim.arg_scope(resnet_utils.resnet_arg_scope()):
    with slim.arg_scope([slim.batch_norm], is_training=outer):
      resnet_v1.resnet_v1(tf.zeros([1, 16, 16, 3]), _tiny_blocks(),
                          is_training=None, scope='r')
    # Training-mode batch norm registers moving-average updates.
    assert bool(tf.get_collection(tf.GraphKeys.UPDATE_OPS)) == outer


# ---------------------------------------------------------------------------
# MobileNet v1 conv_defs rows.
# ---------------------------------------------------------------------------


def test_mobilenet_v1_custom_conv_defs_with_slims_rows():
  conv_defs = [
      mobilenet_v1.Conv(kernel=[3, 3], stride=2, depth=16),
      mobilenet_v1.DepthSepConv(kernel=[3, 3], stride=2, depth=24),
      mobilenet_v1.DepthSepConv(kernel=[5, 5], stride=1, depth=40),
  ]
  with tf.Graph().as_default():
    net, end_points = mobilenet_v1.mobilenet_v1_base(
        tf.zeros([1, 64, 64, 3]), final_endpoint='Conv2d_2_pointwise',
        conv_defs=conv_defs)
    kernel = tf.global_variables('MobilenetV1/Conv2d_2_depthwise/')[0]
    assert kernel.shape.as_list() == [5, 5, 24, 1]
  assert net.shape.as_list() == [1, 16, 16, 40]
  assert list(end_points) == ['Conv2d_0', 'Conv2d_1_depthwise',
                              'Conv2d_1_pointwise', 'Conv2d_2_depthwise',
                              'Conv2d_2_pointwise']


def test_mobilenet_v1_default_table_is_slims():
  table = mobilenet_v1.MOBILENETV1_CONV_DEFS
  assert table == list(mobilenet_v1.MOBILENET_V1_CONV_DEFS)
  assert type(table[0]) is mobilenet_v1.Conv and table[0].depth == 32
  assert all(type(row) is mobilenet_v1.DepthSepConv for row in table[1:])
  assert [row.stride for row in table] == [2, 1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1,
                                           2, 1]
  assert mobilenet_v1.Conv._fields == ('kernel', 'stride', 'depth')


def test_mobilenet_v1_rejects_unknown_rows():
  with tf.Graph().as_default():
    with pytest.raises(ValueError, match='Conv or DepthSepConv'):
      mobilenet_v1.mobilenet_v1_base(tf.zeros([1, 32, 32, 3]),
                                     conv_defs=[('conv', [3, 3], 1, 8)])


# ---------------------------------------------------------------------------
# MobileNet v2/v3 conv-def dicts and builder options.
# ---------------------------------------------------------------------------


def test_depth_multiplier_is_slims():
  params = {'num_outputs': 100, 'stride': 2}
  mobilenet.depth_multiplier(params, 0.5)
  assert params == {'num_outputs': 48, 'stride': 2}  # 50 -> nearest 8
  params = {'num_outputs': 100}
  mobilenet.depth_multiplier(params, 0.1, divisible_by=16, min_depth=32)
  assert params == {'num_outputs': 32}
  params = {'stride': 1}
  mobilenet.depth_multiplier(params, 2.0)
  assert params == {'stride': 1}


@pytest.mark.parametrize('table', [
    mobilenet_v2.V2_DEF, mobilenet_v3.V3_LARGE, mobilenet_v3.V3_SMALL,
    mobilenet_v3.V3_LARGE_MINIMALISTIC, mobilenet_v3.V3_SMALL_MINIMALISTIC,
    mobilenet_v3.V3_EDGETPU])
def test_conv_defs_are_slim_dicts(table):
  assert isinstance(table, dict) and isinstance(table['spec'], list)
  assert isinstance(table['defaults'], dict)
  assert all(isinstance(key, tuple) for key in table['defaults'])
  for row in table['spec']:
    assert row._fields == ('op', 'params', 'multiplier_func')
    assert callable(row.op) and callable(row.multiplier_func)


def _layer_channels(end_points):
  count = sum(1 for k in end_points if k.startswith('layer_') and '/' not in k)
  return [end_points['layer_%d' % (i + 1)].shape.as_list()[-1]
          for i in range(count)]


def test_edited_copy_of_v2_def_builds_and_leaves_v2_def_alone():
  conv_defs = copy.deepcopy(mobilenet_v2.V2_DEF)
  conv_defs['spec'] = conv_defs['spec'][:5] + [conv_defs['spec'][-1]]
  conv_defs['spec'][-1].params['num_outputs'] = 320
  conv_defs['spec'][1] = mobilenet.op(conv_blocks.expanded_conv,
                                      num_outputs=24, stride=2)
  with tf.Graph().as_default():
    logits, end_points = mobilenet.mobilenet(
        tf.zeros([1, 64, 64, 3]), conv_defs=conv_defs, num_classes=5,
        scope='Custom')
  assert logits.shape.as_list() == [1, 5]
  assert _layer_channels(end_points) == [32, 24, 24, 24, 32, 320]
  assert end_points['layer_6'].shape.as_list() == [1, 4, 4, 320]
  assert len(mobilenet_v2.V2_DEF['spec']) == 19
  assert mobilenet_v2.V2_DEF['spec'][-1].params['num_outputs'] == 1280


def test_depth_multiplier_arg_scope_sets_divisible_by_and_min_depth():
  with tf.Graph().as_default():
    with slim.arg_scope((mobilenet.depth_multiplier,), min_depth=32,
                        divisible_by=16):
      _, end_points = mobilenet_v2.mobilenet(
          tf.zeros([1, 32, 32, 3]), num_classes=3, depth_multiplier=0.1)
  channels = _layer_channels(end_points)
  assert all(c % 16 == 0 and c >= 32 for c in channels), channels
  assert channels[0] == 32 and channels[-1] == 128  # 1280 x 0.1


def test_multiplier_transform_keeps_a_layers_width():
  conv_defs = copy.deepcopy(mobilenet_v2.V2_DEF)
  conv_defs['spec'][0] = mobilenet.op(
      conv_blocks.conv, stride=2, num_outputs=32, kernel_size=[3, 3],
      multiplier_transform=lambda params, multiplier, **unused: None)
  with tf.Graph().as_default():
    _, end_points = mobilenet.mobilenet_base(
        tf.zeros([1, 32, 32, 3]), conv_defs, multiplier=0.5,
        final_endpoint='layer_2')
  assert _layer_channels(end_points) == [32, 8]


def test_plain_slim_layers_in_a_table():
  conv_defs = {'defaults': {(slim.conv2d,): {'normalizer_fn': None}},
               'spec': [mobilenet.op(slim.conv2d, num_outputs=16,
                                     kernel_size=[3, 3], stride=2),
                        mobilenet.op(slim.conv2d, num_outputs=8,
                                     kernel_size=[1, 1])]}
  with tf.Graph().as_default():
    net, end_points = mobilenet.mobilenet_base(tf.zeros([1, 16, 16, 3]),
                                               conv_defs, scope='P')
    names = sorted(v.op.name for v in tf.global_variables())
  assert net.shape.as_list() == [1, 8, 8, 8]
  assert list(end_points) == ['layer_1', 'layer_2']
  assert names == ['P/Conv/biases', 'P/Conv/weights', 'P/Conv_1/biases',
                   'P/Conv_1/weights']


def test_mobilenet_base_use_explicit_padding():
  results = {}
  for explicit in (False, True):
    with tf.Graph().as_default() as graph:
      tf.set_random_seed(0)
      with slim.arg_scope(mobilenet.training_scope(is_training=False)):
        net, _ = mobilenet.mobilenet_base(
            tf.random_uniform([1, 32, 32, 3], seed=1), mobilenet_v2.V2_DEF,
            use_explicit_padding=explicit, final_endpoint='layer_5')
      paddings = {op.get_attr('padding') for op in graph.get_operations()
                  if op.type in ('Conv2D', 'DepthwiseConv2dNative')}
      pads = [op for op in graph.get_operations() if op.type == 'Pad']
      results[explicit] = (net.shape.as_list(), paddings, len(pads),
                           [v.op.name for v in tf.global_variables()])
  assert results[False][0] == results[True][0] == [1, 4, 4, 32]
  assert results[False][1] == {b'SAME'} and results[True][1] == {b'VALID'}
  # One pad per 3x3 layer: the stem conv and 4 depthwise convs.
  assert results[False][2] == 0 and results[True][2] == 5
  assert results[False][3] == results[True][3]


def test_mobilenet_base_use_groupnorm():
  with tf.Graph().as_default():
    with slim.arg_scope(mobilenet.training_scope()):
      _, end_points = mobilenet_v2.mobilenet(
          tf.zeros([2, 32, 32, 3]), num_classes=3, use_groupnorm=True)
    names = [v.op.name for v in tf.global_variables()]
    assert not tf.get_collection(tf.GraphKeys.UPDATE_OPS)
  assert not [n for n in names if 'BatchNorm' in n]
  assert 'MobilenetV2/Conv/GroupNorm/gamma' in names
  assert 'MobilenetV2/expanded_conv_1/project/GroupNorm/beta' in names
  # Same layers as with batch norm, one GroupNorm per BatchNorm.
  with tf.Graph().as_default():
    mobilenet_v2.mobilenet(tf.zeros([2, 32, 32, 3]), num_classes=3)
    batch_norm = [v.op.name for v in tf.global_variables()
                  if v.op.name.endswith('BatchNorm/gamma')]
  assert sorted(n.replace('BatchNorm', 'GroupNorm') for n in batch_norm) == (
      sorted(n for n in names if n.endswith('GroupNorm/gamma')))
  assert end_points['Logits'].shape.as_list() == [2, 3]


def test_mobilenet_v2_group_norm_base_and_slims_extra_names():
  with tf.Graph().as_default() as graph:
    net, _ = mobilenet_v2.mobilenet_base_group_norm(
        tf.zeros([1, 32, 32, 3]), groups=4, final_endpoint='layer_2')
    # slim.group_norm reshapes channels to [groups, C / groups].
    shapes = [op.outputs[0].shape.as_list() for op in graph.get_operations()
              if op.type == 'Reshape' and 'GroupNorm' in op.name]
    with pytest.raises(ValueError, match='depth_multiplier'):
      mobilenet_v2.mobilenet(tf.zeros([1, 32, 32, 3]), multiplier=0.5)
  assert net.shape.as_list() == [1, 16, 16, 16]
  grouped = [s for s in shapes if len(s) == 5]
  assert grouped and all(s[-2] == 4 for s in grouped), shapes
  with tf.Graph().as_default():
    mobilenet.mobilenet_base(tf.zeros([1, 32, 32, 3]),
                             mobilenet_v2.V2_DEF_GROUP_NORM,
                             final_endpoint='layer_2', scope='G')
    table_names = sorted(v.op.name for v in tf.global_variables())
  assert table_names and not [n for n in table_names if 'BatchNorm' in n]
  assert 'G/Conv/GroupNorm/gamma' in table_names
  assert mobilenet_v2.mobilenet_v2_050.keywords == {
      'depth_multiplier': 0.5, 'finegrain_classification_mode': True}
  assert mobilenet_v2.wrapped_partial(mobilenet_v2.mobilenet).__name__ == (
      'mobilenet')


@pytest.mark.parametrize('outer', [False, True])
def test_training_scope_is_training_none_leaves_batch_norm_to_caller(outer):
  with tf.Graph().as_default():
    with slim.arg_scope([slim.batch_norm], is_training=outer):
      with slim.arg_scope(mobilenet.training_scope(is_training=None)):
        mobilenet_v2.mobilenet(tf.zeros([1, 32, 32, 3]), num_classes=3)
    assert bool(tf.get_collection(tf.GraphKeys.UPDATE_OPS)) == outer


def test_mobilenet_v3_base():
  with tf.Graph().as_default():
    net, end_points = mobilenet_v3.mobilenet_base(
        tf.zeros([1, 64, 64, 3]), conv_defs=mobilenet_v3.V3_SMALL,
        final_endpoint='layer_4')
  assert net.shape.as_list() == [1, 8, 8, 24]
  assert 'Logits' not in end_points and 'global_pool' not in end_points
  assert mobilenet_v3.wrapped_partial is mobilenet.wrapped_partial


def test_v2_activation_fn_replaces_relu6():
  with tf.Graph().as_default() as graph:
    mobilenet_v2.mobilenet(tf.zeros([1, 32, 32, 3]), num_classes=3,
                           activation_fn=tf.nn.relu)
    types = {op.type for op in graph.get_operations()}
  assert 'Relu' in types and 'Relu6' not in types
  assert (mobilenet_v2.V2_DEF['defaults'][
      (slim.conv2d, slim.fully_connected, slim.separable_conv2d)]
          ['activation_fn'] is tf.nn.relu6)


# expanded_conv's split_expansion / split_projection (TF-Slim's split_conv).


def _block_variables(**kwargs):
  """(name, shape) of one expanded_conv on [1, 8, 8, 16], 24 outputs."""
  with tf.Graph().as_default():
    net = conv_blocks.expanded_conv(tf.zeros([1, 8, 8, 16]), 24, **kwargs)
    assert net.shape.as_list() == [1, 8, 8, 24]
    return [(v.op.name, v.shape.as_list()) for v in tf.global_variables()]


def test_split_one_is_the_plain_block():
  plain = _block_variables()
  assert plain == _block_variables(split_expansion=1, split_projection=1,
                                   split_divisible_by=8)
  assert [n for n, _ in plain if n.endswith('weights')] == [
      'expanded_conv/expand/weights', 'expanded_conv/depthwise/'
      'depthwise_weights', 'expanded_conv/project/weights']


def test_split_expansion_and_projection_variables():
  variables = dict(_block_variables(split_expansion=2, split_projection=3))
  # expand: 16 -> 96 as 2 x (8 -> 48); project: 96 -> 24 as 3 x (32 -> 8).
  # (slim.batch_norm's default: no gamma outside a model's arg_scope.)
  expected = {}
  for conv, parts, shape in (('expand', 2, [1, 1, 8, 48]),
                             ('project', 3, [1, 1, 32, 8])):
    for i in range(parts):
      scope = 'expanded_conv/%s_part_%d/' % (conv, i)
      expected[scope + 'weights'] = shape
      for stat in ('beta', 'moving_mean', 'moving_variance'):
        expected[scope + 'BatchNorm/' + stat] = shape[-1:]
  split = {n: s for n, s in variables.items()
           if '/expand' in n or '/project' in n}
  assert split == expected
  assert variables['expanded_conv/depthwise/depthwise_weights'] == [3, 3, 96,
                                                                    1]


def test_split_conv_is_a_block_diagonal_1x1_conv():
  x = np.random.RandomState(0).randn(2, 3, 3, 16).astype(np.float32)
  with tf.Graph().as_default():
    net = conv_blocks.split_conv(tf.constant(x), 24, 2, 'proj',
                                 activation_fn=None)
    names = sorted(v.op.name for v in tf.global_variables())
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      got, (w0, b0, w1, b1) = sess.run([net, [
          'proj_part_0/weights:0', 'proj_part_0/biases:0',
          'proj_part_1/weights:0', 'proj_part_1/biases:0']])
  assert names == ['proj_part_0/biases', 'proj_part_0/weights',
                   'proj_part_1/biases', 'proj_part_1/weights']
  # Slim's split of 16 inputs and 24 outputs two ways by 8: [8, 8], [16, 8].
  assert w0.shape == (1, 1, 8, 16) and w1.shape == (1, 1, 8, 8)
  want = np.concatenate([x[..., :8].dot(w0[0, 0]) + b0,
                         x[..., 8:].dot(w1[0, 0]) + b1], axis=-1)
  np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_split_divisible_is_slims_even_split():
  split = conv_blocks._split_divisible  # pylint: disable=protected-access
  assert split(48, 3) == [16, 16, 16]
  assert split(40, 3) == [16, 16, 8]
  assert split(24, 2) == [16, 8]
  assert split(96, 4, divisible_by=16) == [32, 16, 32, 16]
  assert split(7, 3, divisible_by=1) == [3, 2, 2]


def test_split_too_narrow_for_the_groups_stays_one_conv():
  # 16 inputs in 2 groups of 8 < split_divisible_by=16: Slim keeps one conv.
  names = [n for n, _ in _block_variables(split_expansion=2,
                                          split_divisible_by=16)]
  assert 'expanded_conv/expand/weights' in names
  assert not [n for n in names if '_part_' in n]


def test_split_errors_name_the_argument():
  with tf.Graph().as_default():
    net = tf.zeros([1, 8, 8, 16])
    with pytest.raises(ValueError, match=r'^split_projection must be an int '
                       r'>= 1; got 0$'):
      conv_blocks.expanded_conv(net, 24, split_projection=0)
    with pytest.raises(ValueError, match="the 20 output channels of "
                       "'project' 2 ways into multiples of "
                       'split_divisible_by=8'):
      conv_blocks.expanded_conv(net, 20, split_projection=2)
    with pytest.raises(ValueError, match=r'split_expansion=2 needs a 1x1 '
                       r'expansion; a fused expanded_conv expands with one '
                       r'3x3 conv'):
      conv_blocks.expanded_conv(net, 24, fused=True, split_expansion=2)


def test_v2_def_with_split_expansion_override():
  """TF-Slim's own check: every expansion of MobileNetV2 split two ways."""
  assert mobilenet_v2.V2_DEF['defaults'][(conv_blocks.expanded_conv,)][
      'split_expansion'] == 1
  conv_defs = copy.deepcopy(mobilenet_v2.V2_DEF)
  conv_defs['overrides'] = {(conv_blocks.expanded_conv,):
                            {'split_expansion': 2}}
  with tf.Graph().as_default() as graph:
    logits, _ = mobilenet.mobilenet(tf.zeros([1, 32, 32, 3]),
                                    conv_defs=conv_defs, num_classes=5,
                                    scope='MobilenetV2')
    convs = [op for op in graph.get_operations() if op.type == 'Conv2D']
    names = {v.op.name for v in tf.global_variables()}
  assert logits.shape.as_list() == [1, 5]
  # Stem conv, block 0 (no expansion: project only), 16 blocks of 2 expand
  # parts + project, the 1x1 conv to 1280 and the logits conv.
  assert len(convs) == len(conv_defs['spec']) * 3 - 5 == 52
  assert 'MobilenetV2/expanded_conv_1/expand_part_1/weights' in names
  assert 'MobilenetV2/expanded_conv_1/expand/weights' not in names
  assert 'MobilenetV2/expanded_conv_16/project/weights' in names


# ---------------------------------------------------------------------------
# NASNet / PNASNet HParams configs and nasnet_utils.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize('config_fn', [
    nasnet.cifar_config, nasnet.mobile_imagenet_config,
    nasnet.large_imagenet_config, pnasnet.large_imagenet_config,
    pnasnet.mobile_imagenet_config])
def test_configs_are_editable_copies(config_fn):
  config = config_fn()
  assert isinstance(config, hparams.HParams)
  values = config.values()
  assert set(values) == set(nasnet.CONFIG_FIELDS)
  assert values['use_bounded_activation'] is False
  config.set_hparam('use_aux_head', 0)
  config.set_hparam('num_cells', 3)
  assert config.use_aux_head == 0 and config.num_cells == 3
  assert config_fn().values() == values  # the next caller's copy is clean


def test_hparams_type_rules_and_errors():
  config = hparams.HParams(num_cells=6, keep_prob=0.5, data_format='NHWC',
                           flag=False)
  config.set_hparam('keep_prob', 1)  # int into float: allowed
  assert config.keep_prob == 1.0 and isinstance(config.keep_prob, float)
  config.num_cells = 4
  assert config.num_cells == 4
  with pytest.raises(ValueError, match="Unknown hparam 'num_cell'; expected "
                     'one of: data_format, flag, keep_prob, num_cells'):
    config.set_hparam('num_cell', 4)
  for name, value in (('num_cells', 2.5), ('flag', 1), ('data_format', 3)):
    with pytest.raises(ValueError, match='not compatible'):
      config.set_hparam(name, value)
  assert config.override_from_dict({'num_cells': 2}).num_cells == 2
  copy_ = config._replace(num_cells=9)
  assert copy_.num_cells == 9 and config.num_cells == 2


@pytest.mark.parametrize('use_aux_head', [0, 1])
def test_set_hparam_use_aux_head(use_aux_head):
  config = nasnet.cifar_config()
  config.set_hparam('num_cells', 2)
  config.set_hparam('use_aux_head', use_aux_head)
  with tf.Graph().as_default():
    with slim.arg_scope(nasnet.nasnet_cifar_arg_scope()):
      logits, end_points = nasnet.build_nasnet_cifar(
          tf.zeros([1, 32, 32, 3]), 10, is_training=True, config=config)
  assert logits.shape.as_list() == [1, 10]
  assert ('AuxLogits' in end_points) == bool(use_aux_head)


@pytest.mark.parametrize('builder,order', [
    (nasnet.build_nasnet_cifar, ['is_training', 'config', 'current_step']),
    (nasnet.build_nasnet_mobile, ['is_training', 'final_endpoint', 'config',
                                  'current_step']),
    (nasnet.build_nasnet_large, ['is_training', 'final_endpoint', 'config',
                                 'current_step']),
    (pnasnet.build_pnasnet_mobile, ['is_training', 'final_endpoint',
                                    'config']),
    (pnasnet.build_pnasnet_large, ['is_training', 'final_endpoint',
                                   'config'])])
def test_nasnet_builders_take_slims_positional_order(builder, order):
  import inspect  # pylint: disable=g-import-not-at-top
  params = list(inspect.signature(builder).parameters)
  assert params[:2] == ['images', 'num_classes']
  assert params[2:2 + len(order)] == order


# Small variants of the published configs (2 cells of 8 filters); the stem
# of the ImageNet ones needs 67 x 67 inputs for the aux head in training.
_BOUNDED_CASES = {
    'nasnet_cifar': (nasnet.build_nasnet, nasnet.CIFAR_CONFIG, 32),
    'nasnet_mobile': (nasnet.build_nasnet, nasnet.MOBILE_IMAGENET_CONFIG, 67),
    'pnasnet_mobile': (pnasnet.build_pnasnet, pnasnet.MOBILE_IMAGENET_CONFIG,
                       67),
}


def _bounded_graph(case, bounded, is_training=True):
  builder, config, size = _BOUNDED_CASES[case]
  config = config._replace(num_cells=2, num_conv_filters=8,
                           use_bounded_activation=bounded)
  graph = tf.Graph()
  with graph.as_default():
    tf.train.get_or_create_global_step()
    images = tf.placeholder(tf.float32, [2, size, size, 3])
    with slim.arg_scope(nasnet.nasnet_mobile_arg_scope()):
      logits, end_points = builder(images, 5, is_training=is_training,
                                   config=config)
  return graph, images, logits, end_points


def _graph_variables(graph):
  with graph.as_default():
    return [(v.op.name, v.shape.as_list()) for v in tf.global_variables()]


def _clip_ops(graph):
  """The output op of each tf.clip_by_value (a Maximum, scope clip_by_value)."""
  return [op for op in graph.get_operations()
          if op.type in ('Maximum', 'ClipByValue') and
          re.search(r'(^|/)clip_by_value(_\d+)?(/|$)', op.name)]


def _cell_spec(case, cell_scope):
  if case.startswith('pnasnet'):
    return pnasnet.PNASNET_5
  if cell_scope.startswith(('reduction_cell_', 'cell_stem_')):
    return nasnet_utils.NASNET_A_REDUCTION
  return nasnet_utils.NASNET_A_NORMAL


@pytest.mark.parametrize('case', sorted(_BOUNDED_CASES))
def test_bounded_activation_is_slims_relu6_and_clipping(case):
  graph, _, _, end_points = _bounded_graph(case, bounded=True)
  plain, _, _, _ = _bounded_graph(case, bounded=False)
  assert 'AuxLogits' in end_points
  types = [op.type for op in graph.get_operations()]
  plain_types = [op.type for op in plain.get_operations()]
  # Every ReLU (cells, aux head, final layer) becomes a ReLU6; off, none is.
  assert 'Relu' not in types and 'Relu6' in types
  assert 'Relu6' not in plain_types and 'Relu' in plain_types
  assert not _clip_ops(plain)
  assert _graph_variables(graph) == _graph_variables(plain)

  # Each new state of each cell is ReLU6(left + right).
  combines = {op.name.rsplit('/', 1)[0] for op in graph.get_operations()
              if re.search(r'/comb_iter_\d/combine/', op.name)}
  relu6_scopes = {op.name.rsplit('/', 1)[0] for op in graph.get_operations()
                  if op.type == 'Relu6'}
  assert combines and combines <= relu6_scopes
  # Every operation but a bare identity ends in a clip, in its own scope:
  # separable convs and pools always, 'none' when it has a 1x1 conv.
  variables = {name for name, _ in _graph_variables(graph)}
  clipped = {re.sub(r'/clip_by_value(_\d+)?(/.*)?$', '', op.name)
             for op in _clip_ops(graph)}
  expected = set()
  for name in combines:
    cell, comb = re.match(r'^(.*)/comb_iter_(\d)/combine$', name).groups()
    spec = _cell_spec(case, cell)
    for i, side in ((2 * int(comb), 'left'), (2 * int(comb) + 1, 'right')):
      branch = '%s/comb_iter_%s/%s' % (cell, comb, side)
      if (spec.operations[i] != 'none' or
          branch + '/1x1/weights' in variables):
        expected.add(branch)
  assert clipped == expected


@pytest.mark.parametrize('case', ['nasnet_cifar', 'pnasnet_mobile'])
def test_bounded_activation_bounds_the_values(case):
  graph, images, logits, _ = _bounded_graph(case, bounded=True,
                                            is_training=False)
  size = images.shape.as_list()[1]
  with graph.as_default():
    clips = [op.outputs[0] for op in _clip_ops(graph)]
    sums = [op.outputs[0] for op in graph.get_operations()
            if op.type == 'Relu6' and '/combine/' in op.name]
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      # Large inputs: evaluation-mode batch norm (fresh statistics) passes
      # them on, so the clipping engages.
      feed = {images: 50 * np.random.RandomState(0).randn(
          2, size, size, 3).astype(np.float32)}
      clip_values, sum_values, logit_values = sess.run([clips, sums, logits],
                                                       feed)
  cap = nasnet_utils.CLIP_BY_VALUE_CAP
  assert cap == 6
  assert max(np.abs(v).max() for v in clip_values) == cap
  assert all(np.abs(v).max() <= cap for v in clip_values)
  assert all(v.min() >= 0 and v.max() <= 6 for v in sum_values)
  assert max(v.max() for v in sum_values) == 6
  assert np.all(np.isfinite(logit_values))


def test_cells_take_slims_positional_use_bounded_activation():
  # TF-Slim: Cell(num_conv_filters, drop_path_keep_prob, total_num_cells,
  #               total_training_steps, use_bounded_activation).
  for cell_class in (nasnet_utils.NasNetANormalCell,
                     nasnet_utils.NasNetAReductionCell,
                     pnasnet.PNasNetNormalCell):
    types = {}
    for bounded in (False, True):
      with tf.Graph().as_default() as graph:
        cell = cell_class(8, 1.0, 4, 100, bounded)
        # The models' arg_scope: convs without activations of their own.
        with nasnet.model_arg_scope(is_training=False, data_format='NHWC'):
          net = cell(tf.zeros([1, 8, 8, 8]), scope='cell', stride=1)
        types[bounded] = {op.type for op in graph.get_operations()}
      assert net.shape.as_list()[:3] == [1, 8, 8]
    assert 'Relu6' in types[True] and 'Relu' not in types[True]
    assert 'Relu' in types[False] and 'Relu6' not in types[False]


def test_get_channel_index_and_dim():
  assert nasnet_utils.get_channel_dim([2, 3, 4, 5], 'NHWC') == 5
  assert nasnet_utils.get_channel_dim(tf.TensorShape([2, 3, 4, 5]),
                                      'NCHW') == 3
  with slim.arg_scope([nasnet_utils.get_channel_index,
                       nasnet_utils.get_channel_dim], data_format='NCHW'):
    assert nasnet_utils.get_channel_index() == 1
    assert nasnet_utils.get_channel_dim([2, 3, 4, 5]) == 3
  assert nasnet_utils.get_channel_index('NHWC') == 3
  with pytest.raises(ValueError, match='data_format'):
    nasnet_utils.get_channel_index()  # no arg_scope: Slim's INVALID default
  with pytest.raises(ValueError, match='4-D'):
    nasnet_utils.get_channel_dim([2, 3], 'NHWC')
