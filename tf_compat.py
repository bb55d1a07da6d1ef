"""The one place where the TensorFlow 1.15 and TensorFlow 2.x runtimes differ.

SE-Slim is written once against the TF 1.x graph API (`tensorflow.compat.v1`
and `tf_slim`). On TF 1.15 this module changes nothing but log verbosity. On
TF 2.x it makes the runtime behave as TF 1.15 does for that code, and it must
run before TensorFlow is first imported or any graph is built, which is why
every package of this repository (`nets`, `datasets`, `preprocessing`,
`deployment`, `train_lib`) imports it first in its `__init__.py`: a user's
own `from nets import nets_factory` gets the same runtime as our scripts.

What TF 2.x needs, and why:

* `TF_USE_LEGACY_KERAS=1` before TensorFlow is imported: tf-slim builds its
  layers on `tf.compat.v1.layers`, which TF 2.16+ serves from Keras 2
  (`tf-keras`); without the variable TF binds them to Keras 3, which has no
  graph-mode layers.
* the module `tf_keras.legacy_tf_layers`: TF's lazy loader looks the legacy
  layers up under that name, while tf-keras ships them as
  `tf_keras.src.legacy_tf_layers`; we register the alias.
* `disable_v2_behavior()`: graph mode, `tf.Dimension` shapes
  (`shape[-1].value`), v1 control flow and resource-free variables, so that
  variable names and checkpoints are those of TF 1.15 and Slim.

Nothing else in the repository asks which TensorFlow it runs on; code that
must differ asks this module (`IS_TF2`, `grouped_conv_supported_on_cpu`,
`enable_xla_cpu_global_jit`, `grouped_conv2d`).
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import os
import re
import sys
import tempfile
import warnings

# C++ start-up chatter (CPU feature notes, oneDNN banners) buries the step
# lines; a user who wants it sets the variable explicitly.
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
# Must precede the first `import tensorflow` (see the module docstring). It is
# ignored by TF 1.15.
os.environ.setdefault('TF_USE_LEGACY_KERAS', '1')

# TF 1.15 and tf-slim import modules that newer numpy/Python deprecate; these
# warnings are about our dependencies, not about the user's code.
warnings.filterwarnings('ignore', category=DeprecationWarning)
warnings.filterwarnings('ignore', category=FutureWarning)
# tf-keras's legacy layers warn on every `layer.apply`, which tf-slim calls.
warnings.filterwarnings('ignore', message='`layer.apply` is deprecated')

# TF 2's C++ runtime writes start-up notes (oneDNN and CUDA-stub banners, and
# "failed call to cuInit" on a machine without a GPU) through absl before its
# log level is read, so TF_CPP_MIN_LOG_LEVEL cannot hide them; they would
# bury the step lines and break one-line error messages. We catch what the
# import and the first device query write to the stderr descriptor and give
# back every line that is not such a note.
_STARTUP_NOTE = re.compile(
    r'absl::InitializeLog|^[IWE]\d{4} [\d:. ]+\d+ (port|cudart_stub|'
    r'cuda_platform|cpu_feature_guard|cuda_dnn|cuda_fft|cuda_blas|'
    r'computation_placer|gpu_device)\.cc:\d+\]')


def _import_tensorflow_quietly():
  """Imports TensorFlow, filtering its C++ start-up notes from stderr."""
  if os.environ.get('TF_CPP_MIN_LOG_LEVEL', '0') in ('', '0'):
    import tensorflow  # pylint: disable=g-import-not-at-top
    return tensorflow
  sys.stderr.flush()
  saved = os.dup(2)
  with tempfile.TemporaryFile(mode='w+b') as caught:
    os.dup2(caught.fileno(), 2)
    try:
      import tensorflow  # pylint: disable=g-import-not-at-top
      if int(tensorflow.__version__.split('.')[0]) >= 2:
        # The CUDA platform's notes come at the first device query; make it
        # here, inside the filter, rather than at the first Session.
        tensorflow.config.list_physical_devices('GPU')
    finally:
      os.dup2(saved, 2)
      os.close(saved)
      caught.seek(0)
      for line in caught.read().decode('utf-8', 'replace').splitlines(True):
        if not _STARTUP_NOTE.search(line):
          sys.stderr.write(line)
      sys.stderr.flush()
  return tensorflow


_tf = _import_tensorflow_quietly()

VERSION = _tf.__version__
IS_TF2 = int(VERSION.split('.')[0]) >= 2
# What the benchmark rows and logs call this runtime.
RUNTIME = 'TF %s' % VERSION
# A short name for file names and tables.
RUNTIME_KEY = 'tf2' if IS_TF2 else 'tf1'


def _alias_legacy_keras_layers():
  """Registers tf-keras's legacy layers where TF's lazy loader looks."""
  try:
    import tf_keras  # pylint: disable=g-import-not-at-top,unused-import
    from tf_keras.src import legacy_tf_layers  # pylint: disable=g-import-not-at-top
  except ImportError as e:
    raise ImportError(
        'SE-Slim on TensorFlow %s needs tf-keras of the same minor version '
        '(pip install -r requirements-tf2.txt): %s' % (VERSION, e))
  sys.modules.setdefault('tf_keras.legacy_tf_layers', legacy_tf_layers)


def _silence_deprecations():
  """Keeps TF's 'is deprecated' notices out of the training log."""
  try:
    from tensorflow.python.util import deprecation  # pylint: disable=g-import-not-at-top
    deprecation._PRINT_DEPRECATION_WARNINGS = False  # pylint: disable=protected-access
  except ImportError:  # Private module moved: the notices are only noise.
    pass


_silence_deprecations()
if IS_TF2:
  _alias_legacy_keras_layers()
  _tf.compat.v1.disable_v2_behavior()
  # Importing TF 2 sets TF2_BEHAVIOR=1 in os.environ; a TF 1.15 child of
  # this process (tests/test_cross_runtime.py runs one) would inherit it and
  # turn v2 behaviour on. This process has just turned it off anyway.
  os.environ.pop('TF2_BEHAVIOR', None)


def grouped_conv_supported_on_cpu():
  """Whether the CPU `Conv2D` kernel takes grouped filters.

  TF 1.15's CPU kernel refuses a filter whose input depth is a fraction of
  the input's ("does not support grouped convolutions on the CPU"); TF 2.x's
  runs it. GPU kernels take grouped filters on both.
  """
  return IS_TF2


def enable_xla_cpu_global_jit():
  """Lets XLA auto-cluster CPU ops, as `TF_XLA_FLAGS=--tf_xla_cpu_global_jit`.

  TF 1.15 parses `TF_XLA_FLAGS` at the process's first compilation pass, so
  setting the variable before the first session is enough. TF 2.x has parsed
  it by the time this module is imported (its first device query), so there
  the flag is also set through the C API call TF 2.x has for it
  (`TF_SetTfXlaCpuGlobalJit`, which TF 1.15 lacks). The variable is set in
  both cases, for child processes.
  """
  flags = os.environ.get('TF_XLA_FLAGS', '').split()
  if '--tf_xla_cpu_global_jit' not in flags:
    os.environ['TF_XLA_FLAGS'] = ' '.join(flags + ['--tf_xla_cpu_global_jit'])
  if IS_TF2:
    from tensorflow.python.client import pywrap_tf_session  # pylint: disable=g-import-not-at-top
    pywrap_tf_session.TF_SetTfXlaCpuGlobalJit(True)


_gpu_present = []  # cached answer of the one device query, once asked


def _has_gpu():
  if not _gpu_present:
    _gpu_present.append(bool(_tf.config.experimental.list_physical_devices(
        'GPU')))
  return _gpu_present[0]


def grouped_conv2d(inputs, filters, stride=1, rate=1, split=None, name=None):
  """VALID grouped convolution; the one place that picks its op.

  The filter is one variable `[kh, kw, C_in / groups, C_out]`, the layout of
  TF's grouped `Conv2D` and of PyTorch's `[C_out, C_in / groups, kh, kw]`
  weights transposed: output channel `o` reads input group
  `o // (C_out / groups)`. Where the runtime's kernel cannot run it (TF 1.15
  on the CPU, see `grouped_conv_supported_on_cpu`), the same filter is cut
  into `groups` slices and each input group is convolved with its slice,
  then the outputs are concatenated: the same numbers, `groups` small ops
  instead of one.

  Args:
    inputs: `[batch, height, width, C_in]`; C_in known.
    filters: `[kh, kw, C_in / groups, C_out]`, C_out divisible by groups.
    stride: spatial stride.
    rate: dilation rate.
    split: None picks the op: the runtime's grouped kernel, unless it is TF
      1.15 and the op is pinned to the CPU or no GPU is visible; True or
      False forces the split or the grouped kernel (for measurements).
    name: optional name of the result.

  Returns:
    `[batch, out_height, out_width, C_out]` (VALID padding).

  Raises:
    ValueError: if C_in is not a multiple of the filter's input depth.
  """
  in_depth = inputs.get_shape()[-1].value
  group_depth = filters.get_shape()[2].value
  if not in_depth or not group_depth or in_depth % group_depth:
    raise ValueError('grouped_conv2d: input depth %r is not a multiple of the '
                     'filter input depth %r' % (in_depth, group_depth))
  groups = in_depth // group_depth
  v1 = _tf.compat.v1
  if split is None:
    on_cpu = 'CPU' in (inputs.device or '').upper() or not _has_gpu()
    split = groups > 1 and not grouped_conv_supported_on_cpu() and on_cpu
  if not split:
    return v1.nn.conv2d(inputs, filters, [1, stride, stride, 1], 'VALID',
                        dilations=[1, rate, rate, 1], name=name)
  with v1.name_scope(name, 'grouped_conv2d', [inputs, filters]):
    outputs = [
        v1.nn.convolution(x, w, 'VALID', strides=[stride, stride],
                          dilation_rate=[rate, rate])
        for x, w in zip(v1.split(inputs, groups, axis=3),
                        v1.split(filters, groups, axis=3))]
    return v1.concat(outputs, axis=3)
