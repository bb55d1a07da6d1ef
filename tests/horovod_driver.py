"""One Horovod rank of tests/test_horovod.py (run under horovodrun; no tests).

Trains the tests' small SE-ResNet-50 on digits with --distribution=horovod
through `training.train`, and after every step saves this rank's variables
to `<dump_dir>/rank<r>_step<s>.npz`, so the test can compare the ranks'
weights step by step. The dump is test instrumentation: it is added to the
hooks of `hvd.Replica` here, not in the library.

    horovodrun --gloo -np 2 -H 127.0.0.1:2 python tests/horovod_driver.py \
        DIGITS_DIR TRAIN_DIR DUMP_DIR MAX_STEPS [SAVE_INTERVAL_SECS]
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import logging  # pylint: disable=g-import-not-at-top,wrong-import-position
import numpy as np  # pylint: disable=g-import-not-at-top,wrong-import-position
import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top,wrong-import-position

from tests import test_train_util as util  # pylint: disable=g-import-not-at-top,wrong-import-position
from train_lib import errors  # pylint: disable=g-import-not-at-top,wrong-import-position
from train_lib import hvd  # pylint: disable=g-import-not-at-top,wrong-import-position
from train_lib import training  # pylint: disable=g-import-not-at-top,wrong-import-position


class _DumpHook(tf.train.SessionRunHook):
  """Saves this rank's global variables after every step."""

  def __init__(self, rank, dump_dir):
    self._rank = rank
    self._dump_dir = dump_dir

  def begin(self):
    self._variables = {v.op.name: v for v in tf.global_variables()}
    self._step = tf.train.get_global_step()

  def after_run(self, run_context, run_values):
    values, step = run_context.session.run([self._variables, self._step])
    path = os.path.join(self._dump_dir, 'rank%d_step%d.npz' % (self._rank,
                                                               step))
    np.savez(path + '.tmp.npz', **values)
    os.rename(path + '.tmp.npz', path)


def main(argv):
  digits_dir, train_dir, dump_dir = argv[1:4]
  max_steps = int(argv[4])
  save_secs = float(argv[5]) if len(argv) > 5 else 600
  hooks = hvd.Replica.hooks

  def hooks_with_dump(replica):
    return hooks(replica) + [_DumpHook(replica.rank, dump_dir)]

  hvd.Replica.hooks = hooks_with_dump
  config = training.TrainConfig(
      train_dir=train_dir, dataset_name='digits', dataset_dir=digits_dir,
      train_image_size=32, batch_size=4, num_readers=1,
      num_preprocessing_threads=1, log_every_n_steps=1,
      network_kwargs=util.SMALL_RESNET, random_seed=1, optimizer='momentum',
      learning_rate=0.01, learning_rate_decay_type='fixed',
      distribution='horovod', max_number_of_steps=max_steps,
      save_interval_secs=save_secs, flags_text='--driver\n',
      **util.SE_MODEL)
  result = errors.exit_on_user_error(lambda: training.train(config),
                                     'horovod_driver')
  print('RESULT step=%d' % result['global_step'], flush=True)


if __name__ == '__main__':
  logging.set_verbosity(logging.INFO)
  main(sys.argv)
