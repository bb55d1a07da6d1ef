"""The released SENets: logits equal timm's on the same weights, offline.

tests/data/senet/<model>.json holds what timm's own `legacy_se*` model
computes (tools/make_senet_goldens.py, run once in a torch venv) from
`senet_weights.seeded_state_dict` on `senet_weights.seeded_images` at 224
and at 195 (odd sides: padding and ceil-mode pooling). Here the same seeded
weights are written as a safetensors file, converted by
tools/convert_senet_weights.py, restored into our model, and its logits are
compared: float32 through 50 to 152 layers in another library agrees to
~1e-6 of the logits' scale, so 1e-4 of it leaves room for any CPU's
summation order while a wrong padding, stride or layout is off by O(1).
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

import tf_compat
from nets import attention
from nets import nets_factory
from nets import senet
from tests import nets_testutil as util
from tools import convert_senet_weights
from tools import senet_weights
from train_lib import errors

GOLDEN_DIR = os.path.join(os.path.dirname(__file__), 'data', 'senet')
# Relative to max |logit|: see the module docstring.
TOLERANCE = 1e-4


def _golden(name):
  with open(os.path.join(GOLDEN_DIR, name + '.json')) as f:
    return json.load(f)


def _timm_state(name, seed=senet_weights.GOLDEN_WEIGHTS_SEED):
  """The seeded weights plus the int64 BN counters a timm file has."""
  state = senet_weights.seeded_state_dict(name, seed)
  for key in list(state):
    if key.endswith('.running_var'):
      state[key[:-len('running_var')] + 'num_batches_tracked'] = np.array(
          7, np.int64)
  return state


def _convert(name, tmp_path, state=None):
  path = str(tmp_path / (name + '.safetensors'))
  senet_weights.write_safetensors(path, state or _timm_state(name))
  prefix = str(tmp_path / 'ckpt' / 'model.ckpt')
  counts = convert_senet_weights.convert(path, name, prefix)
  return prefix, counts


def test_layout_is_timms():
  """Keys and shapes equal the manifest timm's state_dict() gave."""
  for name in senet_weights.MODELS:
    manifest = [(k, tuple(s)) for k, s in _golden(name)['manifest']
                if not k.endswith('.num_batches_tracked')]
    assert senet_weights.state_dict_layout(name) == manifest


@pytest.mark.parametrize('name', list(senet_weights.MODELS))
def test_logits_equal_timms(name, tmp_path):
  golden = _golden(name)
  prefix, counts = _convert(name, tmp_path)
  units = sum(senet_weights.MODELS[name][0])
  convs = 1 + 3 * units + 4  # stem, units, projection shortcuts
  assert counts == {'conv': convs, 'bn': 4 * convs, 'se': 4 * units,
                    'logits': 2, 'skipped': convs}
  # One graph for both sizes: the spatial dimensions are left dynamic.
  with tf.Graph().as_default():
    images = tf.placeholder(tf.float32, [1, None, None, 3])
    logits, _ = nets_factory.get_network_fn(name, 1000)(images)
    saver = tf.train.Saver(slim.get_model_variables())
    with tf.Session(config=util.FAST_SESSION) as sess:
      saver.restore(sess, prefix)
      for run in golden['runs']:
        assert run['batch'] == 1
        out = sess.run(logits, {images: senet_weights.seeded_images(
            run['size'], run['batch'], golden['input_seed'])})
        expected = np.array(run['logits'], np.float32)
        scale = np.abs(expected).max()
        assert np.abs(out - expected).max() <= TOLERANCE * scale, run['size']


def test_se_is_the_rows_data():
  """The factory binds se_block r=16; the model file alone builds no SE."""
  spec = nets_factory.get_model_spec('se_resnet50')
  assert spec.attention == ('se_block', {'reduction_ratio': 16})
  # Asking for its own module changes nothing; another one is refused.
  assert nets_factory.get_network_fn(
      'se_resnet50', 10, attention_module='se_block',
      reduction_ratio=8).attention == attention.bind('se_block',
                                                     reduction_ratio=16)
  with pytest.raises(ValueError, match='has se_block built in'):
    nets_factory.get_network_fn('se_resnet50', 10, attention_module='eca_block')
  with tf.Graph().as_default():
    senet.se_resnet50(tf.zeros([1, 64, 64, 3]), num_classes=10)
    names = [v.op.name for v in tf.global_variables()]
  assert names and not [n for n in names if '/se/' in n]
  with tf.Graph().as_default():
    _, end_points = nets_factory.get_network_fn('se_resnet50', 10)(
        tf.zeros([1, 64, 64, 3]))
  gates = [k for k in end_points if k.endswith('/excitation')]
  assert len(gates) == 16


def test_stride_placement():
  """SE-ResNet strides in conv1 of a block's first unit, SE-ResNeXt in
  conv2; both keep the resolution in block1 and halve it in block2."""
  for name, strided in (('se_resnet50', 'conv1'),
                        ('se_resnext50_32x4d', 'conv2')):
    with tf.Graph().as_default():
      _, end_points = nets_factory.get_network_fn(name, 10)(
          tf.zeros([1, 64, 64, 3]))
    unit = '%s/block2/unit_1/bottleneck/' % name
    sides = {k: end_points[unit + k].shape[1].value
             for k in ('conv1', 'conv3')}
    assert sides['conv3'] == 8
    assert sides['conv1'] == (8 if strided == 'conv1' else 16)
    assert end_points['%s/block1' % name].shape[1].value == 16


@pytest.mark.parametrize('side', [7, 8, 9, 112, 97])
def test_ceil_mode_max_pool(side):
  x = np.random.RandomState(side).normal(size=(1, side, side, 2))
  with tf.Graph().as_default(), tf.Session() as sess:
    out = sess.run(senet.max_pool2d_ceil(tf.constant(x, tf.float32)))
    dynamic = tf.placeholder(tf.float32, [1, None, None, 2])
    out_dynamic = sess.run(senet.max_pool2d_ceil(dynamic), {dynamic: x})
  n = -(-(side - 3) // 2) + 1
  expected = np.array([[[x[0, 2 * i:2 * i + 3, 2 * j:2 * j + 3, c].max()
                         for c in range(2)] for j in range(n)]
                       for i in range(n)])
  np.testing.assert_allclose(out[0], expected, rtol=1e-6)
  np.testing.assert_allclose(out_dynamic[0], expected, rtol=1e-6)


@pytest.mark.parametrize('split', [True, False])
def test_grouped_conv_split_equals_dense(split):
  """Both ops give the block-diagonal dense conv's numbers (the grouped
  kernel only where the runtime has one on the CPU)."""
  if not split and not tf_compat.grouped_conv_supported_on_cpu():
    pytest.skip('this runtime has no grouped Conv2D on the CPU')
  rng = np.random.RandomState(0)
  x = rng.normal(size=(2, 9, 9, 8)).astype(np.float32)
  w = rng.normal(size=(3, 3, 2, 12)).astype(np.float32)  # 4 groups
  dense = np.zeros((3, 3, 8, 12), np.float32)
  for g in range(4):
    dense[:, :, 2 * g:2 * g + 2, 3 * g:3 * g + 3] = w[:, :, :, 3 * g:3 * g + 3]
  with tf.Graph().as_default(), tf.Session() as sess:
    for stride, rate in ((1, 1), (2, 1), (1, 2)):
      got = sess.run(tf_compat.grouped_conv2d(
          tf.constant(x), tf.constant(w), stride=stride, rate=rate,
          split=split))
      want = sess.run(tf.nn.convolution(
          tf.constant(x), tf.constant(dense), 'VALID',
          strides=[stride, stride], dilation_rate=[rate, rate]))
      np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def _state(name='se_resnet50'):
  return _timm_state(name, seed=3)


@pytest.mark.parametrize('edit,message', [
    (lambda s: s.pop('layer2.0.downsample.0.weight'),
     "Missing key 'layer2.0.downsample.0.weight'"),
    (lambda s: s.update({'layer5.0.conv1.weight': np.zeros(1, np.float32)}),
     "Unexpected key 'layer5.0.conv1.weight'"),
    (lambda s: s.update({'last_linear.weight': np.zeros((1001, 2048),
                                                        np.float32)}),
     r"Key 'last_linear.weight' has shape \[1001, 2048\]; se_resnet50 "
     r"expects \[1000, 2048\]"),
])
def test_bad_state_dict_names_the_key(edit, message, tmp_path):
  state = _state()
  edit(state)
  with pytest.raises(errors.UserError, match=message):
    _convert('se_resnet50', tmp_path, state)
  assert not os.path.exists(str(tmp_path / 'ckpt'))  # nothing written


def test_wrong_model_name_names_a_key(tmp_path):
  with pytest.raises(errors.UserError, match="'layer1.0.conv1.weight' has "
                     r'shape \[64, 64, 1, 1\]; se_resnext50_32x4d expects '
                     r'\[128, 64, 1, 1\]'):
    _convert('se_resnext50_32x4d', tmp_path, _state())


def test_torch_zip_reader_matches_safetensors(tmp_path):
  """A hand-made `torch.save`-layout archive: strided and offset storages,
  BN counters skipped; a pickle asking for anything else is refused."""
  import pickle
  import zipfile

  # The pickle torch.save writes, opcode by opcode (no torch here).
  storage = np.arange(24, dtype=np.float32)

  def torch_pickle(entries, bad_global=None):
    import io
    out = io.BytesIO()
    p = pickle._Pickler(out, protocol=2)  # pylint: disable=protected-access
    write = p.write

    def glob(module, name):
      write(b'c' + module.encode() + b'\n' + name.encode() + b'\n')

    write(b'\x80\x02')
    glob('collections', 'OrderedDict')
    write(b')R(')  # OrderedDict(), MARK
    for key, offset, size, stride in entries:
      p.save(key)
      glob('torch._utils', '_rebuild_tensor_v2')
      write(b'((')
      p.save('storage')
      glob(*(bad_global or ('torch', 'FloatStorage')))
      p.save('0')
      p.save('cpu')
      p.save(24)
      write(b'tQ')  # TUPLE, BINPERSID
      p.save(offset)
      p.save(tuple(size))
      p.save(tuple(stride))
      p.save(False)
      glob('collections', 'OrderedDict')
      write(b')Rt')  # OrderedDict(), TUPLE
      write(b'R')  # REDUCE: _rebuild_tensor_v2(*args)
    write(b'u.')  # SETITEMS, STOP
    return out.getvalue()

  entries = [('a', 0, (2, 3), (3, 1)), ('b.t', 4, (3, 2), (1, 3)),
             ('c', 23, (), ())]
  path = str(tmp_path / 'w.pth')
  with zipfile.ZipFile(path, 'w') as z:
    z.writestr('w/data.pkl', torch_pickle(entries))
    z.writestr('w/byteorder', 'little')
    z.writestr('w/data/0', storage.tobytes())
  state = senet_weights.read_state_dict(path)
  assert list(state) == ['a', 'b.t', 'c']
  np.testing.assert_array_equal(state['a'], storage[:6].reshape(2, 3))
  np.testing.assert_array_equal(state['b.t'],
                                storage[4:10].reshape(2, 3).T)
  assert state['c'] == 23.0
  with zipfile.ZipFile(path, 'w') as z:
    z.writestr('w/data.pkl', torch_pickle(entries, ('os', 'system')))
    z.writestr('w/data/0', storage.tobytes())
  with pytest.raises(senet_weights.WeightsError,
                     match='refusing to unpickle os.system'):
    senet_weights.read_state_dict(path)


def test_unreadable_inputs_are_one_line(tmp_path):
  legacy = tmp_path / 'legacy.pth'
  legacy.write_bytes(b'\x80\x02\x8a\x0alegacy')
  text = tmp_path / 'w.txt'
  text.write_text('not weights')
  for path, message in ((legacy, 'legacy'), (text, 'neither'),
                        (tmp_path / 'none', 'no such file')):
    with pytest.raises(errors.UserError, match=message) as info:
      convert_senet_weights.convert(str(path), 'se_resnet50',
                                    str(tmp_path / 'out' / 'model.ckpt'))
    assert '\n' not in str(info.value)
  assert not os.path.exists(str(tmp_path / 'out'))

