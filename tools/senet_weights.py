"""The released SENets' PyTorch weights: key layout, readers, Slim names.

Needs only numpy and the standard library (no TensorFlow, no torch), so the
converter (`convert_senet_weights.py`), the golden maker
(`make_senet_goldens.py`, run in a torch venv) and the tests share it.

* `state_dict_layout(model_name)`: the `[(key, shape)]` of timm's
  `legacy_se*` / Cadene's `se_*` state dict, in module order (timm and
  Cadene name the modules alike: `layer0.conv1`, `layerN.i.conv1` ..
  `se_module.fc2`, `downsample.{0,1}`, `last_linear`).
* `seeded_state_dict(model_name, seed)`: random weights in that layout, BN
  statistics included, from a numpy generator (the golden tests' weights).
* `read_state_dict(path)`: a `.safetensors` file, or a PyTorch zip archive
  (`torch.save` since 1.6; `.pth` / `.bin`) read without running pickled
  code: the unpickler admits only tensor rebuilds and ordered dicts, and
  tensors are read from the archive's storages.
* `to_slim(model_name, state_dict, scope)`: the Slim variables
  (`nets/senet.py` names) with TF layouts, checking every key and shape.

References:
  [1] Hu et al., Squeeze-and-Excitation Networks, arXiv:1709.01507.

Typical use:

    state = senet_weights.read_state_dict('model.safetensors')
    variables, counts = senet_weights.to_slim('se_resnet50', state)
    # variables: {'se_resnet50/conv1/weights': float32 [7, 7, 3, 64], ...}
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import collections
import json
import os
import pickle
import struct
import zipfile

import numpy as np

# (units per block, groups, conv2 width over base depth) of each model; the
# same tables as nets/senet.py (which needs TensorFlow, so not imported).
MODELS = collections.OrderedDict([
    ('se_resnet50', ((3, 4, 6, 3), 1, 1)),
    ('se_resnet101', ((3, 4, 23, 3), 1, 1)),
    ('se_resnet152', ((3, 8, 36, 3), 1, 1)),
    ('se_resnext50_32x4d', ((3, 4, 6, 3), 32, 2)),
    ('se_resnext101_32x4d', ((3, 4, 23, 3), 32, 2)),
])
# timm's names for the same weights (Cadene's are the factory names).
TIMM_NAMES = {
    'se_resnet50': 'legacy_seresnet50',
    'se_resnet101': 'legacy_seresnet101',
    'se_resnet152': 'legacy_seresnet152',
    'se_resnext50_32x4d': 'legacy_seresnext50_32x4d',
    'se_resnext101_32x4d': 'legacy_seresnext101_32x4d',
}
NUM_CLASSES = 1000
REDUCTION_RATIO = 16
BASE_DEPTHS = (64, 128, 256, 512)

_BN_STATS = ('weight', 'bias', 'running_mean', 'running_var')
_BN_SLIM = {'weight': 'gamma', 'bias': 'beta', 'running_mean': 'moving_mean',
            'running_var': 'moving_variance'}
# A counter PyTorch keeps in each BN; it carries no weight.
_BN_COUNTER = 'num_batches_tracked'


class WeightsError(ValueError):
  """A weights file that cannot be converted; the message is one line."""


def check_model_name(model_name):
  if model_name not in MODELS:
    raise WeightsError('Unknown model_name %r; expected one of: %s' %
                       (model_name, ', '.join(MODELS)))


def _bn(prefix, channels, slim_prefix):
  return [('%s.%s' % (prefix, s), (channels,), 'bn',
           '%s/BatchNorm/%s' % (slim_prefix, _BN_SLIM[s])) for s in _BN_STATS]


def _layout(model_name):
  """`[(key, shape, kind, slim name relative to the model scope)]`."""
  check_model_name(model_name)
  units, groups, width_factor = MODELS[model_name]
  rows = [('layer0.conv1.weight', (64, 3, 7, 7), 'conv', 'conv1/weights')]
  rows += _bn('layer0.bn1', 64, 'conv1')
  depth_in = 64
  for b, (base, num_units) in enumerate(zip(BASE_DEPTHS, units)):
    width, depth = width_factor * base, 4 * base
    for u in range(num_units):
      key = 'layer%d.%d' % (b + 1, u)
      slim = 'block%d/unit_%d/bottleneck' % (b + 1, u + 1)
      for i, (cin, cout, k, g) in enumerate(
          [(depth_in, width, 1, 1), (width, width, 3, groups),
           (width, depth, 1, 1)]):
        rows.append(('%s.conv%d.weight' % (key, i + 1), (cout, cin // g, k, k),
                     'conv', '%s/conv%d/weights' % (slim, i + 1)))
        rows += _bn('%s.bn%d' % (key, i + 1), cout,
                    '%s/conv%d' % (slim, i + 1))
      hidden = depth // REDUCTION_RATIO
      for i, (cin, cout) in enumerate([(depth, hidden), (hidden, depth)]):
        fc = '%s.se_module.fc%d' % (key, i + 1)
        rows.append((fc + '.weight', (cout, cin, 1, 1), 'se',
                     '%s/se/fc%d/weights' % (slim, i + 1)))
        rows.append((fc + '.bias', (cout,), 'se',
                     '%s/se/fc%d/biases' % (slim, i + 1)))
      if u == 0:  # the projection shortcut: depth (and stride) change
        rows.append((key + '.downsample.0.weight', (depth, depth_in, 1, 1),
                     'conv', slim + '/shortcut/weights'))
        rows += _bn(key + '.downsample.1', depth, slim + '/shortcut')
      depth_in = depth
  rows.append(('last_linear.weight', (NUM_CLASSES, depth_in), 'logits',
               'logits/weights'))
  rows.append(('last_linear.bias', (NUM_CLASSES,), 'logits', 'logits/biases'))
  return rows


def state_dict_layout(model_name):
  """`[(key, shape)]` of the weights (BN counters left out), in order."""
  return [(key, shape) for key, shape, _, _ in _layout(model_name)]


def seeded_state_dict(model_name, seed=0):
  """Random weights in the released layout, as the golden tests use them.

  Conv and linear weights are He-normal; BN gammas are in [0.5, 1.5] (in
  [0.1, 0.3] for each unit's last BN, so 50 residual additions keep the
  activations of order 1), betas and moving means ~ N(0, 0.1), moving
  variances in [0.5, 1.5]; SE and logits biases ~ N(0, 0.1). Values are
  drawn key by key in layout order from `numpy.random.RandomState(seed)`,
  so they are the same on every machine.

  Args:
    model_name: a key of `MODELS`.
    seed: the generator's seed.

  Returns:
    An ordered dict `{key: float32 array}` in PyTorch layouts.
  """
  rng = np.random.RandomState(seed)
  out = collections.OrderedDict()
  for key, shape, _, _ in _layout(model_name):
    stat = key.rsplit('.', 1)[1]
    if len(shape) > 1:
      fan_in = int(np.prod(shape[1:]))
      value = rng.normal(0.0, np.sqrt(2.0 / fan_in), shape)
    elif '.bn' in key or '.downsample.1.' in key or key.startswith('layer0'):
      if stat == 'weight':
        low, high = (0.1, 0.3) if '.bn3.' in key else (0.5, 1.5)
        value = rng.uniform(low, high, shape)
      elif stat == 'running_var':
        value = rng.uniform(0.5, 1.5, shape)
      else:
        value = rng.normal(0.0, 0.1, shape)
    else:
      value = rng.normal(0.0, 0.1, shape)
    out[key] = value.astype(np.float32)
  return out


def _to_tf_layout(kind, value):
  if value.ndim == 4:  # [out, in / groups, kh, kw] -> [kh, kw, in / groups, out]
    return np.transpose(value, (2, 3, 1, 0))
  if value.ndim == 2:  # last_linear [classes, C] -> 1x1 conv [1, 1, C, classes]
    return np.transpose(value)[np.newaxis, np.newaxis]
  return value


def to_slim(model_name, state_dict, scope=None):
  """Maps a state dict onto `nets/senet.py`'s variables.

  Args:
    model_name: a key of `MODELS`.
    state_dict: `{key: array}` as `read_state_dict` returns.
    scope: the model's variable scope (default `model_name`).

  Returns:
    (variables, counts): an ordered dict `{slim name: float32 array}` in TF
    layouts, and `{kind: number of tensors}` for conv, bn, se, logits and
    skipped (BN counters).

  Raises:
    WeightsError: naming the first missing, unexpected or mis-shaped key.
  """
  layout = _layout(model_name)
  scope = scope or model_name
  expected = {key for key, _, _, _ in layout}
  counts = collections.OrderedDict(
      (k, 0) for k in ('conv', 'bn', 'se', 'logits', 'skipped'))
  for key in state_dict:
    if key in expected:
      continue
    if key.endswith('.' + _BN_COUNTER) and key[:-len(_BN_COUNTER)] + 'weight' \
        in expected:
      counts['skipped'] += 1
      continue
    raise WeightsError(
        'Unexpected key %r in the weights: not part of %s (wrong model_name? '
        'it expects %d keys like %r)' %
        (key, model_name, len(layout), layout[0][0]))
  variables = collections.OrderedDict()
  for key, shape, kind, name in layout:
    if key not in state_dict:
      raise WeightsError('Missing key %r: %s needs it (%d keys in all); is '
                         'the file for another model?' %
                         (key, model_name, len(layout)))
    value = np.asarray(state_dict[key])
    if tuple(value.shape) != tuple(shape):
      raise WeightsError('Key %r has shape %s; %s expects %s' %
                         (key, list(value.shape), model_name, list(shape)))
    if not np.issubdtype(value.dtype, np.floating):
      raise WeightsError('Key %r has dtype %s; expected floating point' %
                         (key, value.dtype))
    variables['%s/%s' % (scope, name)] = np.ascontiguousarray(
        _to_tf_layout(kind, value.astype(np.float32)))
    counts[kind] += 1
  return variables, counts


# --- safetensors ------------------------------------------------------------

_SAFETENSORS_DTYPES = {
    'F64': np.float64, 'F32': np.float32, 'F16': np.float16,
    'I64': np.int64, 'I32': np.int32, 'I16': np.int16, 'I8': np.int8,
    'U8': np.uint8, 'BOOL': np.bool_,
}


def _bfloat16_to_float32(raw):
  bits = np.frombuffer(raw, dtype='<u2').astype(np.uint32) << 16
  return bits.view(np.float32)


def read_safetensors(path):
  """Reads a `.safetensors` file: u64 header length, JSON header, data.

  Raises:
    WeightsError: for a malformed header or an unsupported dtype.
  """
  with open(path, 'rb') as f:
    blob = f.read()
  if len(blob) < 8:
    raise WeightsError('%s: too short for a safetensors file' % path)
  (header_len,) = struct.unpack('<Q', blob[:8])
  if header_len > len(blob) - 8:
    raise WeightsError('%s: safetensors header length %d exceeds the file' %
                       (path, header_len))
  try:
    header = json.loads(blob[8:8 + header_len].decode('utf-8'))
  except ValueError as e:
    raise WeightsError('%s: unreadable safetensors header (%s)' % (path, e))
  data = memoryview(blob)[8 + header_len:]
  out = collections.OrderedDict()
  for key, info in header.items():
    if key == '__metadata__':
      continue
    try:
      dtype, shape, (begin, end) = (info['dtype'], info['shape'],
                                    info['data_offsets'])
    except (KeyError, TypeError, ValueError):
      raise WeightsError('%s: malformed safetensors entry for %r' % (path, key))
    if not 0 <= begin <= end <= len(data):
      raise WeightsError('%s: safetensors entry %r points outside the file' %
                         (path, key))
    raw = data[begin:end]
    if dtype == 'BF16':
      value = _bfloat16_to_float32(raw)
    elif dtype in _SAFETENSORS_DTYPES:
      value = np.frombuffer(raw, dtype=np.dtype(
          _SAFETENSORS_DTYPES[dtype]).newbyteorder('<'))
    else:
      raise WeightsError('%s: tensor %r has unsupported dtype %r' %
                         (path, key, dtype))
    if value.size != int(np.prod(shape)):
      raise WeightsError('%s: tensor %r has %d values for shape %s' %
                         (path, key, value.size, shape))
    out[key] = value.reshape(shape)
  return out


def write_safetensors(path, tensors):
  """Writes `{key: array}` as a `.safetensors` file (for tests and tools)."""
  names = {np.dtype(v): k for k, v in _SAFETENSORS_DTYPES.items()}
  header, chunks, offset = collections.OrderedDict(), [], 0
  for key, value in tensors.items():
    value = np.ascontiguousarray(value)
    raw = value.astype(value.dtype.newbyteorder('<')).tobytes()
    header[key] = {'dtype': names[value.dtype], 'shape': list(value.shape),
                   'data_offsets': [offset, offset + len(raw)]}
    chunks.append(raw)
    offset += len(raw)
  text = json.dumps(header).encode('utf-8')
  text += b' ' * (-len(text) % 8)  # the format aligns the data to 8 bytes
  with open(path, 'wb') as f:
    f.write(struct.pack('<Q', len(text)) + text + b''.join(chunks))


# --- PyTorch zip archives, without running pickled code ---------------------

_TORCH_STORAGES = {
    'DoubleStorage': np.float64, 'FloatStorage': np.float32,
    'HalfStorage': np.float16, 'BFloat16Storage': 'bfloat16',
    'LongStorage': np.int64, 'IntStorage': np.int32,
    'ShortStorage': np.int16, 'CharStorage': np.int8,
    'ByteStorage': np.uint8, 'BoolStorage': np.bool_,
}


class _StorageType(object):

  def __init__(self, name):
    self.dtype = _TORCH_STORAGES[name]


class _Storage(object):

  def __init__(self, array):
    self.array = array


def _rebuild_tensor(storage, storage_offset, size, stride, *unused_args):
  array = storage.array
  size, stride = tuple(size), tuple(stride)
  if not size:
    return array[storage_offset:storage_offset + 1].reshape(()).copy()
  extent = storage_offset + sum((n - 1) * s for n, s in zip(size, stride)) + 1
  if any(n == 0 for n in size):
    return np.zeros(size, array.dtype)
  if storage_offset < 0 or extent > array.size or min(stride) < 0:
    raise WeightsError('tensor of size %s and stride %s does not fit its '
                       'storage of %d values' % (list(size), list(stride),
                                                 array.size))
  item = array.itemsize
  return np.lib.stride_tricks.as_strided(
      array[storage_offset:], shape=size,
      strides=[s * item for s in stride]).copy()


def _empty_ordered_dict(*args):
  return collections.OrderedDict(*args)


class _RestrictedUnpickler(pickle.Unpickler):
  """Admits only `OrderedDict`, tensor rebuilds and storage types."""

  _ALLOWED = {
      ('collections', 'OrderedDict'): _empty_ordered_dict,
      ('torch._utils', '_rebuild_tensor_v2'): _rebuild_tensor,
      ('torch._utils', '_rebuild_tensor'): _rebuild_tensor,
  }

  def __init__(self, f, archive, prefix, path):
    pickle.Unpickler.__init__(self, f)
    self._archive = archive
    self._prefix = prefix
    self._path = path
    self._storages = {}

  def find_class(self, module, name):
    if (module, name) in self._ALLOWED:
      return self._ALLOWED[(module, name)]
    if module == 'torch' and name in _TORCH_STORAGES:
      return _StorageType(name)
    raise WeightsError('%s: refusing to unpickle %s.%s (only tensors and '
                       'ordered dicts are read; no code is run)' %
                       (self._path, module, name))

  def persistent_load(self, pid):
    if (not isinstance(pid, tuple) or len(pid) < 5 or pid[0] != 'storage' or
        not isinstance(pid[1], _StorageType)):
      raise WeightsError('%s: unsupported persistent id %r' %
                         (self._path, pid[:2] if isinstance(pid, tuple)
                          else pid))
    storage_type, key = pid[1], str(pid[2])
    if key not in self._storages:
      try:
        raw = self._archive.read('%sdata/%s' % (self._prefix, key))
      except KeyError:
        raise WeightsError('%s: storage %s is missing from the archive' %
                           (self._path, key))
      if storage_type.dtype == 'bfloat16':
        array = _bfloat16_to_float32(raw)
      else:
        array = np.frombuffer(raw, dtype=np.dtype(
            storage_type.dtype).newbyteorder('<'))
      self._storages[key] = _Storage(array)
    return self._storages[key]


def read_torch_zip(path):
  """Reads a `torch.save` zip archive holding a (nested) state dict.

  Raises:
    WeightsError: for a big-endian archive, a pickle that asks for anything
      but tensors and ordered dicts, or a missing storage.
  """
  with zipfile.ZipFile(path) as archive:
    pickles = [n for n in archive.namelist()
               if n.endswith('data.pkl') and n.count('/') == 1]
    if len(pickles) != 1:
      raise WeightsError('%s: a zip file, but not a PyTorch archive (no '
                         '<name>/data.pkl)' % path)
    prefix = pickles[0][:-len('data.pkl')]
    names = archive.namelist()
    if prefix + 'byteorder' in names and archive.read(
        prefix + 'byteorder').strip() != b'little':
      raise WeightsError('%s: big-endian PyTorch archives are not supported'
                         % path)
    import io  # pylint: disable=g-import-not-at-top
    unpickler = _RestrictedUnpickler(io.BytesIO(archive.read(pickles[0])),
                                     archive, prefix, path)
    try:
      obj = unpickler.load()
    except WeightsError:
      raise
    except Exception as e:  # pylint: disable=broad-except
      raise WeightsError('%s: unreadable pickle (%s: %s)' %
                         (path, type(e).__name__, e))
  return obj


def _find_state_dict(obj, path):
  """The tensor dict itself, or under 'state_dict' / 'model' (training
  checkpoints nest it)."""
  if isinstance(obj, dict):
    if obj and all(isinstance(v, np.ndarray) for v in obj.values()):
      return obj
    for key in ('state_dict', 'model', 'state_dict_ema'):
      if isinstance(obj.get(key), dict):
        return _find_state_dict(obj[key], path)
  raise WeightsError('%s: holds no state dict of tensors (top-level keys: %s)'
                     % (path, ', '.join(sorted(map(str, obj)))[:200]
                        if isinstance(obj, dict) else type(obj).__name__))


def read_state_dict(path):
  """Reads `{key: numpy array}` from a safetensors file or a PyTorch zip.

  The format is told by the content, not the extension. A `module.` prefix
  (left by `DataParallel`) is removed.

  Raises:
    WeightsError: the file is missing or in neither format (pre-1.6 PyTorch
      pickles among them), or is malformed; the message is one line.
  """
  if not os.path.isfile(path):
    raise WeightsError('--input %r: no such file' % path)
  with open(path, 'rb') as f:
    head = f.read(9)
  if zipfile.is_zipfile(path):
    state = _find_state_dict(read_torch_zip(path), path)
  elif len(head) == 9 and head[8:9] == b'{':
    state = read_safetensors(path)
  elif head[:1] == b'\x80':
    raise WeightsError(
        '%s: a legacy (pre-1.6, non-zip) PyTorch pickle; it cannot be read '
        'without running pickled code. Use the timm hub\'s model.safetensors, '
        'or re-save it with torch.save(torch.load(f), g) in a torch venv' %
        path)
  else:
    raise WeightsError('%s: neither a .safetensors file nor a PyTorch zip '
                       'archive (.pth/.bin)' % path)
  if state and all(k.startswith('module.') for k in state):
    state = collections.OrderedDict(
        (k[len('module.'):], v) for k, v in state.items())
  return state


# --- the golden tests' inputs -----------------------------------------------

# Input sides of the goldens: the default 224, and 195, whose odd sides reach
# every padding case (7x7/2 conv on an odd side, a ceil-mode pool window past
# the edge at 98, and odd 49 / 25 / 13 sides at the strided units).
GOLDEN_SIZES = (224, 195)
GOLDEN_WEIGHTS_SEED = 0
GOLDEN_INPUT_SEED = 1


def seeded_images(size, batch=1, seed=GOLDEN_INPUT_SEED):
  """`[batch, size, size, 3]` float32 ~ N(0, 1): normalised-image scale."""
  rng = np.random.RandomState(seed + size)
  return rng.normal(0.0, 1.0, (batch, size, size, 3)).astype(np.float32)
