r"""Evaluates each new checkpoint of a training directory, once, as it appears.

Watches `--checkpoint_path` (a training directory) every
`--eval_interval_secs` and evaluates every checkpoint it has not evaluated
yet, oldest first, with the metrics of `eval_image_classifier.py` written to
`--eval_dir` (TensorBoard shows them next to the training curves). A
checkpoint deleted by rotation between listing and loading is skipped with a
warning. The loop stops cleanly after `--timeout` seconds without a new
checkpoint (unset = run until interrupted), or after `--max_evaluations`.

Typical use (next to a running train_image_classifier.py):

    python eval_image_classifier_loop.py --model_name=resnet_v1_50 \
        --attention_module=se_block --checkpoint_path=/tmp/se_resnet50 \
        --eval_dir=/tmp/se_resnet50/eval --dataset_name=imagenet \
        --dataset_split_name=validation --dataset_dir=/data/imagenet \
        --eval_interval_secs=300 --timeout=3600
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import os

from absl import flags
from absl import logging

from train_lib import errors
from train_lib import evaluation
from train_lib import flag_groups

FLAGS = flags.FLAGS

flag_groups.declare_key_flags(flag_groups.define_eval_script_flags(loop=True))


def run():
  config = flag_groups.config_from_flags(evaluation.EvalConfig)
  if not os.path.isdir(config.checkpoint_path):
    raise errors.UserError('--checkpoint_path must be a training directory '
                           'for the loop, got %s' % config.checkpoint_path)
  evaluator = evaluation.Evaluator(config)
  try:
    results = evaluation.evaluation_loop(
        evaluator, config.checkpoint_path,
        eval_interval_secs=FLAGS.eval_interval_secs, timeout=FLAGS.timeout,
        max_evaluations=FLAGS.max_evaluations)
  finally:
    evaluator.close()
  logging.info('Evaluated %d checkpoints', len(results))


if __name__ == '__main__':
  flag_groups.run_script(run, __file__)
