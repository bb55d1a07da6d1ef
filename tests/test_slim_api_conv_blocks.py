"""TF-Slim's `expanded_conv` API: its parameters, in its order, with its behaviour.

The spec is research/slim/nets/mobilenet/conv_blocks.py of tensorflow/models:
the parameter list below is copied from its `def expanded_conv(...)`. Each
test builds one block on a small input and checks where its convolutions
go (graph order, weight shapes, activations), what the pluggable functions
receive and what lands in `endpoints`.
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import functools
import inspect

import numpy as np
import pytest
import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets.mobilenet import conv_blocks

# TF-Slim's expanded_conv, parameter by parameter, in its order.
_SLIM_PARAMETERS = [
    'input_tensor', 'num_outputs', 'expansion_size', 'stride', 'rate',
    'kernel_size', 'residual', 'normalizer_fn', 'split_projection',
    'split_expansion', 'split_divisible_by', 'expansion_transform',
    'depthwise_location', 'depthwise_channel_multiplier', 'endpoints',
    'use_explicit_padding', 'padding', 'inner_activation_fn',
    'depthwise_activation_fn', 'project_activation_fn', 'depthwise_fn',
    'expansion_fn', 'projection_fn', 'scope']

_CONV_TYPES = ('Conv2D', 'DepthwiseConv2dNative')


def _signature():
  return inspect.signature(inspect.unwrap(conv_blocks.expanded_conv))


def test_signature_is_slims_then_our_keyword_only_extras():
  params = _signature().parameters
  positional = [name for name, p in params.items()
                if p.kind == p.POSITIONAL_OR_KEYWORD]
  keyword_only = [name for name, p in params.items()
                  if p.kind == p.KEYWORD_ONLY]
  assert positional == _SLIM_PARAMETERS
  assert keyword_only == ['fused', 'attention_module']
  defaults = {name: p.default for name, p in params.items()}
  # Slim's defaults (normalizer_fn excepted: SE-Slim keeps batch norm).
  assert defaults['expansion_size'](num_inputs=16) == 96
  assert defaults['normalizer_fn'] is slim.batch_norm
  assert defaults['project_activation_fn'] is tf.identity
  assert defaults['depthwise_fn'] is slim.separable_conv2d
  assert defaults['expansion_fn'] is conv_blocks.split_conv
  assert defaults['projection_fn'] is conv_blocks.split_conv
  assert {name: defaults[name] for name in (
      'stride', 'rate', 'kernel_size', 'residual', 'split_projection',
      'split_expansion', 'split_divisible_by', 'expansion_transform',
      'depthwise_location', 'depthwise_channel_multiplier', 'endpoints',
      'use_explicit_padding', 'padding', 'inner_activation_fn',
      'depthwise_activation_fn', 'scope', 'fused', 'attention_module')} == {
          'stride': 1, 'rate': 1, 'kernel_size': (3, 3), 'residual': True,
          'split_projection': 1, 'split_expansion': 1,
          'split_divisible_by': 8, 'expansion_transform': None,
          'depthwise_location': 'expansion',
          'depthwise_channel_multiplier': 1, 'endpoints': None,
          'use_explicit_padding': False, 'padding': 'SAME',
          'inner_activation_fn': None, 'depthwise_activation_fn': None,
          'scope': None, 'fused': False, 'attention_module': None}


def test_positional_call_in_slims_order():
  # (input, num_outputs, expansion_size, stride, rate, kernel_size): Slim's.
  with tf.Graph().as_default():
    net = conv_blocks.expanded_conv(tf.zeros([1, 8, 8, 16]), 24, 32, 2, 1,
                                    (5, 5))
    shapes = {v.op.name: v.shape.as_list() for v in tf.global_variables()}
  assert net.shape.as_list() == [1, 4, 4, 24]
  assert shapes['expanded_conv/expand/weights'] == [1, 1, 16, 32]
  assert shapes['expanded_conv/depthwise/depthwise_weights'] == [5, 5, 32, 1]


def _build(multiplier=1, num_outputs=24, **kwargs):
  """One block on [1, 8, 8, 16]: (output, endpoints, convs, weights, graph).

  `convs` lists the scope ('expand', 'depthwise', 'project') of every conv
  op in graph order; `weights` maps variable names to shapes.
  """
  graph = tf.Graph()
  with graph.as_default():
    endpoints = {}
    net = conv_blocks.expanded_conv(
        tf.zeros([1, 8, 8, 16]), num_outputs,
        depthwise_channel_multiplier=multiplier, endpoints=endpoints,
        **kwargs)
    convs = [op.name.split('/')[1] for op in graph.get_operations()
             if op.type in _CONV_TYPES]
    weights = {v.op.name: v.shape.as_list() for v in tf.global_variables()
               if 'weights' in v.op.name}
  return net, endpoints, convs, weights, graph


# location -> (conv order, depthwise weights [kh, kw, C_in, m] at m = 2,
#              expand weights at m = 2, block output depth at m = 2).
_LOCATIONS = {
    'expansion': (['expand', 'depthwise', 'project'], [3, 3, 96, 2],
                  [1, 1, 16, 96], 24),
    # On the input: 16 * 2 channels, expanded to expand_by(6)(16) = 96.
    'input': (['depthwise', 'expand', 'project'], [3, 3, 16, 2],
              [1, 1, 32, 96], 24),
    # On the projection's 24 channels: the block outputs 48.
    'output': (['expand', 'project', 'depthwise'], [3, 3, 24, 2],
               [1, 1, 16, 96], 48),
    None: (['expand', 'project'], None, [1, 1, 16, 96], 24),
}


@pytest.mark.parametrize('location', ['expansion', 'input', 'output', None])
def test_depthwise_location_places_the_depthwise_conv(location):
  order, dw_shape, expand_shape, depth = _LOCATIONS[location]
  net, endpoints, convs, weights, graph = _build(
      multiplier=2, depthwise_location=location)
  assert convs == order
  assert weights.get('expanded_conv/depthwise/depthwise_weights') == dw_shape
  assert weights['expanded_conv/expand/weights'] == expand_shape
  assert net.shape.as_list() == [1, 8, 8, depth]
  assert ('depthwise_output' in endpoints) == (location is not None)
  # Slim's depthwise conv at 'input' and 'output' is linear; at 'expansion'
  # it has the layer's activation (slim.separable_conv2d's ReLU here).
  depthwise_relus = [op for op in graph.get_operations()
                     if op.type == 'Relu' and '/depthwise/' in op.name]
  assert bool(depthwise_relus) == (location == 'expansion')


def test_unknown_depthwise_location_is_a_value_and_a_type_error():
  with tf.Graph().as_default():
    net = tf.zeros([1, 8, 8, 16])
    with pytest.raises(ValueError, match=r"^Unknown depthwise_location "
                       r"'middle'; expected one of: 'expansion', 'input', "
                       r"'output', None$"):
      conv_blocks.expanded_conv(net, 24, depthwise_location='middle')
    with pytest.raises(TypeError, match='depthwise_location'):
      conv_blocks.expanded_conv(net, 24, depthwise_location='middle')
    with pytest.raises(TypeError, match=r"got padding='VALID' \(expected "
                       r"'SAME'\)"):
      conv_blocks.expanded_conv(net, 24, use_explicit_padding=True,
                                padding='VALID')


def test_padding_and_explicit_padding_reach_every_depthwise_conv():
  for location in ('expansion', 'input', 'output'):
    _, _, _, _, graph = _build(depthwise_location=location, padding='VALID',
                               kernel_size=(3, 3), residual=False)
    depthwise = [op for op in graph.get_operations()
                 if op.type == 'DepthwiseConv2dNative']
    assert [op.get_attr('padding') for op in depthwise] == [b'VALID']
    net, _, _, _, graph = _build(depthwise_location=location,
                                 use_explicit_padding=True)
    pads = [op for op in graph.get_operations() if op.type == 'Pad']
    depthwise = [op for op in graph.get_operations()
                 if op.type == 'DepthwiseConv2dNative']
    # One pad, feeding the VALID depthwise conv: SAME's output size.
    assert len(pads) == 1
    assert depthwise[0].inputs[0].op.name == pads[0].name
    assert depthwise[0].get_attr('padding') == b'VALID'
    assert net.shape.as_list() == [1, 8, 8, 24]


def test_custom_expansion_projection_and_depthwise_fns_are_called():
  calls = {}

  def recorder(name, fn):
    def wrapped(inputs, *args, **kwargs):
      calls[name] = (inputs.shape.as_list(), args, dict(kwargs))
      return fn(inputs, *args, **kwargs)
    return wrapped

  with tf.Graph().as_default():
    net = conv_blocks.expanded_conv(
        tf.zeros([1, 8, 8, 16]), 24, stride=2, kernel_size=(5, 5),
        depthwise_channel_multiplier=2, project_activation_fn=tf.nn.relu6,
        split_expansion=2, split_projection=2,
        expansion_fn=recorder('expand', functools.partial(
            slim.conv2d, kernel_size=[1, 1])),
        projection_fn=recorder('project', functools.partial(
            slim.conv2d, kernel_size=[1, 1])),
        depthwise_fn=recorder('depthwise', slim.separable_conv2d))
    names = [v.op.name for v in tf.global_variables()]
  # Slim's calls, argument for argument.
  assert calls['expand'] == ([1, 8, 8, 16], (96,), {
      'scope': 'expand', 'normalizer_fn': slim.batch_norm})
  assert calls['depthwise'] == ([1, 8, 8, 96], (), {
      'num_outputs': None, 'kernel_size': (5, 5), 'depth_multiplier': 2,
      'stride': 2, 'rate': 1, 'normalizer_fn': slim.batch_norm,
      'padding': 'SAME', 'scope': 'depthwise'})
  assert calls['project'] == ([1, 4, 4, 192], (24,), {
      'scope': 'project', 'normalizer_fn': slim.batch_norm,
      'activation_fn': tf.nn.relu6})
  assert net.shape.as_list() == [1, 4, 4, 24]
  # A custom function ignores the split options, as in Slim.
  assert not [n for n in names if '_part_' in n]
  assert 'expanded_conv/expand/weights' in names


def test_slims_fused_block_equals_ours():
  """Slim's EdgeTPU block (k x k expansion_fn, no depthwise) and fused=True."""
  def variables(**kwargs):
    with tf.Graph().as_default():
      net = conv_blocks.expanded_conv(tf.zeros([1, 8, 8, 16]), 24,
                                      expansion_size=64, stride=2, **kwargs)
      return net.shape.as_list(), sorted(
          (v.op.name, v.shape.as_list()) for v in tf.global_variables())

  ours = variables(fused=True, kernel_size=(3, 3))
  slims = variables(kernel_size=(1, 1), depthwise_location=None,
                    expansion_fn=functools.partial(slim.conv2d,
                                                   kernel_size=3, stride=2))
  assert ours == slims
  assert ours[0] == [1, 4, 4, 24]
  assert ('expanded_conv/expand/weights', [3, 3, 16, 64]) in ours[1]


def test_fused_refuses_what_it_cannot_honour():
  with tf.Graph().as_default():
    net = tf.zeros([1, 8, 8, 16])
    with pytest.raises(ValueError, match=r"depthwise_location='output' "
                       r"\(expected 'expansion' or None\)"):
      conv_blocks.expanded_conv(net, 24, fused=True,
                                depthwise_location='output')
    with pytest.raises(ValueError, match=r'expands with its own 3x3 conv; '
                       r'got expansion_fn='):
      conv_blocks.expanded_conv(net, 24, fused=True,
                                expansion_fn=slim.conv2d)


def test_endpoints_are_slims():
  x = np.random.RandomState(0).randn(1, 8, 8, 16).astype(np.float32)
  with tf.Graph().as_default():
    endpoints = {}
    net = conv_blocks.expanded_conv(tf.constant(x), 16, endpoints=endpoints)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      got = sess.run(endpoints)
    assert endpoints['output'] is net
  assert sorted(got) == ['depthwise_output', 'expansion_output', 'output',
                         'projection_output']
  assert endpoints['expansion_output'].op.name == (
      'expanded_conv/expansion_output')
  assert got['expansion_output'].shape == (1, 8, 8, 96)
  assert got['depthwise_output'].shape == (1, 8, 8, 96)
  # projection_output is the projection before the shortcut: 16 -> 16 at
  # stride 1, so the output adds the block's input to it.
  assert got['projection_output'].shape == (1, 8, 8, 16)
  assert np.abs(got['projection_output']).max() > 0
  np.testing.assert_allclose(got['output'], got['projection_output'] + x,
                             rtol=1e-5, atol=1e-5)
  # No expansion (C_exp <= C_in) and no depthwise: those keys stay out.
  _, endpoints, convs, _, _ = _build(expansion_size=16,
                                     depthwise_location=None)
  assert sorted(endpoints) == ['output', 'projection_output']
  assert convs == ['project']


def test_expansion_transform_gets_slims_keywords():
  seen = {}

  def transform(expansion_tensor, input_tensor):
    seen['expansion'] = expansion_tensor
    seen['input'] = input_tensor
    seen['out'] = expansion_tensor * 0.5
    return seen['out']

  with tf.Graph().as_default() as graph:
    endpoints = {}
    conv_blocks.expanded_conv(tf.zeros([1, 8, 8, 16], name='block_input'),
                              24, stride=2, expansion_transform=transform,
                              endpoints=endpoints)
    project = graph.get_operation_by_name('expanded_conv/project/Conv2D')
    # The old one-argument convention fails loudly, as in Slim.
    with pytest.raises(TypeError):
      conv_blocks.expanded_conv(tf.zeros([1, 8, 8, 16]), 24,
                                expansion_transform=lambda net: net)
  assert seen['expansion'] is endpoints['depthwise_output']
  assert seen['expansion'].shape.as_list() == [1, 4, 4, 96]
  assert seen['input'].op.name == 'block_input'
  assert seen['input'].shape.as_list() == [1, 8, 8, 16]
  # The projection convolves what the transform returned.
  assert project.inputs[0].name == seen['out'].name


def test_activation_fns_reach_their_convs():
  def activations(**kwargs):
    _, _, _, _, graph = _build(**kwargs)
    found = {}
    for op in graph.get_operations():
      # The layers' own activation ops, '<scope>/<layer>/<op>' (not the
      # variable reads or batch-norm ops deeper down).
      parts = op.name.split('/')
      if (len(parts) == 3 and parts[1] in ('expand', 'depthwise', 'project')
          and op.type in ('Relu', 'Relu6', 'Elu', 'Sigmoid', 'Identity')):
        found.setdefault(parts[1], set()).add(op.type)
    return found

  # Defaults: slim's ReLU inside, a linear projection (Slim's tf.identity,
  # built without an op).
  assert activations() == {'expand': {'Relu'}, 'depthwise': {'Relu'}}
  assert activations(inner_activation_fn=tf.nn.relu6) == {
      'expand': {'Relu6'}, 'depthwise': {'Relu6'}}
  # Nor an '<scope>/input' op: an extra op would shift a seeded graph's
  # initial weights away from earlier SE-Slim versions'.
  graph = _build()[-1]
  assert not [op for op in graph.get_operations()
              if op.name == 'expanded_conv/input']
  # The depthwise activation wins over the inner one; the projection's own.
  assert activations(inner_activation_fn=tf.nn.relu6,
                     depthwise_activation_fn=tf.nn.elu,
                     project_activation_fn=tf.nn.sigmoid) == {
                         'expand': {'Relu6'}, 'depthwise': {'Elu'},
                         'project': {'Sigmoid'}}


def test_callable_residual_gets_slims_keywords():
  seen = {}

  def residual(input_tensor, output_tensor):
    seen['shapes'] = (input_tensor.shape.as_list(),
                      output_tensor.shape.as_list())
    return output_tensor - 1.0

  with tf.Graph().as_default():
    endpoints = {}
    net = conv_blocks.expanded_conv(tf.zeros([1, 8, 8, 16]), 24, stride=2,
                                    residual=residual, endpoints=endpoints)
    assert net.op.inputs[0].op.type == 'Sub'
    assert net.op.inputs[0].op.inputs[0].name == (
        endpoints['projection_output'].name)
  assert seen['shapes'] == ([1, 8, 8, 16], [1, 4, 4, 24])


# ---------------------------------------------------------------------------
# The other public helpers of TF-Slim's conv_blocks.
# ---------------------------------------------------------------------------


def test_expand_input_by_factor_rounds_like_slim():
  # make_divisible(16 * 6) = 96; 20 * 2.5 = 50 -> 48 (within 10%);
  # 10 * 0.5 = 5 -> min_value 8; 7 * 3 = 21 -> 16 is under 90%, so 32.
  assert conv_blocks.expand_input_by_factor(6)(num_inputs=16) == 96
  assert conv_blocks.expand_input_by_factor(2.5)(num_inputs=20, x=1) == 48
  assert conv_blocks.expand_input_by_factor(0.5)(num_inputs=10) == 8
  assert conv_blocks.expand_input_by_factor(3, divisible_by=16)(
      num_inputs=7) == 32
  params = list(inspect.signature(conv_blocks.expand_input_by_factor)
                .parameters)
  assert params == ['n', 'divisible_by']


def _run(fetches, feed=None):
  with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    return sess.run(fetches, feed)


def test_split_separable_conv2d_names_shapes_and_endpoints():
  with tf.Graph().as_default():
    endpoints = {}
    with slim.arg_scope([slim.separable_conv2d, slim.conv2d],
                        activation_fn=None):
      net = conv_blocks.split_separable_conv2d(
          tf.zeros([1, 9, 9, 4]), 16, scope='Conv2d_1', stride=2,
          endpoints=endpoints)
      anon = conv_blocks.split_separable_conv2d(tf.zeros([1, 8, 8, 4]), 8)
      anon2 = conv_blocks.split_separable_conv2d(tf.zeros([1, 8, 8, 4]), 8)
    shapes = {v.op.name: v.shape.as_list() for v in tf.global_variables()}
  assert net.shape.as_list() == [1, 5, 5, 16]
  assert anon.shape.as_list() == anon2.shape.as_list() == [1, 8, 8, 8]
  assert shapes['Conv2d_1_depthwise/depthwise_weights'] == [3, 3, 4, 1]
  assert shapes['Conv2d_1_depthwise/biases'] == [4]
  assert shapes['Conv2d_1_pointwise/weights'] == [1, 1, 4, 16]
  assert shapes['separable/depthwise/depthwise_weights'] == [3, 3, 4, 1]
  assert shapes['separable/pointwise/weights'] == [1, 1, 4, 8]
  assert shapes['separable_1/pointwise/weights'] == [1, 1, 4, 8]
  assert sorted(endpoints) == ['Conv2d_1_depthwise', 'Conv2d_1_pointwise']
  assert endpoints['Conv2d_1_depthwise'].shape.as_list() == [1, 5, 5, 4]
  assert endpoints['Conv2d_1_pointwise'] is net


def test_split_separable_conv2d_values_and_explicit_padding():
  # Depthwise all-ones 3x3 then pointwise all-ones: each output channel is
  # the sum over channels of the 3x3 box sums. With explicit padding and
  # VALID the output keeps SAME's size and (zero padding) SAME's values.
  x = np.arange(2 * 5 * 5 * 3, dtype=np.float32).reshape([2, 5, 5, 3])
  box = np.zeros_like(x)
  padded = np.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]])
  for i in range(5):
    for j in range(5):
      box[:, i, j] = padded[:, i:i + 3, j:j + 3].sum(axis=(1, 2))
  expected = np.repeat(box.sum(axis=3, keepdims=True), 2, axis=3)
  with tf.Graph().as_default():
    ones = tf.ones_initializer()
    with slim.arg_scope([slim.separable_conv2d, slim.conv2d],
                        activation_fn=None, weights_initializer=ones):
      same = conv_blocks.split_separable_conv2d(tf.constant(x), 2, scope='a')
      explicit = conv_blocks.split_separable_conv2d(
          tf.constant(x), 2, scope='b', use_explicit_padding=True)
      relu = None
    with slim.arg_scope([slim.separable_conv2d, slim.conv2d],
                        weights_initializer=ones):
      relu = conv_blocks.split_separable_conv2d(-tf.constant(x), 2,
                                                scope='c')
    got_same, got_explicit, got_relu = _run([same, explicit, relu])
  np.testing.assert_allclose(got_same, expected, rtol=1e-6)
  np.testing.assert_allclose(got_explicit, expected, rtol=1e-6)
  # slim's default ReLU on the depthwise output zeroes negative inputs.
  np.testing.assert_array_equal(got_relu, np.zeros_like(expected))


def test_squeeze_excite_has_slims_signature():
  params = inspect.signature(inspect.unwrap(conv_blocks.squeeze_excite))
  assert list(params.parameters) == [
      'input_tensor', 'divisible_by', 'squeeze_factor',
      'inner_activation_fn', 'gating_fn', 'squeeze_input_tensor', 'pool']
  defaults = {k: v.default for k, v in params.parameters.items()}
  assert defaults['divisible_by'] == 8 and defaults['squeeze_factor'] == 3
  assert defaults['gating_fn'] is tf.sigmoid
  assert defaults['squeeze_input_tensor'] is None and defaults['pool'] is None


def _se_reference(x, source, w1, b1, w2, b2, pool=None):
  """numpy: x * sigmoid(relu(mean(source) W1 + b1) W2 + b2)."""
  if pool is None:
    z = source.mean(axis=(1, 2))[:, None, None, :]
  else:
    n, h, w, c = source.shape
    z = source[:, :h // pool * pool, :w // pool * pool].reshape(
        n, h // pool, pool, w // pool, pool, c).mean(axis=(2, 4))
  hidden = np.maximum(np.einsum('nhwc,cd->nhwd', z, w1) + b1, 0)
  gate = 1 / (1 + np.exp(-(np.einsum('nhwd,dc->nhwc', hidden, w2) + b2)))
  return gate


def _se_weights(sess):
  values = {v.op.name: sess.run(v) for v in tf.global_variables()}
  return [values['squeeze_excite/Conv/weights'][0, 0],
          values['squeeze_excite/Conv/biases'],
          values['squeeze_excite/Conv_1/weights'][0, 0],
          values['squeeze_excite/Conv_1/biases']]


def test_squeeze_excite_values_with_a_separate_squeeze_input():
  rng = np.random.RandomState(0)
  x = rng.randn(2, 4, 4, 24).astype(np.float32)
  source = rng.randn(2, 4, 4, 32).astype(np.float32)
  with tf.Graph().as_default():
    with slim.arg_scope([slim.conv2d],
                        biases_initializer=tf.random_normal_initializer()):
      out = conv_blocks.squeeze_excite(tf.constant(x),
                                       squeeze_input_tensor=tf.constant(
                                           source))
    shapes = {v.op.name: v.shape.as_list() for v in tf.global_variables()}
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      got = sess.run(out)
      w1, b1, w2, b2 = _se_weights(sess)
  # Bottleneck from the squeeze input: make_divisible(32 / 3 = 10.7) = 16
  # (8 would lose over 10%); the gate has input_tensor's 24 channels.
  assert shapes['squeeze_excite/Conv/weights'] == [1, 1, 32, 16]
  assert shapes['squeeze_excite/Conv_1/weights'] == [1, 1, 16, 24]
  np.testing.assert_allclose(
      got, x * _se_reference(x, source, w1, b1, w2, b2), rtol=1e-5,
      atol=1e-6)


def test_squeeze_excite_pool_gives_a_spatial_gate():
  rng = np.random.RandomState(1)
  x = rng.randn(1, 4, 4, 16).astype(np.float32)
  with tf.Graph().as_default():
    out = conv_blocks.squeeze_excite(tf.constant(x), pool=2)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      got = sess.run(out)
      weights = _se_weights(sess)
  gate2x2 = _se_reference(x, x, *weights, pool=2)[0]  # [2, 2, 16]
  # Bilinear resize 2 -> 4 with align_corners: rows/cols at 0, 1/3, 2/3, 1.
  t = np.array([0., 1. / 3, 2. / 3, 1.])
  rows = gate2x2[0][None] * (1 - t)[:, None, None] + \
      gate2x2[1][None] * t[:, None, None]          # [4, 2, 16]
  gate = rows[:, 0][:, None] * (1 - t)[None, :, None] + \
      rows[:, 1][:, None] * t[None, :, None]       # [4, 4, 16]
  np.testing.assert_allclose(got[0], x[0] * gate, rtol=1e-5, atol=1e-6)
  assert not np.allclose(gate[0, 0], gate[3, 3])
