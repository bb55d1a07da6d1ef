"""Tests generated from the model registry: every model x attention module.

For each name in `nets_factory.names()`:
  * with attention off, at Slim's reference settings (1001 classes, training
    mode, default image size), the variables (names, shapes, creation order),
    the end points and the parameter count equal the published model's
    reference list in tests/data/slim_variables/;
  * for each attention module the model takes, the extra variables are the
    module's only, and the parameter increase is the SE formula;
  * for every accepted attention setting, with num_classes=7 at a small size,
    the logits have shape [batch, 7] when run, and every trainable variable
    receives a gradient (an SE branch built but not connected would not);
  * a model that does not take attention raises, naming the models that do.
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from nets import attention
from nets import nets_factory
from tests import nets_testutil as util

NAMES = nets_factory.names()
ATTENTION = [None] + attention.names()


def _cases():
  for name in NAMES:
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


@pytest.mark.parametrize('name', NAMES)
def test_matches_slim_reference(name):
  ref = util.load_reference(name)
  graph, _, logits, end_points = util.build(name, ref['num_classes'])
  assert util.model_variables(graph) == [
      (n, s) for n, s in ref['variables']]
  assert [(k, v.shape.as_list()) for k, v in end_points.items()] == [
      (k, v) for k, v in ref['end_points'].items()]
  assert util.trainable_param_count(graph) == ref['total_params']
  assert logits.shape.as_list() == ref['logits_shape']
  assert nets_factory.get_network_fn(
      name, 10).default_image_size == ref['default_image_size']


@pytest.mark.parametrize('name', nets_factory.attention_model_names())
@pytest.mark.parametrize('module', attention.names())
def test_attention_adds_only_its_variables(name, module):
  # Off, the model equals the reference (test above), so the reference list
  # stands for the plain model here. Other ratios: see the family tests.
  ref = util.load_reference(name)
  plain_vars = [(n, s) for n, s in ref['variables']]
  graph, _, _, end_points = util.build(name, ref['num_classes'],
                                       attention_module=module)
  se_vars = util.model_variables(graph)
  extra = [v for v in se_vars if v not in plain_vars]
  # Every original variable is still there, in the same order.
  assert [v for v in se_vars if v not in extra] == plain_vars
  assert extra and all('/se/' in n for n, _ in extra)
  gates = {k: v for k, v in end_points.items() if k.endswith('/excitation')}
  assert len(extra) == 4 * len(gates)  # fc1, fc2: weights and biases each
  expected = sum(attention.se_param_count(g.shape[-1].value, 16)
                 for g in gates.values())
  assert util.trainable_param_count(graph) - ref['total_params'] == expected


@pytest.mark.parametrize('name,module', list(_cases()))
def test_runs_and_every_variable_gets_a_gradient(name, module):
  size = util.test_image_size(name)
  graph, images, logits, end_points = util.build(
      name, 7, image_size=size, batch_size=2, attention_module=module)
  assert logits.shape.as_list() == [2, 7]
  assert isinstance(end_points, dict)
  with graph.as_default():
    labels = tf.one_hot([1, 3], 7)
    loss = tf.losses.softmax_cross_entropy(labels, logits)
    if 'AuxLogits' in end_points:
      # As Slim's training adds it; otherwise the aux head gets no gradient.
      loss += 0.4 * tf.losses.softmax_cross_entropy(
          labels, tf.reshape(end_points['AuxLogits'], [2, 7]))
    variables = tf.trainable_variables()
    grads = tf.gradients(loss, variables)
    missing = [v.op.name for v, g in zip(variables, grads) if g is None]
    assert not missing
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      batch = np.random.RandomState(0).uniform(
          -1, 1, images.shape.as_list()).astype(np.float32)
      out = sess.run(logits, {images: batch})
  assert out.shape == (2, 7)
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
  assert reference == NAMES
