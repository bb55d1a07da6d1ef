r"""Evaluates a classifier checkpoint once: Accuracy, Recall_5, top-1/5 error.

TF-Slim's `eval_image_classifier.py` with the same flags and defaults, plus
`--attention_module`/`--reduction_ratio`. `--checkpoint_path` is a checkpoint
file or a directory (its latest checkpoint). The metrics are printed and
written as summaries to `--eval_dir` at the checkpoint's global step. For
evaluating every new checkpoint of a training run, use
`eval_image_classifier_loop.py`.

Typical use:

    python eval_image_classifier.py --model_name=resnet_v1_50 \
        --attention_module=se_block --checkpoint_path=/tmp/se_resnet50 \
        --dataset_name=imagenet --dataset_split_name=validation \
        --dataset_dir=/data/imagenet --eval_dir=/tmp/se_resnet50/eval
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

from train_lib import evaluation
from train_lib import flag_groups

flag_groups.declare_key_flags(flag_groups.define_eval_script_flags())


def run():
  config = flag_groups.config_from_flags(evaluation.EvalConfig)
  evaluator = evaluation.Evaluator(config)
  try:
    evaluator.evaluate(config.checkpoint_path)
  finally:
    evaluator.close()


if __name__ == '__main__':
  flag_groups.run_script(run, __file__)
