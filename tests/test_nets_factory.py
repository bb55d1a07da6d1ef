"""Tests generated from the model registry: every model x attention module.

One build per (model, attention setting), with num_classes=7 at the model's
default image size and batch 1, as Slim's training builds it (training mode,
global step first). Against the published model's reference list in
tests/data/slim_variables/ (built with 1001 classes), with the class
dimension read as 7:
  * the variables (names, shapes, creation order) and end points are the
    reference's; with attention on, the extra variables are the module's
    only, each block's gate is an end point, and the parameter increase is
    the SE formula;
  * the parameter count is the reference's less the class rows;
  * every trainable variable receives a gradient (an SE branch built but not
    connected would not), and a forward run gives finite `[1, 7]` logits.
A model that does not take attention raises, naming the models that do.
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import collections

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from nets import attention
from nets import nets_factory
from nets import senet
from tests import nets_testutil as util

NAMES = nets_factory.names()
ATTENTION = [None] + attention.names()
# The released SENets have no Slim reference; tests/test_senet.py checks
# them against timm's key manifest and logits instead.
SLIM_NAMES = [n for n in NAMES if n not in senet.MODELS]


def _cases():
  for name in SLIM_NAMES:
    for module in ATTENTION:
      if module and not nets_factory.get_model_spec(name).supports_attention:
        continue
      yield pytest.param(name, module,
                         id=name + ('_' + module if module else ''))


def _unsupported_cases():
  for name in NAMES:
    if not nets_factory.get_model_spec(name).supports_attention:
      for module in attention.names():
        yield pytest.param(name, module, id='%s_%s' % (name, module))


NUM_CLASSES = 7


def _with_classes(shape, ref_classes):
  """`shape` with a trailing class dimension of the reference set to 7."""
  if shape and shape[-1] == ref_classes:
    return shape[:-1] + [NUM_CLASSES]
  return shape


@pytest.mark.parametrize('name,module', list(_cases()))
def test_model_against_reference(name, module):
  ref = util.load_reference(name)
  ref_classes = ref['num_classes']
  graph, images, logits, end_points = util.build(
      name, NUM_CLASSES, attention_module=module)
  assert nets_factory.get_network_fn(
      name, 10).default_image_size == ref['default_image_size']
  assert logits.shape.as_list() == _with_classes(ref['logits_shape'],
                                                 ref_classes)

  expected = [(n, _with_classes(s, ref_classes)) for n, s in ref['variables']]
  variables = util.model_variables(graph)
  extra = [v for v in variables if v not in expected]
  # Every published variable is there, in the published order.
  assert [v for v in variables if v not in extra] == expected
  gates = collections.OrderedDict(
      (k, v) for k, v in end_points.items() if k.endswith('/excitation'))
  se_params = sum(attention.se_param_count(g.shape[-1].value, 16)
                  for g in gates.values())
  if module:
    assert extra and all('/se/' in n for n, _ in extra)
    assert len(extra) == 4 * len(gates)  # fc1, fc2: weights and biases each
  else:
    assert not extra and not gates
  assert [(k, v.shape.as_list()) for k, v in end_points.items()
          if k not in gates] == [(k, _with_classes(v, ref_classes))
                                 for k, v in ref['end_points'].items()]
  class_rows = sum(np.prod(s) - np.prod(_with_classes(s, ref_classes))
                   for _, s in ref['variables'])
  assert class_rows > 0  # the logits layer(s) were found
  assert util.trainable_param_count(graph) == (
      ref['total_params'] - class_rows + se_params)

  with graph.as_default():
    labels = tf.one_hot([3], NUM_CLASSES)
    loss = tf.losses.softmax_cross_entropy(labels, logits)
    if 'AuxLogits' in end_points:
      # As Slim's training adds it; otherwise the aux head gets no gradient.
      loss += 0.4 * tf.losses.softmax_cross_entropy(
          labels, tf.reshape(end_points['AuxLogits'], [1, NUM_CLASSES]))
    variables = tf.trainable_variables()
    grads = tf.gradients(loss, variables)
    assert not [v.op.name for v, g in zip(variables, grads) if g is None]
    with tf.Session(config=util.FAST_SESSION) as sess:
      sess.run(tf.global_variables_initializer())
      batch = np.random.RandomState(0).uniform(
          -1, 1, images.shape.as_list()).astype(np.float32)
      out = sess.run(logits, {images: batch})
  assert out.shape == (1, NUM_CLASSES)
  assert np.all(np.isfinite(out))


@pytest.mark.parametrize('name,module', list(_unsupported_cases()))
def test_model_without_attention_support_raises(name, module):
  with pytest.raises(ValueError) as err:
    nets_factory.get_network_fn(name, 7, attention_module=module)
  message = str(err.value)
  assert name in message and repr(module) in message
  assert ', '.join(nets_factory.attention_model_names()) in message


def test_unknown_model_lists_valid_names():
  with pytest.raises(ValueError) as err:
    nets_factory.get_network_fn('resnet_v1_51', 7)
  assert "'resnet_v1_51'" in str(err.value)
  assert ', '.join(NAMES) in str(err.value)


def test_unknown_attention_module_lists_valid_names():
  with pytest.raises(ValueError) as err:
    nets_factory.get_network_fn('resnet_v1_50', 7, attention_module='sse')
  assert str(err.value) == (
      "Unknown attention_module 'sse'; expected one of: " +
      ', '.join(attention.names()))


@pytest.mark.parametrize('ratio', [0, -16, 2.5, '16', True, None])
def test_bad_reduction_ratio_raises(ratio):
  with pytest.raises(ValueError) as err:
    nets_factory.get_network_fn('resnet_v1_50', 7,
                                attention_module='se_block',
                                reduction_ratio=ratio)
  assert repr(ratio) in str(err.value)
  assert 'positive integer' in str(err.value)


def test_slim_compatible_maps_agree_with_registry():
  assert sorted(nets_factory.networks_map) == NAMES
  assert sorted(nets_factory.arg_scopes_map) == NAMES
  for name in NAMES:
    spec = nets_factory.get_model_spec(name)
    assert nets_factory.networks_map[name] is spec.builder
    assert nets_factory.arg_scopes_map[name] is spec.arg_scope


def test_every_reference_model_is_registered():
  import glob
  import os
  reference = sorted(
      os.path.basename(p)[:-len('.json')]
      for p in glob.glob(os.path.join(util.REFERENCE_DIR, '*.json')))
  assert reference == SLIM_NAMES
