r"""Converts the released SENet ImageNet weights (timm / Cadene) to Slim.

Reads a PyTorch state dict of one of the five released SENets [1] (timm's
`legacy_seresnet50` .. `legacy_seresnext101_32x4d` hub files, or Cadene's
`pretrainedmodels` `se_resnet50` ..), maps every tensor onto the variables of
`nets/senet.py`'s model of `--model_name` (convs to `[kh, kw, in, out]`,
`last_linear` to the 1x1 `logits` conv, BN to `BatchNorm/{gamma, beta,
moving_mean, moving_variance}`), and writes a Slim checkpoint that
`eval_image_classifier.py`, `train_image_classifier.py --checkpoint_path`
and both exports read.

Inputs, told by their content: `.safetensors`, or a `torch.save` zip archive
(`.pth`, `.bin`) read without running pickled code. A missing, extra or
mis-shaped key is one error line naming it; nothing is written then. The
checkpoint is written under a temporary prefix and renamed into place.

    python tools/convert_senet_weights.py --input=model.safetensors \
        --model_name=se_resnet50 --output=/tmp/se_resnet50/model.ckpt

References:
  [1] Hu et al., Squeeze-and-Excitation Networks, arXiv:1709.01507.
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import collections
import os
import sys

from absl import app
from absl import flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# pylint: disable=g-import-not-at-top
import tf_compat  # pylint: disable=unused-import
import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import nets_factory
from tools import senet_weights
from train_lib import errors
from train_lib import flag_groups
# pylint: enable=g-import-not-at-top

FLAGS = flags.FLAGS

flags.DEFINE_string('input', None, 'The weights: a .safetensors file or a '
                    'PyTorch zip archive (.pth / .bin) of a state dict.')
flags.DEFINE_enum('model_name', None, list(senet_weights.MODELS),
                  'The released network the weights are for.')
flags.DEFINE_string('output', None, 'Checkpoint prefix to write, e.g. '
                    '/tmp/se_resnet50/model.ckpt (its directory is created).')

# The files a V2 checkpoint prefix names; the index is renamed last, so a
# prefix whose index exists is complete.
_SUFFIXES = ('.data-00000-of-00001', '.index')


def convert(input_path, model_name, output_prefix):
  """Converts `input_path` into a checkpoint at `output_prefix`.

  Args:
    input_path: a safetensors file or PyTorch zip archive.
    model_name: a key of `senet_weights.MODELS`.
    output_prefix: the checkpoint prefix to write.

  Returns:
    `{kind: count}` of the tensors mapped (see `senet_weights.to_slim`).

  Raises:
    errors.UserError: unreadable input, or keys or shapes that do not fit
      the model (the message names the key).
  """
  try:
    senet_weights.check_model_name(model_name)
    state = senet_weights.read_state_dict(input_path)
    values, counts = senet_weights.to_slim(model_name, state)
  except senet_weights.WeightsError as e:
    raise errors.UserError(str(e))
  with tf.Graph().as_default():
    network_fn = nets_factory.get_network_fn(
        model_name, num_classes=senet_weights.NUM_CLASSES, is_training=False)
    network_fn(tf.placeholder(tf.float32, [1, 224, 224, 3]))
    variables = slim.get_model_variables()
    names = [v.op.name for v in variables]
    # The layout and the model are written apart: check that they agree.
    missing = [n for n in names if n not in values]
    unused = [n for n in values if n not in set(names)]
    if missing or unused:
      raise errors.UserError(
          'internal: %s variables without weights %s, weights without '
          'variables %s' % (model_name, missing[:3], unused[:3]))
    # One run assigns every variable: a `Variable.load` per variable would
    # prepare a new executor for each of the few hundred feeds (about 15 s for
    # SE-ResNet-50 on TF 1.15, 60 s for SE-ResNet-152).
    feeds = collections.OrderedDict(
        (tf.placeholder(v.dtype.base_dtype, v.shape), v) for v in variables)
    assign_all = tf.group(*[v.assign(p) for p, v in feeds.items()])
    saver = tf.train.Saver(variables, write_version=tf.train.SaverDef.V2)
    directory = os.path.dirname(os.path.abspath(output_prefix))
    tf.gfile.MakeDirs(directory)
    temp_prefix = '%s.tmp-%d' % (output_prefix, os.getpid())
    with tf.Session() as sess:
      sess.run(assign_all, {p: values[v.op.name] for p, v in feeds.items()})
      try:
        saver.save(sess, temp_prefix, write_meta_graph=False,
                   write_state=False)
        for suffix in _SUFFIXES:
          os.replace(temp_prefix + suffix, output_prefix + suffix)
      finally:
        for suffix in _SUFFIXES:
          if os.path.exists(temp_prefix + suffix):
            os.remove(temp_prefix + suffix)
  return counts


def main(argv):
  if len(argv) > 1:
    raise app.UsageError('Unexpected arguments: %s' % ' '.join(argv[1:]))
  prog = os.path.basename(__file__)

  def run():
    for name in ('input', 'model_name', 'output'):
      if not FLAGS[name].value:
        raise errors.UserError('--%s is required' % name)
    counts = convert(FLAGS.input, FLAGS.model_name, FLAGS.output)
    print('%s: mapped %d tensors from %s (%s) -> %s' % (
        FLAGS.model_name, sum(v for k, v in counts.items() if k != 'skipped'),
        FLAGS.input, ', '.join('%s %d' % kv for kv in counts.items()),
        FLAGS.output))

  errors.exit_on_user_error(run, prog)


if __name__ == '__main__':
  app.run(main, flags_parser=flag_groups.parse_flags)
