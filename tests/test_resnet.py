"""ResNet v1/v2 specifics: Slim checkpoint compatibility and SE overhead."""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import os

import numpy as np
import pytest
import tensorflow.compat.v1 as tf
import tf_slim as slim
from tf_slim.nets import resnet_v1 as slim_resnet_v1
from tf_slim.nets import resnet_v2 as slim_resnet_v2

from nets import attention
from nets import nets_factory
from nets import resnet_common
from nets import resnet_v1
from nets import resnet_v2
from tests import nets_testutil as util


@pytest.mark.parametrize('name,slim_builder,slim_module', [
    ('resnet_v1_50', slim_resnet_v1.resnet_v1_50, slim_resnet_v1),
    ('resnet_v2_50', slim_resnet_v2.resnet_v2_50, slim_resnet_v2),
])
def test_checkpoint_from_tf_slim_nets_gives_same_logits(
    tmp_path, name, slim_builder, slim_module):
  """A checkpoint of tf_slim.nets' model restores into ours, same logits."""
  images = np.random.RandomState(1).uniform(
      -1, 1, (2, 64, 64, 3)).astype(np.float32)
  ckpt = os.path.join(str(tmp_path), 'model.ckpt')

  with tf.Graph().as_default():
    with slim.arg_scope(slim_module.resnet_arg_scope()):
      net, _ = slim_builder(tf.constant(images), num_classes=7,
                            is_training=False, scope=name)
    # Random moving statistics, so batch norm is not the identity.
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      rng = np.random.RandomState(2)
      for v in tf.global_variables():
        if v.op.name.endswith('moving_mean'):
          sess.run(v.assign(rng.normal(0, 0.1, v.shape.as_list())))
        elif v.op.name.endswith('moving_variance'):
          sess.run(v.assign(rng.uniform(0.5, 1.5, v.shape.as_list())))
      expected = sess.run(tf.squeeze(net, [1, 2]))
      tf.train.Saver().save(sess, ckpt)

  graph, inputs, logits, _ = util.build(name, 7, image_size=64, batch_size=2,
                                        is_training=False)
  with graph.as_default():
    saver = tf.train.Saver(slim.get_model_variables())
    with tf.Session() as sess:
      saver.restore(sess, ckpt)
      got = sess.run(logits, {inputs: images})
  assert np.abs(got - expected).max() <= 1e-5
  assert np.abs(expected).max() > 1e-3  # the comparison is not of zeros


@pytest.mark.parametrize('depth,paper_millions', [
    (50, 28.09), (101, 49.3), (152, 66.8)])
def test_se_resnet_parameter_counts_match_paper(depth, paper_millions):
  name = 'resnet_v1_%d' % depth
  # Variable shapes do not depend on the input size. The plain model's count
  # is Slim's published one (its reference list), so only SE is built.
  graph, _, _, _ = util.build(name, 1000, image_size=64,
                              attention_module='se_block')
  units = sum(resnet_common.UNITS_PER_BLOCK[depth])
  assert util.trainable_param_count(graph) == pytest.approx(
      paper_millions * 1e6, rel=0.005)
  # The formula over the units: C = 4 * base depth of the unit's block.
  expected_delta = sum(
      n * attention.se_param_count(4 * base, 16)
      for n, base in zip(resnet_common.UNITS_PER_BLOCK[depth],
                         resnet_common.BASE_DEPTHS))
  assert (util.trainable_param_count(graph) -
          util.reference_param_count(name, 1000)) == expected_delta
  assert units == {50: 16, 101: 33, 152: 50}[depth]


def test_resnet50_parameter_count_without_se():
  graph, _, _, _ = util.build('resnet_v1_50', 1000, image_size=64)
  assert util.trainable_param_count(graph) == pytest.approx(25.56e6, rel=1e-3)
  assert util.trainable_param_count(graph) == util.reference_param_count(
      'resnet_v1_50', 1000)


@pytest.mark.parametrize('module', [resnet_v1, resnet_v2])
def test_tiny_resnet_exact_se_variables_and_formula(module):
  """A slim-style tiny net (bottleneck widths 8..64) pins SE exactly."""
  version = module.__name__.split('.')[-1]
  build = getattr(module, version + '_50')

  def variables(attention_module, ratio=4):
    with tf.Graph().as_default() as g:
      with slim.arg_scope(module.resnet_arg_scope()):
        build(tf.zeros([1, 32, 32, 3]), depth_multiplier=0.125,
              num_classes=5,
              attention_module=attention.bind(attention_module,
                                              reduction_ratio=ratio),
              scope='tiny')
      return dict(util.model_variables(g))

  plain = variables(None)
  se = variables('se_block')
  extra = set(se) - set(plain)
  assert set(plain) <= set(se)
  expected_names = set()
  expected_params = 0
  for b, (units, base) in enumerate(zip(resnet_common.UNITS_PER_BLOCK[50],
                                        (8, 16, 32, 64))):
    for u in range(units):
      prefix = 'tiny/block%d/unit_%d/bottleneck_%s/se/' % (
          b + 1, u + 1, version[-2:])
      expected_names |= {prefix + p for p in (
          'fc1/weights', 'fc1/biases', 'fc2/weights', 'fc2/biases')}
      c = 4 * base
      assert se[prefix + 'fc1/weights'] == [1, 1, c, c // 4]
      assert se[prefix + 'fc2/weights'] == [1, 1, c // 4, c]
      expected_params += 2 * c * (c // 4) + c // 4 + c
  assert extra == expected_names
  assert sum(int(np.prod(se[n])) for n in extra) == expected_params


def test_excitation_end_points_are_gates_per_unit():
  graph, images, _, end_points = util.build(
      'resnet_v2_50', 7, image_size=64, batch_size=2, is_training=False,
      attention_module='se_block')
  gates = [k for k in end_points if k.endswith('/excitation')]
  assert len(gates) == 16
  assert gates[0] == 'resnet_v2_50/block1/unit_1/bottleneck_v2/se/excitation'
  assert end_points[gates[-1]].shape.as_list() == [2, 1, 1, 2048]
  with graph.as_default(), tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    values = sess.run([end_points[k] for k in gates],
                      {images: np.ones([2, 64, 64, 3], np.float32)})
  for v in values:
    # Sigmoid gates; float32 may round a saturated one to exactly 0 or 1.
    assert np.all((v >= 0) & (v <= 1))
    assert v.std() > 1e-3  # channels are weighted differently


def test_se_layers_take_the_models_weight_decay():
  with tf.Graph().as_default():
    network_fn = nets_factory.get_network_fn(
        'resnet_v1_50', 7, weight_decay=1e-4, attention_module='se_block')
    network_fn(tf.zeros([1, 64, 64, 3]))
    regularized = {l.op.name for l in
                   tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)}
    names = [v.op.name for v in tf.trainable_variables()
             if '/se/' in v.op.name and v.op.name.endswith('weights')]
    assert len(names) == 32
    for n in names:
      # slim names a conv's L2 loss '<layer>/kernel/Regularizer/...'.
      layer = n[:-len('weights')]
      assert any(r.startswith(layer + 'kernel/Regularizer')
                 for r in regularized), n


def test_squeeze_is_a_mean_not_an_avg_pool():
  graph, _, _, _ = util.build('resnet_v1_50', 7, image_size=64,
                              attention_module='se_block')
  se_ops = [op for op in graph.get_operations() if '/se/' in op.name]
  assert any(op.type == 'Mean' and op.name.endswith('se/squeeze')
             for op in se_ops)
  assert not any('Pool' in op.type for op in se_ops)
  # No batch norm inside SE: the arg scope's normalizer must be switched off.
  assert not any('BatchNorm' in op.name for op in se_ops)


def test_se_block_gate_scales_channels():
  """SE output equals input * sigmoid(W2 relu(W1 mean(x) + b1) + b2)."""
  rng = np.random.RandomState(3)
  x = rng.normal(size=(2, 5, 4, 8)).astype(np.float32)
  with tf.Graph().as_default():
    out = attention.apply_attention('se_block', tf.constant(x),
                                    reduction_ratio=4)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      got = sess.run(out)
      w = {v.op.name: sess.run(v) for v in tf.global_variables()}
  z = x.mean(axis=(1, 2))
  h = np.maximum(z @ w['se/fc1/weights'][0, 0] + w['se/fc1/biases'], 0)
  s = 1 / (1 + np.exp(-(h @ w['se/fc2/weights'][0, 0] + w['se/fc2/biases'])))
  assert w['se/fc1/weights'].shape == (1, 1, 8, 2)
  np.testing.assert_allclose(got, x * s[:, None, None, :], rtol=1e-5,
                             atol=1e-6)


def test_attention_off_adds_no_ops():
  with tf.Graph().as_default() as g:
    x = tf.zeros([1, 4, 4, 8])
    before = len(g.get_operations())
    assert attention.apply_attention(None, x) is x
    assert attention.apply_attention('', x) is x
    assert attention.apply_attention('none', x) is x
    assert len(g.get_operations()) == before


def test_duplicate_registration_raises():
  with pytest.raises(ValueError) as err:
    attention.register_attention(
        'se_block', scope='se2', variables='w', param_count=lambda c: 0)(
            lambda inputs, scope=None: inputs)
  assert "'se_block' is already registered" in str(err.value)
  with pytest.raises(ValueError) as err:
    attention.register_attention(
        'se2_block', scope='se', variables='w', param_count=lambda c: 0)(
            lambda inputs, scope=None: inputs)
  assert "would share the variable scope 'se'" in str(err.value)
  assert 'se2_block' not in attention.names()


def test_unknown_depth_lists_valid_depths():
  with pytest.raises(ValueError) as err:
    resnet_common.blocks_for_depth(resnet_v1.bottleneck, 34)
  assert str(err.value) == (
      'Unknown ResNet depth 34; expected one of: 50, 101, 152, 200')


def test_output_stride_gives_dense_features():
  graph, _, net, _ = util.build('resnet_v1_50', None, image_size=65)
  with graph.as_default():
    with slim.arg_scope(resnet_v1.resnet_arg_scope()):
      dense, _ = resnet_v1.resnet_v1_50(
          tf.zeros([1, 65, 65, 3]), None, is_training=False,
          global_pool=False, output_stride=8, scope='dense')
  assert dense.shape.as_list() == [1, 9, 9, 2048]
  assert net.shape.as_list() == [1, 1, 1, 2048]
