"""SE in the Inception family: parameter targets, placement, one training step.

Inception-v4 and Inception-ResNet-v2 are the SE paper's [1] headline Inception
models; Inception-v3 takes SE too. Each SE graph is built once per ratio at
the default 299 x 299 size (graph construction only, no session), where the
non-SE variables must be exactly Slim's reference list, so the extra
parameters are measured against the reference count. Inception-v4 is also
built at r=8 at a reduced 75 x 75 input without the auxiliary head (whose 5x5
pooling needs 107 x 107), checked against the formula and trained for one
step in a session. Graph construction dominates the run time, so
each graph is built once and shared; gradients reaching every variable of
every SE model are checked by tests/test_nets_factory.py.

[1] Hu et al., Squeeze-and-Excitation Networks, arXiv:1709.01507.
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import functools

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from nets import attention
from nets import nets_factory
from tests import nets_testutil as util

# Its tests share module fixtures or cached builds: one worker runs them all
# (make test uses --dist loadgroup).
pytestmark = pytest.mark.xdist_group('test_inception_se')


def _blocks(prefix, letters):
  return [prefix + c for c in letters]


# The SE blocks each model must contain, in build order: (scope, channels).
_V4_SE = ([('InceptionV4/' + s, 384) for s in _blocks('Mixed_5', 'bcde')] +
          [('InceptionV4/' + s, 1024) for s in _blocks('Mixed_6', 'bcdefgh')] +
          [('InceptionV4/' + s, 1536) for s in _blocks('Mixed_7', 'bcd')])
_IRV2_SE = (
    [('InceptionResnetV2/Repeat/block35_%d' % i, 320) for i in range(1, 11)] +
    [('InceptionResnetV2/Repeat_1/block17_%d' % i, 1088)
     for i in range(1, 21)] +
    [('InceptionResnetV2/Repeat_2/block8_%d' % i, 2080) for i in range(1, 10)] +
    [('InceptionResnetV2/Block8', 2080)])
_V3_SE = [('InceptionV3/' + s, c) for s, c in [
    ('Mixed_5b', 256), ('Mixed_5c', 288), ('Mixed_5d', 288),
    ('Mixed_6a', 768), ('Mixed_6b', 768), ('Mixed_6c', 768),
    ('Mixed_6d', 768), ('Mixed_6e', 768), ('Mixed_7a', 1280),
    ('Mixed_7b', 2048), ('Mixed_7c', 2048)]]

EXPECTED_SE = {
    'inception_v4': _V4_SE,
    'inception_resnet_v2': _IRV2_SE,
    'inception_v3': _V3_SE,
}
MODELS = sorted(EXPECTED_SE)


@functools.lru_cache(maxsize=None)
def _se_build(name, ratio):
  """SE model at Slim's reference settings (299, 1001 classes, training)."""
  graph, _, _, end_points = util.build(name, 1001, attention_module='se_block',
                                       reduction_ratio=ratio)
  return graph, end_points


def _gates(end_points):
  return [(k, v) for k, v in end_points.items() if k.endswith('/excitation')]


def _consumer(tensor, op_type):
  ops = [op for op in tensor.consumers() if op.type == op_type]
  assert len(ops) == 1, (tensor.name, [op.type for op in tensor.consumers()])
  return ops[0]


def _se_input_and_output(gate):
  """(tensor the SE block gates, gated result) for an excitation gate."""
  scale = _consumer(gate, 'Mul')
  gated = [t for t in scale.inputs if t is not gate]
  assert len(gated) == 1
  return gated[0], scale.outputs[0]


def test_paper_models_hit_the_parameter_targets_at_r16():
  for name, target in [('inception_v4', 1890112),
                       ('inception_resnet_v2', 8543980)]:
    graph, _ = _se_build(name, 16)
    ref = util.load_reference(name)
    assert util.trainable_param_count(graph) - ref['total_params'] == target
    # The same number from the per-block formula.
    assert sum(attention.se_param_count(c, 16)
               for _, c in EXPECTED_SE[name]) == target


def _expected_se_variables(name, ratio):
  expected = []
  for scope, channels in EXPECTED_SE[name]:
    units = attention.se_units(channels, ratio)
    expected += [(scope + '/se/fc1/weights', [1, 1, channels, units]),
                 (scope + '/se/fc1/biases', [units]),
                 (scope + '/se/fc2/weights', [1, 1, units, channels]),
                 (scope + '/se/fc2/biases', [channels])]
  return expected


@pytest.mark.parametrize('name', MODELS)
def test_se_adds_only_se_variables_and_formula_params(name):
  graph, _ = _se_build(name, 16)
  ref = util.load_reference(name)
  variables = util.model_variables(graph)
  se_vars = [(n, s) for n, s in variables if '/se/' in n]
  # With the SE variables removed, exactly Slim's list, in Slim's order.
  assert [v for v in variables if v not in se_vars] == [
      (n, s) for n, s in ref['variables']]
  # Each expected block holds fc1/fc2 weights and biases, nothing else.
  assert se_vars == _expected_se_variables(name, 16)
  assert (util.trainable_param_count(graph) - ref['total_params'] ==
          sum(attention.se_param_count(c, 16) for _, c in EXPECTED_SE[name]))


def test_formula_at_r8_gives_the_expected_totals():
  # Independent arithmetic: C/8 units, 2*C*C/8 + C/8 + C per block.
  v4 = 4 * (2 * 384 * 48 + 48 + 384) + 7 * (2 * 1024 * 128 + 128 + 1024) + (
      3 * (2 * 1536 * 192 + 192 + 1536))
  irv2 = 10 * (2 * 320 * 40 + 40 + 320) + 20 * (2 * 1088 * 136 + 136 + 1088) + (
      10 * (2 * 2080 * 260 + 260 + 2080))
  assert (v4, irv2) == (3766912, 17042200)
  assert sum(attention.se_param_count(c, 8) for _, c in _IRV2_SE) == irv2
  # Measured on the r=8 Inception-v4 graph of the training test.
  run = _train_one_step('inception_v4')
  assert run['se_variables'] == _expected_se_variables('inception_v4', 8)
  assert run['se_param_count'] == v4
  # The other variables keep Slim's names and order (the auxiliary head is
  # not built here; at 75 x 75 only the classifier width differs).
  assert run['other_names'] == [
      n for n, _ in util.load_reference('inception_v4')['variables']
      if '/AuxLogits/' not in n]


@pytest.mark.parametrize('name,count', [('inception_v4', 14),
                                        ('inception_resnet_v2', 40),
                                        ('inception_v3', 11)])
def test_excitation_end_points_count_and_channels(name, count):
  _, end_points = _se_build(name, 16)
  gates = _gates(end_points)
  assert len(gates) == count
  assert [(k, v.shape.as_list()) for k, v in gates] == [
      (scope + '/se/excitation', [1, 1, 1, c])
      for scope, c in EXPECTED_SE[name]]
  # The reference end points are all still there, in order, before the gates.
  ref = util.load_reference(name)
  assert list(end_points)[:len(ref['end_points'])] == list(ref['end_points'])


@pytest.mark.parametrize('name', ['inception_v4', 'inception_v3'])
def test_inception_se_gates_each_block_concat_output(name):
  _, end_points = _se_build(name, 16)
  for key, gate in _gates(end_points):
    block = key.split('/')[1]  # e.g. 'Mixed_6b'
    gated, output = _se_input_and_output(gate)
    assert gated.op.type == 'ConcatV2', key
    assert output is end_points[block], key


def test_inception_resnet_se_gates_residual_branch_before_the_add():
  _, end_points = _se_build('inception_resnet_v2', 16)
  gates = _gates(end_points)
  unit_input = end_points['Mixed_5b']  # shortcut of the first block35
  for key, gate in gates:
    gated, output = _se_input_and_output(gate)
    # SE reads the linear up-projection of the residual branch...
    assert gated.op.type == 'BiasAdd', key
    assert gated.op.name.endswith('/Conv2d_1x1/BiasAdd'), key
    # ...and its output is scaled, then added to the ungated shortcut.
    scaled = _consumer(output, 'Mul').outputs[0]
    add = [op for op in scaled.consumers() if op.type in ('Add', 'AddV2')]
    assert len(add) == 1, key
    shortcut = [t for t in add[0].inputs if t is not scaled]
    assert len(shortcut) == 1
    if key.startswith('InceptionResnetV2/Repeat/block35_1/'):
      assert shortcut[0] is unit_input
    assert 'se' not in shortcut[0].op.name.split('/'), key


@functools.lru_cache(maxsize=None)
def _train_one_step(name):
  """Builds `name` with SE at r=8 (75 x 75, 5 classes) and takes one step.

  Returns:
    A dict with the SE variables `[(name, shape)]`, their trainable parameter
    count, the other variables' names, the loss before and after one SGD
    step on a fixed batch, and whether each SE variable changed.
  """
  graph = tf.Graph()
  with graph.as_default():
    tf.set_random_seed(1)
    tf.train.get_or_create_global_step()
    network_fn = nets_factory.get_network_fn(
        name, 5, is_training=True, attention_module='se_block',
        reduction_ratio=8)
    images = tf.constant(np.random.RandomState(0).uniform(
        -1, 1, [2, 75, 75, 3]).astype(np.float32))
    # Without dropout, training mode is deterministic (batch statistics), so
    # the losses before and after the step are comparable.
    logits, _ = network_fn(images, dropout_keep_prob=1.0,
                           create_aux_logits=False)
    loss = tf.losses.sparse_softmax_cross_entropy(tf.constant([1, 3]), logits)
    se_vars = [v for v in tf.trainable_variables() if '/se/' in v.op.name]
    optimizer = tf.train.GradientDescentOptimizer(0.01)
    grads_and_vars = optimizer.compute_gradients(loss)
    se_grads = [g for g, v in grads_and_vars if '/se/' in v.op.name]
    with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
      train_op = optimizer.apply_gradients(grads_and_vars)
    # Grappler's rewrites of this large graph cost more than they save for
    # a single step.
    config = tf.ConfigProto()
    config.graph_options.rewrite_options.disable_meta_optimizer = True
    with tf.Session(graph=graph, config=config) as sess:
      sess.run(tf.global_variables_initializer())
      se_before = sess.run(se_vars)
      loss_before, se_grad_values, _ = sess.run([loss, se_grads, train_op])
      loss_after, se_after = sess.run([loss, se_vars])
    return {
        'se_variables': [(n, s) for n, s in util.model_variables(graph)
                         if '/se/' in n],
        'se_param_count': sum(v.shape.num_elements() for v in se_vars),
        'other_names': [n for n, _ in util.model_variables(graph)
                        if '/se/' not in n],
        'loss_before': loss_before,
        'loss_after': loss_after,
        'se_changed': [not np.array_equal(a, b)
                       for a, b in zip(se_before, se_after)],
        'se_grad_nonzero': [bool(np.all(np.isfinite(g)) and np.abs(g).max() > 0)
                            for g in se_grad_values],
    }


def test_se_inception_v4_trains_one_step():
  name = 'inception_v4'
  run = _train_one_step(name)
  assert np.isfinite(run['loss_before']) and np.isfinite(run['loss_after'])
  # One SGD step need not lower a batch-norm net's loss on 2 images (that
  # depends on the CPU's arithmetic). What SE needs: every SE weight and bias
  # got a non-zero gradient, and the step changed it.
  assert len(run['se_changed']) == 4 * len(EXPECTED_SE[name])
  assert len(run['se_grad_nonzero']) == len(run['se_changed'])
  assert all(run['se_grad_nonzero'])
  assert all(run['se_changed'])
