"""Tests generated from the registries: every model x every attention module.

Full checks: one build per (model, published form or se_block), with
num_classes=7 at the model's default image size and batch 1, as Slim's
training builds it (training mode, global step first). Against the published
model's reference list in tests/data/slim_variables/ (built with 1001
classes), with the class dimension read as 7:
  * the variables (names, shapes, creation order) and end points are the
    reference's; with attention on, the extra variables are the module's
    only (its registry pattern), each block's gates are end points, and the
    parameter increase is the module's registered formula;
  * the parameter count is the reference's less the class rows;
  * every trainable variable reaches the loss (a branch built but not
    connected would not), by a walk over the graph's op inputs, which costs
    a fraction of `tf.gradients` on the big graphs (NASNet-A Large: most of
    its check) and catches the same unwired branch; that gradients pass
    through each module (no op without one) tests/test_attention.py checks
    on the module itself, which every model applies at its one point;
  * a forward run gives finite `[1, 7]` logits.

Build-and-count checks, for every other registered module on one model of
each family that takes attention (the smallest: resnet_v1_50, mobilenet_v2,
...), and for every module at every position of the ResNet placement
ablation (on resnet_v1_50 and resnet_v2_50): the same variable, end-point and
parameter-formula checks, and every module variable feeding the logits,
without building gradients or running (tests/test_attention.py takes each
module's gradients). A new module in `nets/attention.py` is crossed with every
model here with no edit to this file.

A model that does not take attention raises, naming the models that do.
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import collections
import re

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from nets import attention
from nets import nets_factory
from nets import senet
from tests import nets_testutil as util

NAMES = nets_factory.names()
# The released SENets have no Slim reference; tests/test_senet.py checks
# them against timm's key manifest and logits instead.
SLIM_NAMES = [n for n in NAMES if n not in senet.MODELS]
# The module every model is fully checked with; the others get the cheaper
# build-and-count check.
FULL_MODULE = 'se_block'
OTHER_MODULES = [m for m in attention.names() if m != FULL_MODULE]


def _family_representatives(names):
  """The shortest name of each family ('resnet_v1_50' for resnet_v1_*).

  Models of a family differ in depth or width only: the same block code
  with more or wider units, which the full se_block checks cover for every
  one of them.
  """
  families = {}
  for name in names:
    families.setdefault(re.sub(r'_\d+$', '', name), []).append(name)
  return sorted(min(group, key=lambda n: (len(n), n))
                for group in families.values())


# Building a model graph is most of a check's cost, so the other modules and
# the placement ablation run on one model per family.
COUNT_MODELS = _family_representatives(nets_factory.attention_model_names())
POSITION_MODELS = [n for n in COUNT_MODELS
                   if n in nets_factory.attention_position_model_names('pre')]


def _supports(name):
  return nets_factory.get_model_spec(name).supports_attention


def _case_id(name, module, position=attention.STANDARD):
  parts = [name] + ([module] if module else [])
  if position != attention.STANDARD:
    parts.append(position)
  return '_'.join(parts)


def _marks(name):
  # A graph's build time grows with its layers: the models of over 750
  # published variables (NASNets, ResNet-152/200, Inception-ResNet-v2) are
  # the suite's longest checks and run first (tests/conftest.py).
  return [pytest.mark.long] if len(
      util.load_reference(name)['variables']) > 750 else []


def _cases():
  for name in SLIM_NAMES:
    for module in [None, FULL_MODULE]:
      if module and not _supports(name):
        continue
      yield pytest.param(name, module, id=_case_id(name, module),
                         marks=_marks(name))


def _count_cases():
  for name in COUNT_MODELS:
    for module in OTHER_MODULES:
      yield pytest.param(name, module, attention.STANDARD,
                         id=_case_id(name, module))
  for name in POSITION_MODELS:
    for module in attention.names():
      for position in attention.POSITIONS[1:]:
        yield pytest.param(name, module, position,
                           id=_case_id(name, module, position))


def _unsupported_cases():
  for name in NAMES:
    built_in = nets_factory.get_model_spec(name).attention
    if not _supports(name):
      for module in attention.names():
        if built_in and module == built_in[0]:
          continue  # Its own module: accepted (test_row_with_built_in...).
        yield pytest.param(name, module, id='%s_%s' % (name, module))


NUM_CLASSES = 7


def _with_classes(shape, ref_classes):
  """`shape` with a trailing class dimension of the reference set to 7."""
  return util.with_classes(shape, ref_classes, NUM_CLASSES)


def _check_against_reference(name, module, position=attention.STANDARD,
                             reduction_ratio=16):
  """Builds `name` with `module` and checks it against the reference.

  Returns:
    (graph, images, logits, end_points, module variable names)
  """
  ref = util.load_reference(name)
  ref_classes = ref['num_classes']
  graph, images, logits, end_points = util.build(
      name, NUM_CLASSES, attention_module=module,
      reduction_ratio=reduction_ratio, attention_position=position)
  assert logits.shape.as_list() == _with_classes(ref['logits_shape'],
                                                 ref_classes)

  expected = [(n, _with_classes(s, ref_classes)) for n, s in ref['variables']]
  variables = util.model_variables(graph)
  extra = [v for v in variables if v not in expected]
  # Every published variable is there, in the published order.
  assert [v for v in variables if v not in extra] == expected
  gates = collections.OrderedDict(
      (k, v) for k, v in end_points.items() if attention.is_gate_end_point(k))
  added_params = 0
  if module:
    bound = attention.bind(module, position=position,
                           reduction_ratio=reduction_ratio, ignore_unknown=True)
    entry = bound.module
    # Only the module's own variables are added, under its sub-scope.
    assert extra
    assert {attention.module_of_variable(n).name for n, _ in extra} == {
        entry.name}
    assert all('/%s/' % entry.scope in n for n, _ in extra)
    # Every application records each of its gates; the first has C channels.
    assert {attention.gate_module(k).name for k in gates} == {entry.name}
    applications = [g for k, g in gates.items()
                    if k.endswith('/' + entry.gates[0])]
    assert applications
    assert len(gates) == len(entry.gates) * len(applications)
    added_params = sum(bound.param_count(g.shape[-1].value)
                       for g in applications)
  else:
    assert not extra and not gates
  assert [(k, v.shape.as_list()) for k, v in end_points.items()
          if k not in gates] == [(k, _with_classes(v, ref_classes))
                                 for k, v in ref['end_points'].items()]
  assert util.trainable_param_count(graph) == (
      util.reference_param_count(name, NUM_CLASSES) + added_params)
  return graph, images, logits, end_points, [n for n, _ in extra]


def _loss(logits, end_points):
  labels = tf.one_hot([3], NUM_CLASSES)
  loss = tf.losses.softmax_cross_entropy(labels, logits)
  if 'AuxLogits' in end_points:
    # As Slim's training adds it; otherwise the aux head gets no gradient.
    loss += 0.4 * tf.losses.softmax_cross_entropy(
        labels, tf.reshape(end_points['AuxLogits'], [1, NUM_CLASSES]))
  return loss


def _ops_feeding(tensor):
  """Names of every op `tensor` depends on (a walk over op inputs)."""
  seen, stack = set(), [tensor.op]
  while stack:
    op = stack.pop()
    if op.name in seen:
      continue
    seen.add(op.name)
    stack.extend(t.op for t in op.inputs)
    stack.extend(op.control_inputs)
  return seen


@pytest.mark.parametrize('name,module', list(_cases()))
def test_model_against_reference(name, module):
  graph, images, logits, end_points, _ = _check_against_reference(name, module)
  assert nets_factory.get_network_fn(
      name, 10).default_image_size == util.load_reference(
          name)['default_image_size']

  with graph.as_default():
    loss = _loss(logits, end_points)
    variables = tf.trainable_variables()
    feeding = _ops_feeding(loss)
    assert not [v.op.name for v in variables if v.op.name not in feeding]
    with tf.Session(config=util.FAST_SESSION) as sess:
      sess.run(tf.global_variables_initializer())
      batch = np.random.RandomState(0).uniform(
          -1, 1, images.shape.as_list()).astype(np.float32)
      out = sess.run(logits, {images: batch})
  assert out.shape == (1, NUM_CLASSES)
  assert np.all(np.isfinite(out))


@pytest.mark.parametrize('name,module,position', list(_count_cases()))
def test_module_variables_formula_and_connection(name, module, position):
  graph, _, logits, end_points, added = _check_against_reference(
      name, module, position)
  with graph.as_default():
    trainable = [v for v in tf.trainable_variables() if v.op.name in added]
  assert trainable
  # Every module variable feeds the logits (a branch built but not
  # connected would not), as in the full checks above; tests/test_attention.py
  # takes each module's gradients.
  feeding = _ops_feeding(logits)
  assert not [v.op.name for v in trainable if v.op.name not in feeding]


def test_row_with_built_in_attention(monkeypatch):
  """A registry row can carry its published attention as data."""
  row = nets_factory.get_model_spec('resnet_v1_50')._replace(
      attention=('se_block', {'reduction_ratio': 8}))
  models = collections.OrderedDict(nets_factory._MODELS)
  models['se_resnet_v1_50_test'] = row
  monkeypatch.setattr(nets_factory, '_MODELS', models)
  fn = nets_factory.get_network_fn('se_resnet_v1_50_test', 7)
  assert fn.attention == attention.bind('se_block', reduction_ratio=8)
  # The flag's default ratio does not override the row's.
  assert nets_factory.get_network_fn(
      'se_resnet_v1_50_test', 7, attention_module='se_block',
      reduction_ratio=16).attention == fn.attention
  for other in OTHER_MODULES:
    with pytest.raises(ValueError) as err:
      nets_factory.get_network_fn('se_resnet_v1_50_test', 7,
                                  attention_module=other)
    assert 'has se_block built in' in str(err.value)
  with tf.Graph().as_default() as graph:
    fn(tf.zeros([1, 64, 64, 3]))
    se = [v for v in tf.trainable_variables()
          if attention.is_attention_variable(v.op.name)]
  assert len(se) == 4 * 16  # fc1, fc2: weights and biases in 16 units
  # C = 256 in block1: the bottleneck is 256 // 8 = 32 wide.
  assert graph.get_tensor_by_name(
      'resnet_v1_50/block1/unit_1/bottleneck_v1/se/fc1/weights:0'
  ).shape.as_list() == [1, 1, 256, 32]


@pytest.mark.parametrize('position', attention.POSITIONS[1:])
def test_position_on_model_without_it_raises(position):
  with pytest.raises(ValueError) as err:
    nets_factory.get_network_fn('inception_v3', 7, attention_module=FULL_MODULE,
                                attention_position=position)
  assert ("inception_v3 does not support attention_position=%r" % position
          in str(err.value))
  assert ', '.join(POSITION_MODELS[:1]) in str(err.value)


@pytest.mark.parametrize('name,module', list(_unsupported_cases()))
def test_model_without_attention_support_raises(name, module):
  with pytest.raises(ValueError) as err:
    nets_factory.get_network_fn(name, 7, attention_module=module)
  message = str(err.value)
  assert name in message and repr(module) in message
  assert ', '.join(nets_factory.attention_model_names()) in message


def test_attention_off_values_build_the_published_model():
  for off in (None, '', attention.OFF):
    assert nets_factory.get_network_fn(
        'resnet_v1_50', 7, attention_module=off).attention is None


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
