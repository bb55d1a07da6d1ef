"""Issue #13: every public name of upstream TF-Slim nets/ exists here.

Generated from tests/data/slim_api/upstream_public_api.json (upstream's
public names and parameter lists, written from the tensorflow/models sources
named in its `_sources`): one case per upstream name, checked by
tools/slim_api_audit.py's rules (the name exists; a function takes
upstream's parameters by name, in upstream's relative order, and requires
nothing more). There is no allow-list: every upstream name must pass.
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import functools
import json

import pytest
import tensorflow.compat.v1 as tf
import tf_slim as slim

from tools import slim_api_audit

_GOLDEN = slim_api_audit.load_golden()
_CASES = [(module, name) for module in sorted(_GOLDEN)
          for name in sorted(_GOLDEN[module])]


def test_golden_names_its_sources_and_covers_the_families():
  with open(slim_api_audit.GOLDEN) as f:
    data = json.load(f)
  sources = data['_sources']
  assert sorted(sources) == sorted(_GOLDEN)
  for module, source in sources.items():
    assert source['path'].startswith('research/slim/nets/'), module
    assert source['path'].endswith(
        module[len('nets.'):].replace('.', '/') + '.py'), module
    assert len(source['commit']) == 40 and int(source['commit'], 16) >= 0
  for module in ('nets.alexnet', 'nets.vgg', 'nets.resnet_v1',
                 'nets.resnet_utils', 'nets.mobilenet.conv_blocks',
                 'nets.nets_factory'):
    assert module in _GOLDEN
  assert len(_CASES) >= 70


@pytest.mark.parametrize('module,name', _CASES,
                         ids=['%s.%s' % case for case in _CASES])
def test_upstream_name(module, name):
  problems = slim_api_audit.audit_module(module, {name: _GOLDEN[module][name]})
  assert not problems, '\n'.join(problems)


# The checker itself must be able to fail.


def test_checker_accepts_inserted_defaults_and_wrappers():
  def ours(inputs, num_classes=10, reuse=None, scope=None,
           attention_module=None, **kwargs):
    del inputs, num_classes, reuse, scope, attention_module, kwargs
  upstream = ['inputs', 'num_classes', 'scope']
  assert slim_api_audit.check_function(ours, upstream) == []
  assert slim_api_audit.check_function(slim.add_arg_scope(ours),
                                       upstream) == []
  partial = functools.partial(ours, num_classes=3)
  assert slim_api_audit.check_function(partial, upstream) == []


def test_checker_reports_missing_reordered_and_required_parameters():
  def renamed(images, num_classes=10, scope=None):
    del images, num_classes, scope
  def reordered(inputs, scope=None, num_classes=10):
    del inputs, scope, num_classes
  def needs_more(inputs, conv_defs, num_classes=10, scope=None):
    del inputs, conv_defs, num_classes, scope
  upstream = ['inputs', 'num_classes', 'scope']
  missing, renamed_required = slim_api_audit.check_function(renamed, upstream)
  assert 'lacks parameter(s) inputs' in missing
  assert 'requires parameter(s) images' in renamed_required
  (order,) = slim_api_audit.check_function(reordered, upstream)
  assert 'order (inputs, scope, num_classes)' in order
  (required,) = slim_api_audit.check_function(needs_more, upstream)
  assert 'requires parameter(s) conv_defs' in required
  assert slim_api_audit.check_function(42, upstream) == ['is not callable']


def test_audit_reports_a_missing_name_and_module():
  golden = {'nets.vgg': {'vgg_16': ['inputs'], 'vgg_17': None},
            'nets.no_such_net': {'x': None}}
  problems = slim_api_audit.audit(golden)
  assert problems[0].startswith('nets.no_such_net: cannot be imported')
  assert problems[1:] == ['nets.vgg.vgg_17: missing']


def test_main_rejects_an_unknown_module(capsys):
  assert slim_api_audit.main(['nets.vgg_99']) == 2
  err = capsys.readouterr().err
  assert "Unknown module 'nets.vgg_99'; expected one of:" in err
  assert 'nets.vgg' in err
  assert slim_api_audit.main(['nets.vgg']) == 0
  assert '0 gaps' in capsys.readouterr().out


# Values of the small helpers the audit found missing (issue #13).


def test_trunc_normal_is_slims_initializer():
  from nets import alexnet, overfeat  # pylint: disable=g-import-not-at-top
  for module in (alexnet, overfeat):
    init = module.trunc_normal(0.005)
    assert isinstance(init, tf.truncated_normal_initializer)
    assert init.stddev == 0.005 and init.mean == 0.0


def _run(fetch, feed=None):
  with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    return sess.run(fetch, feed)


def test_mobilenet_global_pool_with_slims_pool_op():
  import numpy as np  # pylint: disable=g-import-not-at-top
  from nets.mobilenet import mobilenet  # pylint: disable=g-import-not-at-top
  x = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape([2, 3, 4, 5])
  with tf.Graph().as_default():
    dynamic = tf.placeholder(tf.float32, [None, None, None, 5])
    outs = [mobilenet.global_pool(tf.constant(x)),
            mobilenet.global_pool(input_tensor=tf.constant(x),
                                  pool_op=tf.nn.max_pool),
            mobilenet.global_pool(dynamic)]
    assert [o.shape.as_list() for o in outs] == [
        [2, 1, 1, 5], [2, 1, 1, 5], [None, 1, 1, 5]]
    with pytest.raises(ValueError, match='needs a static height and width'):
      mobilenet.global_pool(dynamic, pool_op=tf.nn.max_pool)
    got = _run(outs, {dynamic: x})
  mean = x.mean(axis=(1, 2), keepdims=True)
  top = x.max(axis=(1, 2), keepdims=True)
  for value, want in zip(got, [mean, top, mean]):
    np.testing.assert_allclose(value, want, rtol=1e-6)


def test_mobilenet_apply_activation():
  import numpy as np  # pylint: disable=g-import-not-at-top
  from nets.mobilenet import mobilenet  # pylint: disable=g-import-not-at-top
  with tf.Graph().as_default():
    x = tf.constant([-2.0, 3.0, 9.0])
    same = mobilenet.apply_activation(x)
    relu6 = mobilenet.apply_activation(x, name='act',
                                       activation_fn=tf.nn.relu6)
    with slim.arg_scope([mobilenet.apply_activation],
                        activation_fn=tf.nn.relu):
      relu = mobilenet.apply_activation(x)
    assert same is x and relu6.op.name == 'act'
    got = _run([relu6, relu])
  np.testing.assert_array_equal(got[0], [0.0, 3.0, 6.0])
  np.testing.assert_array_equal(got[1], [0.0, 3.0, 9.0])


def test_mobilenet_op_takes_slims_multiplier_transorm_spelling():
  from nets.mobilenet import mobilenet  # pylint: disable=g-import-not-at-top
  def keep(params, multiplier, **unused):
    del params, multiplier, unused
  for key in ('multiplier_transorm', 'multiplier_transform'):
    row = mobilenet.op(slim.conv2d, num_outputs=16, **{key: keep})
    assert row.multiplier_func is keep and key not in row.params
    assert row.params == {'num_outputs': 16}
  params = {'num_outputs': 16}
  mobilenet.op(slim.conv2d).multiplier_func(params, 0.5)
  assert params == {'num_outputs': 8}


def test_mobilenet_needs_conv_defs_by_keyword():
  from nets.mobilenet import mobilenet  # pylint: disable=g-import-not-at-top
  from nets.mobilenet import mobilenet_v2  # pylint: disable=g-import-not-at-top
  with tf.Graph().as_default():
    with pytest.raises(ValueError, match='needs conv_defs='):
      mobilenet.mobilenet(tf.zeros([1, 32, 32, 3]), 10)
    logits, _ = mobilenet.mobilenet(tf.zeros([1, 32, 32, 3]), 10,
                                    conv_defs=mobilenet_v2.V2_DEF)
    assert logits.shape.as_list() == [1, 10]
    # TF-Slim's keyword names of the v2 entry points.
    net, _ = mobilenet_v2.mobilenet_base(
        input_tensor=tf.zeros([1, 32, 32, 3]),
        depth_multiplier=0.35, scope="B")
    assert net.shape.as_list() == [1, 1, 1, 448]  # 1280 * 0.35
  assert mobilenet_v2.expand_input(6)(num_inputs=16) == 96
