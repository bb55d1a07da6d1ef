"""Registry tests generated for every attention module in `nets.attention`.

For each registered module, on a small input under a ResNet arg_scope: the
block keeps the shape, adds exactly the variables its registry pattern names
(under its fixed sub-scope) and exactly its formula's trainable parameters,
passes gradients into every one of them, records its gates, and starts as
identity as its entry says (or refuses, saying why). Plus the value
semantics of `bind` and the errors users see. A new module is covered here
with no edit to this file.
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import numpy as np
import pytest
import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import attention
from nets import resnet_v1
from train_lib import errors
from train_lib import finetune

MODULES = attention.names()
# Channel counts of the SE paper's ResNet-50 stages and a tiny one, where
# integer division (C // r) and the adaptive rules change.
CHANNELS = [24, 256]


def _build(module, channels, gate=None, is_training=True):
  """Builds `module` on a [2, 6, 5, channels] input; returns its pieces."""
  x = np.random.RandomState(channels).normal(
      size=(2, 6, 5, channels)).astype(np.float32)
  graph = tf.Graph()
  with graph.as_default():
    tf.set_random_seed(0)
    inputs = tf.constant(x)
    before = len(tf.get_collection(attention.EXCITATIONS))
    with slim.arg_scope(resnet_v1.resnet_arg_scope()):
      with slim.arg_scope([slim.batch_norm], is_training=is_training):
        with tf.variable_scope('unit'):
          out = attention.apply_attention(module, inputs)
    gates = attention.collected_excitations(start=before)
  return graph, x, out, gates


@pytest.mark.parametrize('channels', CHANNELS)
@pytest.mark.parametrize('module', MODULES)
def test_module_variables_formula_gradients_and_gates(module, channels):
  graph, x, out, gates = _build(module, channels)
  entry = attention.get_module(module)
  assert out.shape.as_list() == list(x.shape)
  with graph.as_default():
    names = [v.op.name for v in tf.global_variables()]
    entry = attention.get_module(module)
    assert names and all(n.startswith('unit/%s/' % entry.scope)
                         for n in names)
    assert all(attention.module_of_variable(n).name == module for n in names)
    trainable = tf.trainable_variables()
    assert sum(v.shape.num_elements() for v in trainable) == (
        attention.bind(module).param_count(channels))
    grads = tf.gradients(tf.reduce_sum(out * out), trainable)
    assert not [v.op.name for v, g in zip(trainable, grads) if g is None]
  prefix = 'unit/%s/' % entry.scope
  assert list(gates) == [prefix + g for g in entry.gates]
  assert gates[prefix + entry.gates[0]].shape.as_list()[-1] == channels
  for alias in gates:
    assert attention.is_gate_end_point(alias)
    tag = attention.gate_summary_tag(alias)
    assert tag == '%s_%s/unit/%s' % (entry.scope, alias.split('/')[-1],
                                     entry.scope)


@pytest.mark.parametrize('module', MODULES)
def test_identity_start(module):
  """Fresh attention starts with every gate ~IDENTITY_GATE, or refuses."""
  graph, x, out, gates = _build(module, 32)
  entry = attention.get_module(module)
  with graph.as_default():
    variables = tf.global_variables()
    if isinstance(entry.identity_init, str):
      with pytest.raises(errors.UserError) as err:
        finetune.identity_init_op(variables)
      message = str(err.value)
      assert module in message and entry.identity_init in message
      assert ', '.join(n for n in MODULES if not isinstance(
          attention.get_module(n).identity_init, str)) in message
      return
    op, counts = finetune.identity_init_op(variables)
    assert dict(counts) == {module: 1}
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      sess.run(op)
      got_out, got_gates = sess.run([out, gates])
  gate = finetune.IDENTITY_GATE
  for value in got_gates.values():
    np.testing.assert_allclose(value, gate, rtol=0, atol=1e-6)
  # Each gate scales by `gate`: the block is ~identity, to 1e-4 per gate.
  np.testing.assert_allclose(got_out, x * gate ** len(entry.gates),
                             rtol=1e-5, atol=1e-6)


def test_bind_is_one_hashable_value():
  se = attention.bind('se_block', reduction_ratio=8)
  assert se == attention.bind(('se_block', {'reduction_ratio': 8}))
  assert se != attention.bind('se_block')
  assert hash(se) == hash(attention.bind('se_block', reduction_ratio=8))
  assert se.kwargs == {'reduction_ratio': 8}
  assert attention.bind(se, position='pre').position == 'pre'
  for off in (None, '', attention.OFF):
    assert attention.bind(off) is None


@pytest.mark.parametrize('module', MODULES)
def test_defaults_are_valid_and_unknown_hparams_raise(module):
  entry = attention.get_module(module)
  bound = attention.bind(module)
  assert bound.kwargs == {k: h.default for k, h in entry.hparams.items()}
  with pytest.raises(ValueError) as err:
    attention.bind(module, ratio=3)
  assert str(err.value) == '%s takes no hyper-parameter ratio; it takes: %s' % (
      module, ', '.join(entry.hparams) or 'none')
  assert attention.bind(module, ratio=3, ignore_unknown=True) == bound


def test_unknown_position_lists_positions():
  with pytest.raises(ValueError) as err:
    attention.bind('se_block', position='middle')
  assert str(err.value) == (
      "Unknown attention_position 'middle'; expected one of: " +
      ', '.join(attention.POSITIONS))


def test_flag_choices_are_the_modules_and_none():
  assert attention.flag_choices() == sorted(MODULES + ['none'])


def test_apply_attention_only_at_its_position():
  with tf.Graph().as_default():
    x = tf.zeros([1, 4, 4, 8])
    pre = attention.bind('se_block', position='pre')
    assert attention.apply_attention(pre, x) is x  # the 'standard' point
    assert attention.apply_attention(pre, x, position='pre') is not x
