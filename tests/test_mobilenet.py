"""MobileNet family specifics: SE in MobileNetV2, width multipliers, v3 SE.

`test_nets_factory.py` checks every registered model against its reference
list; this file checks what is particular to the MobileNet builders:
  * SE in mobilenet_v2 sits in every inverted residual between the depthwise
    conv and the projection, adds exactly
    sum over units of se_param_count(C_expanded, r) parameters (C_expanded read
    from the reference list, not from our graph), only `*/se/*` variables,
    and trains;
  * the width variants share variable names and give the reference parameter
    counts, with the widths the multiplier rules predict;
  * MobileNetV3's own squeeze-excite is where the paper puts it, with its
    hard-sigmoid gate, and absent from the minimalistic models;
  * the builders' argument checks.
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import functools
import json
import os
import re

import numpy as np
import pytest
import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import attention
from nets import mobilenet_v1
from nets import nets_factory
from nets.mobilenet import conv_blocks
from nets.mobilenet import mobilenet as mobilenet_lib
from nets.mobilenet import mobilenet_v2
from nets.mobilenet import mobilenet_v3

# Its tests share module fixtures or cached builds: one worker runs them all
# (make test uses --dist loadgroup).
pytestmark = pytest.mark.xdist_group('test_mobilenet')

# Variable shapes do not depend on the input size: build small graphs.
_SIZE = 64
_UNIT = re.compile(r'^(MobilenetV2/expanded_conv(?:_\d+)?)/')
# SE-MobileNetV2 parameter overhead (the README's table), pinned.
_SE_DELTA = {('mobilenet_v2', 16): 571614, ('mobilenet_v2_035', 32): 36413}


_REFERENCE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                              'data', 'slim_variables')


def _reference(name):
  """Slim's reference list for `name` (see tests/data/slim_variables)."""
  with open(os.path.join(_REFERENCE_DIR, name + '.json')) as f:
    return json.load(f)


def _variables(graph):
  """[(name, shape)] of the global variables but the global step."""
  with graph.as_default():
    return [(v.op.name, v.shape.as_list()) for v in tf.global_variables()
            if v.op.name != 'global_step']


def _param_count(graph):
  with graph.as_default():
    return sum(v.shape.num_elements() for v in tf.trainable_variables())


def _factory_build(name, num_classes, image_size, batch_size=1,
                   attention_module=None, reduction_ratio=16, graph=None):
  """Builds `name` through nets_factory as Slim's training does.

  Returns:
    (graph, images placeholder, logits, end_points).
  """
  graph = graph or tf.Graph()
  with graph.as_default():
    tf.train.get_or_create_global_step()
    network_fn = nets_factory.get_network_fn(
        name, num_classes, weight_decay=0.0, is_training=True,
        attention_module=attention_module, reduction_ratio=reduction_ratio)
    images = tf.placeholder(tf.float32,
                            [batch_size, image_size, image_size, 3])
    logits, end_points = network_fn(images)
  return graph, images, logits, end_points


@functools.lru_cache(maxsize=None)
def _build(name, attention_module=None, reduction_ratio=16):
  """(graph, logits, end_points) of `name` via the factory, built once."""
  graph, _, logits, end_points = _factory_build(
      name, 1001, _SIZE, attention_module=attention_module,
      reduction_ratio=reduction_ratio)
  return graph, logits, end_points


def _expanded_widths(name):
  """{unit scope: C_expanded} read from the reference depthwise weights."""
  return {_UNIT.match(n).group(1): shape[2]
          for n, shape in _reference(name)['variables']
          if n.endswith('/depthwise/depthwise_weights')}


# r = 32 on the 0.35 model also hits SE's floor of one hidden unit.
@pytest.mark.parametrize('name,ratio', [('mobilenet_v2', 16),
                                        ('mobilenet_v2_035', 32)])
def test_v2_se_adds_only_se_variables_with_the_formula_count(name, ratio):
  graph, _, end_points = _build(name, 'se_block', ratio)
  reference = _reference(name)
  plain = [(n, s) for n, s in reference['variables']]
  se_vars = _variables(graph)
  extra = [v for v in se_vars if v not in plain]
  assert [v for v in se_vars if v not in extra] == plain
  widths = _expanded_widths(name)
  assert len(widths) == 17
  # Exactly fc1/fc2 weights and biases under <unit>/se/, with SE's shapes.
  expected_extra = []
  for unit, channels in widths.items():
    units = attention.se_units(channels, ratio)
    expected_extra += [
        (unit + '/se/fc1/weights', [1, 1, channels, units]),
        (unit + '/se/fc1/biases', [units]),
        (unit + '/se/fc2/weights', [1, 1, units, channels]),
        (unit + '/se/fc2/biases', [channels])]
  assert extra == expected_extra
  delta = _param_count(graph) - reference['total_params']
  assert delta == sum(attention.se_param_count(c, ratio)
                      for c in widths.values())
  assert delta == _SE_DELTA[(name, ratio)]
  gates = [k for k in end_points if k.endswith('/excitation')]
  assert gates == [u + '/se/excitation' for u in widths]


def test_v2_se_sits_between_depthwise_and_projection():
  graph, _, _ = _build('mobilenet_v2', 'se_block', 16)
  names = [n for n, _ in _variables(graph)]
  for unit in _expanded_widths('mobilenet_v2'):
    layers = [n[len(unit) + 1:].split('/')[0] for n in names
              if n.startswith(unit + '/')]
    order = [l for i, l in enumerate(layers) if l not in layers[:i]]
    assert order in (['expand', 'depthwise', 'se', 'project'],
                     ['depthwise', 'se', 'project'])  # unit 0: no expand
    project_input = graph.get_operation_by_name(
        unit + '/project/Conv2D').inputs[0].op
    assert project_input.name == unit + '/se/scale'
    depthwise_output = graph.get_operation_by_name(unit + '/depthwise_output')
    assert depthwise_output.outputs[0] in list(project_input.inputs)


def test_v2_attention_off_adds_nothing():
  with tf.Graph().as_default() as graph:
    with slim.arg_scope(mobilenet_v2.training_scope(weight_decay=0.0)):
      mobilenet_v2.mobilenet(tf.zeros([1, _SIZE, _SIZE, 3]),
                             attention_module='', is_training=True)
    assert not graph.get_collection(attention.EXCITATIONS)
    assert [[n, s] for n, s in _variables(graph)] == (
        _reference('mobilenet_v2')['variables'])


def test_v2_se_trains_one_step():
  graph = tf.Graph()
  with graph.as_default():
    tf.set_random_seed(0)
  graph, images, logits, end_points = _factory_build(
      'mobilenet_v2_035', 7, image_size=32, batch_size=2,
      attention_module='se_block', reduction_ratio=8, graph=graph)
  with graph.as_default():
    loss = tf.losses.sparse_softmax_cross_entropy(tf.constant([1, 5]), logits)
    optimizer = tf.train.GradientDescentOptimizer(0.01)
    variables = tf.trainable_variables()
    se_names = {v.op.name for v in variables if '/se/' in v.op.name}
    grads_and_vars = optimizer.compute_gradients(loss, variables)
    train_op = optimizer.apply_gradients(
        grads_and_vars, global_step=tf.train.get_global_step())
    se_grads = {v.op.name: g for g, v in grads_and_vars
                if v.op.name in se_names}
    gate = end_points['MobilenetV2/expanded_conv_5/se/excitation']
    # Grappler's rewrites take longer than this tiny step.
    config = tf.ConfigProto()
    config.graph_options.rewrite_options.disable_meta_optimizer = True
    with tf.Session(config=config) as sess:
      sess.run(tf.global_variables_initializer())
      feed = {images: np.random.RandomState(0).rand(2, 32, 32, 3)}
      before = sess.run(variables)
      gate_value, loss_before, grads, _ = sess.run(
          [gate, loss, se_grads, train_op], feed)
      after, loss_after = sess.run([variables, loss], feed)
  assert logits.shape.as_list() == [2, 7]
  assert np.isfinite(loss_before) and np.isfinite(loss_after)
  # One SGD step need not lower a batch-norm net's loss on 2 images (that
  # depends on the CPU's arithmetic); what SE needs is that every one of its
  # variables is connected: a non-zero gradient, and the step changed it.
  assert len(se_names) == 4 * 17
  assert sorted(grads) == sorted(se_names)
  assert all(np.all(np.isfinite(g)) and np.abs(g).max() > 0
             for g in grads.values()), [n for n, g in grads.items()
                                        if not np.abs(g).max() > 0]
  changed = {v.op.name for v, b, a in zip(variables, before, after)
             if not np.array_equal(b, a)}
  assert se_names <= changed
  # At initialization the gates are open to gradients: not saturated.
  channels = _expanded_widths('mobilenet_v2_035')['MobilenetV2/expanded_conv_5']
  assert gate_value.shape == (2, 1, 1, channels)
  assert np.all((gate_value > 0.1) & (gate_value < 0.9))


@pytest.mark.parametrize('family,base_name,multipliers', [
    ('v1', 'mobilenet_v1', {'mobilenet_v1_075': 0.75,
                            'mobilenet_v1_050': 0.5,
                            'mobilenet_v1_025': 0.25}),
    ('v2', 'mobilenet_v2', {'mobilenet_v2_140': 1.4,
                            'mobilenet_v2_035': 0.35}),
    ('edgetpu', 'mobilenet_edgetpu', {'mobilenet_edgetpu_075': 0.75}),
])
def test_width_variants_share_names_and_match_reference_counts(
    family, base_name, multipliers):
  base = _reference(base_name)['variables']
  for name, multiplier in multipliers.items():
    graph, _, _ = _build(name)
    variables = _variables(graph)
    assert [n for n, _ in variables] == [n for n, _ in base]
    assert _param_count(graph) == (
        _reference(name)['total_params'])
    shapes = dict(variables)
    base_shapes = dict((n, s) for n, s in base)
    if family == 'v1':
      # Width rule of [MobileNets]: max(int(d * alpha), 8).
      for i in range(14):
        scope = 'MobilenetV1/Conv2d_%d%s/weights' % (
            i, '' if i == 0 else '_pointwise')
        full = base_shapes[scope][-1]
        assert shapes[scope][-1] == max(int(full * multiplier), 8)
    else:
      # make_divisible(d * multiplier, 8) on the stem and every block output;
      # finegrain mode keeps the last layer at full width for multipliers < 1.
      top = base[0][0].split('/')[0]
      for scope, shape in base:
        if scope == top + '/Conv/weights' or scope.endswith('/project/weights'):
          assert shapes[scope][-1] == conv_blocks.make_divisible(
              shape[-1] * multiplier)
      full = base_shapes[top + '/Conv_1/weights'][-1]
      assert shapes[top + '/Conv_1/weights'][-1] == (
          full if multiplier < 1 else conv_blocks.make_divisible(
              full * multiplier))


# Blocks with squeeze-excite: Tables 1 and 2 of [MobileNetV3] (0-based).
_V3_SE_UNITS = {
    'mobilenet_v3_large': [3, 4, 5, 10, 11, 12, 13, 14],
    'mobilenet_v3_small': [0, 3, 4, 5, 6, 7, 8, 9, 10],
    'mobilenet_v3_small_minimalistic': [],
}


@pytest.mark.parametrize('name', sorted(_V3_SE_UNITS))
def test_v3_squeeze_excite_where_the_paper_puts_it(name):
  graph, _, _ = _build(name)
  variables = _variables(graph)
  names = [n for n, _ in variables]
  shapes = dict(variables)
  top = names[0].split('/')[0]
  units = sorted({int(m.group(1) or 0) for m in (
      re.match(r'^%s/expanded_conv(?:_(\d+))?/squeeze_excite/' % top, n)
      for n in names) if m})
  assert units == _V3_SE_UNITS[name]
  for i in units:
    unit = '%s/expanded_conv%s' % (top, '_%d' % i if i else '')
    channels = shapes[unit + '/depthwise/depthwise_weights'][2]
    hidden = conv_blocks.make_divisible(channels / 4, 8)
    se = [(n, s) for n, s in variables if n.startswith(unit + '/squeeze_')]
    assert se == [
        (unit + '/squeeze_excite/Conv/weights', [1, 1, channels, hidden]),
        (unit + '/squeeze_excite/Conv/biases', [hidden]),
        (unit + '/squeeze_excite/Conv_1/weights', [1, 1, hidden, channels]),
        (unit + '/squeeze_excite/Conv_1/biases', [channels])]
    # Between the depthwise conv and the projection.
    assert (names.index(unit + '/depthwise/depthwise_weights') <
            names.index(unit + '/squeeze_excite/Conv/weights') <
            names.index(unit + '/project/weights'))
  assert not any('/se/' in n for n in names)


def test_hard_sigmoid_and_hard_swish_values():
  x = np.array([-4., -3., -1., 0., 1.5, 3., 5.], np.float32)
  with tf.Graph().as_default(), tf.Session() as sess:
    gate, swish = sess.run([conv_blocks.hard_sigmoid(tf.constant(x)),
                            conv_blocks.hard_swish(tf.constant(x))])
  expected = np.clip(x + 3, 0, 6) / 6
  np.testing.assert_allclose(gate, expected, rtol=1e-6)
  np.testing.assert_allclose(swish, x * expected, rtol=1e-6)


def test_make_divisible_and_expansion_sizes():
  assert conv_blocks.make_divisible(32 * 0.35) == 16  # 8 would lose > 10%
  assert conv_blocks.make_divisible(24 * 0.35) == 8
  assert conv_blocks.make_divisible(72 / 4) == 24      # v3 SE of 72 channels
  assert conv_blocks.make_divisible(3, min_value=8) == 8
  assert conv_blocks.expand_by(6)(24) == 144
  assert conv_blocks.expand_by(184 / 80.)(80) == 184
  assert conv_blocks.expand_by(1, divisible_by=1)(11) == 11


def test_factory_attention_rows():
  mobilenets = [n for n in nets_factory.names() if n.startswith('mobilenet')]
  assert len(mobilenets) == 13
  assert [n for n in mobilenets if n in nets_factory.attention_model_names()
         ] == ['mobilenet_v2', 'mobilenet_v2_035', 'mobilenet_v2_140']
  for name in ('mobilenet_v1_025', 'mobilenet_v3_small', 'mobilenet_edgetpu'):
    with pytest.raises(ValueError, match=r'%s does not support attention_'
                       r"module='se_block'; models that do: .*mobilenet_v2"
                       % name):
      nets_factory.get_network_fn(name, 7, attention_module='se_block')
    assert nets_factory.preprocessing_name(name) == 'inception'


def test_builder_argument_errors():
  with tf.Graph().as_default():
    with pytest.raises(ValueError, match=r"Unknown attention_module 'sse'; "
                       r'expected one of: .*se_block'):
      mobilenet_v2.mobilenet(tf.zeros([1, _SIZE, _SIZE, 3]),
                             attention_module='sse')
    with pytest.raises(ValueError, match=r'multiplier must be > 0, got -1'):
      mobilenet_v2.mobilenet(tf.zeros([1, _SIZE, _SIZE, 3]),
                             depth_multiplier=-1)
    with pytest.raises(ValueError, match=r"final_endpoint 'layer_99'.*"
                       r'layer_1, layer_2'):
      mobilenet_v3.large(tf.zeros([1, _SIZE, _SIZE, 3]), base_only=True,
                         final_endpoint='layer_99')
    with pytest.raises(ValueError, match=r"final_endpoint 'Conv2d_14'.*"
                       r'Conv2d_0, Conv2d_1_depthwise'):
      mobilenet_v1.mobilenet_v1_base(tf.zeros([1, _SIZE, _SIZE, 3]),
                                     final_endpoint='Conv2d_14')
    with pytest.raises(ValueError, match=r'output_stride must be None, 1 or '
                       r'an even number, got 3'):
      mobilenet_v1.mobilenet_v1_base(tf.zeros([1, _SIZE, _SIZE, 3]),
                                     output_stride=3)
    with pytest.raises(ValueError, match=r'4-D input'):
      mobilenet_v2.mobilenet(tf.zeros([_SIZE, _SIZE, 3]))
    with pytest.raises(ValueError, match=r'fused expanded_conv.*stride 2'):
      conv_blocks.expanded_conv(tf.zeros([1, 8, 8, 16]), 16, fused=True,
                                expansion_size=16, stride=2)


def test_output_stride_and_final_endpoint():
  with tf.Graph().as_default():
    images = tf.zeros([1, _SIZE, _SIZE, 3])
    net, end_points = mobilenet_v2.mobilenet_base(images, output_stride=16)
    assert net.shape.as_list() == [1, 4, 4, 1280]   # 64 / 16; else 2 x 2
    assert list(end_points)[:19] == ['layer_%d' % i for i in range(1, 20)]
    net, end_points = mobilenet_v1.mobilenet_v1_base(
        images, output_stride=8, scope='V1')
    assert net.shape.as_list() == [1, 8, 8, 1024]
    net, end_points = mobilenet_v3.small(images, base_only=True,
                                         final_endpoint='layer_4',
                                         scope='V3')
    assert net.shape.as_list() == [1, 8, 8, 24]
    assert list(end_points) == [
        'layer_1', 'layer_2', 'layer_3', 'layer_4', 'layer_2/depthwise_output',
        'layer_2/output', 'layer_3/expansion_output',
        'layer_3/depthwise_output', 'layer_3/output',
        'layer_4/expansion_output', 'layer_4/depthwise_output',
        'layer_4/output']
