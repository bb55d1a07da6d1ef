"""NASNet-A and PNASNet-5 specifics (nets/nasnet/).

The registry-wide tests (tests/test_nets_factory.py) check every model's
variables, end points and parameter count against Slim's reference lists at
the default size. This file checks what is particular to the family: drop
path reads the global step in training and is off at evaluation, the aux head
exists only in training, num_classes 0/None returns the pooled features,
final_endpoint, NCHW, the smallest input the aux head accepts, the registry
rows and error messages. It uses variants with 1-2 cells of the published
configurations: building these graphs costs per variable, not per pixel, and
a full NASNet takes 10-20 s to build.
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import json
import os

import numpy as np
import pytest
import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import nets_factory
from nets.nasnet import nasnet
from nets.nasnet import nasnet_utils
from nets.nasnet import pnasnet

# Its tests share module fixtures or cached builds: one worker runs them all
# (make test uses --dist loadgroup).
pytestmark = pytest.mark.xdist_group('test_nasnet')

# Two cells and two reductions: reductions before cells 0 and 1, aux on cell 0.
TINY_CIFAR = nasnet.CIFAR_CONFIG._replace(num_cells=2)
TINY_MOBILE = nasnet.MOBILE_IMAGENET_CONFIG._replace(num_cells=2)
TINY_PNASNET = pnasnet.MOBILE_IMAGENET_CONFIG._replace(num_cells=2)
# One normal cell, no reductions, no aux head.
ONE_CELL_CIFAR = nasnet.CIFAR_CONFIG._replace(num_cells=1,
                                              num_reduction_layers=0)

# The smallest square input an ImageNet-stem model builds in training mode:
# the aux head's 5x5 pooling needs a 5x5 map at 1/16 of the input.
MIN_TRAINING_SIZE = 67


def _build(builder, config, size, is_training=True, num_classes=7,
           global_step=True, **kwargs):
  graph = tf.Graph()
  with graph.as_default():
    if global_step:
      tf.train.get_or_create_global_step()
    images = tf.placeholder(tf.float32, [2, size, size, 3])
    with slim.arg_scope(nasnet.nasnet_mobile_arg_scope(weight_decay=0.0)):
      logits, end_points = builder(images, num_classes, is_training=is_training,
                                   config=config, **kwargs)
  return graph, images, logits, end_points


def _variables(graph):
  with graph.as_default():
    return [(v.op.name, v.shape.as_list()) for v in tf.global_variables()]


def _drop_path_draws(graph):
  """RandomUniform ops of drop path (the final layer's dropout excluded)."""
  return [op.name for op in graph.get_operations()
          if op.type == 'RandomUniform' and
          not op.name.startswith('final_layer/')]


def _reads_global_step(graph):
  """Whether an op of the model (not the step's own) reads the global step."""
  def is_step(name):
    return name == 'global_step' or name.startswith('global_step/')
  return any(is_step(inp.op.name) for op in graph.get_operations()
             if not is_step(op.name) for inp in op.inputs)


def _num_dropped_operations(spec):
  return sum(op != 'none' for op in spec.operations)


# Graphs shared by several tests (building is the expensive part).
@pytest.fixture(scope='module')
def cifar_train():
  # No global step beforehand: drop path must create it itself.
  return _build(nasnet.build_nasnet, TINY_CIFAR, 32, global_step=False)


@pytest.fixture(scope='module')
def cifar_eval():
  return _build(nasnet.build_nasnet, TINY_CIFAR, 32, is_training=False,
                global_step=False)


@pytest.fixture(scope='module')
def mobile_train():
  return _build(nasnet.build_nasnet, TINY_MOBILE, MIN_TRAINING_SIZE)


@pytest.fixture(scope='module')
def pnasnet_train():
  return _build(pnasnet.build_pnasnet, TINY_PNASNET, MIN_TRAINING_SIZE)


@pytest.fixture(scope='module')
def pnasnet_eval():
  return _build(pnasnet.build_pnasnet, TINY_PNASNET, MIN_TRAINING_SIZE,
                is_training=False)


def test_drop_path_reads_global_step_in_training(cifar_train):
  graph = cifar_train[0]
  assert _reads_global_step(graph)
  # One Bernoulli draw per non-identity operation of the 4 cells (2 normal,
  # 2 reduction).
  expected = 2 * (_num_dropped_operations(nasnet_utils.NASNET_A_NORMAL) +
                  _num_dropped_operations(nasnet_utils.NASNET_A_REDUCTION))
  assert len(_drop_path_draws(graph)) == expected == 34
  # Created when missing, outside every cell scope, as the first variable.
  with graph.as_default():
    assert tf.train.get_global_step().op.name == 'global_step'
    assert tf.global_variables()[0].op.name == 'global_step'


def test_drop_path_is_off_at_eval(cifar_eval):
  graph = cifar_eval[0]
  assert not _drop_path_draws(graph)
  assert 'RandomUniform' not in [op.type for op in graph.get_operations()]
  with graph.as_default():
    assert tf.train.get_global_step() is None  # neither read nor created


def test_mobile_has_no_drop_path(mobile_train):
  graph = mobile_train[0]
  assert not _drop_path_draws(graph)
  assert not _reads_global_step(graph)


def test_drop_path_schedule(monkeypatch):
  """keep_prob = 1 - min(1, step/T) * (cell_num + 1)/num_cells * (1 - p)."""
  kept = []

  @slim.add_arg_scope
  def record_keep_prob(net, keep_prob, is_training=True):
    assert is_training
    kept.append(keep_prob)
    return net

  monkeypatch.setattr(nasnet_utils, 'drop_path', record_keep_prob)
  config = ONE_CELL_CIFAR
  graph = tf.Graph()
  with graph.as_default():
    step = tf.placeholder(tf.int64, [])
    nasnet.build_nasnet(tf.zeros([1, 8, 8, 3]), 7, is_training=True,
                        config=config, current_step=step)
    assert len(kept) == _num_dropped_operations(nasnet_utils.NASNET_A_NORMAL)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      total = config.total_training_steps
      # num_cells + 2 = 3 cells for the depth scaling; cell_0 has cell_num 0.
      layer_drop = (0 + 1) / 3.0 * (1 - config.drop_path_keep_prob)
      for value, progress in ((0, 0.0), (total // 2, 0.5), (3 * total, 1.0)):
        got = sess.run(kept, {step: value})
        np.testing.assert_allclose(got, 1 - progress * layer_drop, rtol=1e-6)


def test_drop_path_drops_whole_examples():
  with tf.Graph().as_default():
    net = tf.ones([4000, 2, 2, 3])
    dropped = nasnet_utils.drop_path(net, 0.75, is_training=True)
    assert nasnet_utils.drop_path(net, 0.75, is_training=False) is net
    with tf.Session() as sess:
      out = sess.run(dropped)
  per_example = out.reshape(4000, -1)
  assert set(np.unique(per_example)) <= {0.0, np.float32(1 / 0.75)}
  assert np.all(per_example.min(axis=1) == per_example.max(axis=1))
  assert abs((per_example[:, 0] > 0).mean() - 0.75) < 0.03


def _aux_variables(graph):
  return [n for n, _ in _variables(graph) if n.startswith('aux_')]


def test_nasnet_aux_head_only_when_training(cifar_train, cifar_eval):
  train, _, logits, end_points = cifar_train
  assert end_points['AuxLogits'].shape.as_list() == [2, 7]
  assert logits.shape.as_list() == [2, 7]
  aux = _aux_variables(train)
  assert len(aux) == 12  # proj, Conv, FC weights and biases, 2 BN x 4
  assert all(n.startswith('aux_0/aux_logits/') for n in aux)

  evaluation, _, logits, end_points = cifar_eval
  assert 'AuxLogits' not in end_points
  assert logits.shape.as_list() == [2, 7]
  assert _variables(evaluation) == [
      v for v in _variables(train) if v[0] not in aux + ['global_step']]


def test_nasnet_mobile_aux_head(mobile_train):
  graph, _, _, end_points = mobile_train
  assert end_points['AuxLogits'].shape.as_list() == [2, 7]
  # At the smallest input the aux conv covers the 1x1 map left by pooling.
  assert ('aux_0/aux_logits/Conv/weights', [1, 1, 128, 768]) in _variables(
      graph)


def test_pnasnet_aux_head_only_when_training(pnasnet_train, pnasnet_eval):
  train, _, logits, end_points = pnasnet_train
  assert list(end_points) == ['Stem', 'Cell_0', 'AuxLogits', 'Cell_1',
                              'global_pool', 'Logits', 'Predictions']
  assert end_points['AuxLogits'].shape.as_list() == [2, 7]
  aux = _aux_variables(train)
  assert len(aux) == 12 and all(n.startswith('aux_0/') for n in aux)

  evaluation, _, logits, end_points = pnasnet_eval
  assert 'AuxLogits' not in end_points
  assert logits.shape.as_list() == [2, 7]
  assert _variables(evaluation) == [
      v for v in _variables(train) if v[0] not in aux]


def test_no_classes_returns_pooled_features():
  graph, _, net, end_points = _build(nasnet.build_nasnet, TINY_CIFAR, 32,
                                     num_classes=0)
  # After 2 reductions: 6 unused states of 32 x 2 x 2 = 128 filters each.
  assert net.shape.as_list() == [2, 768]
  assert net is end_points['global_pool']
  assert list(end_points)[-1] == 'global_pool'
  assert 'AuxLogits' not in end_points and 'Logits' not in end_points
  assert not [n for n, _ in _variables(graph)
              if n.startswith(('aux_', 'final_layer/'))]


def test_num_classes_none_is_zero():
  _, _, net, end_points = _build(nasnet.build_nasnet, ONE_CELL_CIFAR, 8,
                                 num_classes=None)
  assert net.shape.as_list() == [2, 192]
  assert list(end_points) == ['Stem', 'Cell_0', 'global_pool']


def test_end_points_in_build_order(cifar_train):
  _, _, logits, end_points = cifar_train
  assert list(end_points) == [
      'Stem', 'Reduction_Cell_0', 'Cell_0', 'AuxLogits', 'Reduction_Cell_1',
      'Cell_1', 'global_pool', 'Logits', 'Predictions']
  assert end_points['Logits'] is logits
  assert end_points['Cell_1'].shape.as_list() == [2, 8, 8, 768]


def test_final_endpoint_stops_the_build():
  graph, _, net, end_points = _build(pnasnet.build_pnasnet, TINY_PNASNET,
                                     MIN_TRAINING_SIZE, final_endpoint='Stem')
  assert list(end_points) == ['Stem']
  assert net is end_points['Stem']
  assert net.shape.as_list() == [2, 9, 9, 135]
  assert not [n for n, _ in _variables(graph) if n.startswith('cell_0/')]


def test_unknown_final_endpoint_lists_valid_names():
  with pytest.raises(ValueError) as err:
    _build(nasnet.build_nasnet, TINY_CIFAR, 32, final_endpoint='Cell_9')
  assert "'Cell_9'" in str(err.value)
  assert ('Stem, Reduction_Cell_0, Cell_0, Reduction_Cell_1, Cell_1, '
          'global_pool, Logits, Predictions') in str(err.value)


def test_nchw_builds_the_same_variables(cifar_train):
  nhwc, _, _, nhwc_points = cifar_train
  nchw, _, logits, nchw_points = _build(
      nasnet.build_nasnet, TINY_CIFAR._replace(data_format='NCHW'), 32,
      global_step=False)
  assert _variables(nchw) == _variables(nhwc)
  assert nchw_points['Cell_1'].shape.as_list() == [2, 768, 8, 8]
  assert nhwc_points['Cell_1'].shape.as_list() == [2, 8, 8, 768]
  assert nchw_points['AuxLogits'].shape.as_list() == [2, 7]
  assert logits.shape.as_list() == [2, 7]


def test_smallest_training_input(mobile_train):
  _, _, logits, end_points = mobile_train
  assert end_points['Cell_0'].shape.as_list()[1:3] == [5, 5]
  assert logits.shape.as_list() == [2, 7]
  with pytest.raises(ValueError) as err:
    _build(nasnet.build_nasnet, TINY_MOBILE, MIN_TRAINING_SIZE - 1)
  assert 'aux_0' in str(err.value) and 'got 4x4' in str(err.value)


@pytest.mark.parametrize('field,value,message', [
    ('data_format', 'NHCW', "Unknown data_format 'NHCW'; expected one of: "
                            "NCHW, NHWC"),
    ('stem_type', 'mnist', "Unknown stem_type 'mnist'; expected one of: "
                           "cifar, imagenet"),
])
def test_bad_config_raises(field, value, message):
  with pytest.raises(ValueError) as err:
    _build(nasnet.build_nasnet, TINY_CIFAR._replace(**{field: value}), 32)
  assert message in str(err.value)


def test_pnasnet_rejects_cifar_stem():
  with pytest.raises(ValueError) as err:
    _build(pnasnet.build_pnasnet, TINY_PNASNET._replace(stem_type='cifar'), 32)
  assert "stem_type 'imagenet' only; got 'cifar'" in str(err.value)


def test_bad_cell_table_raises():
  with pytest.raises(ValueError) as err:
    nasnet_utils.parse_operation('separable_3x5_2')
  assert "'separable_3x5_2'" in str(err.value)
  spec = nasnet_utils.NASNET_A_NORMAL._replace(
      hiddenstate_indices=(0, 1, 1, 1, 0, 1, 1, 1, 0, 7))
  with pytest.raises(ValueError) as err:
    nasnet_utils.NasNetABaseCell(spec, 8, 1.0, 4, 100)
  assert 'hiddenstate_indices[9] = 7' in str(err.value)


def test_calc_reduction_layers():
  assert nasnet_utils.calc_reduction_layers(18, 2) == [6, 12]
  assert nasnet_utils.calc_reduction_layers(12, 2) == [4, 8]
  assert nasnet_utils.calc_reduction_layers(9, 2) == [3, 6]


@pytest.mark.parametrize('name', ['nasnet_cifar', 'nasnet_mobile',
                                  'nasnet_large', 'pnasnet_mobile',
                                  'pnasnet_large'])
def test_registered_without_attention(name):
  spec = nets_factory.get_model_spec(name)
  assert not spec.supports_attention
  reference = os.path.join(os.path.dirname(__file__), 'data',
                           'slim_variables', name + '.json')
  with open(reference) as f:
    size = json.load(f)['default_image_size']
  assert spec.default_image_size == spec.builder.default_image_size == size
  assert spec.preprocessing == ('cifarnet' if name == 'nasnet_cifar'
                                else 'inception')
  with pytest.raises(ValueError) as err:
    nets_factory.get_network_fn(name, 7, attention_module='se_block')
  assert "%s does not support attention_module='se_block'" % name in str(
      err.value)
