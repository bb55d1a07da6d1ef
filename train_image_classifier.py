r"""Trains an image classifier (optionally with Squeeze-and-Excitation).

TF-Slim's `train_image_classifier.py` with the same flags and defaults, plus
`--attention_module`/`--reduction_ratio` (SE [1]), `--se_identity_init` and
`--ps_hosts`/`--worker_hosts`/`--job_name` for distributed training. See
`train_lib/training.py` for what it does and `--helpfull` for every flag,
grouped by concern. The resolved flags are written to `train_dir/flags.txt`
at start; `--flagfile=configs/<recipe>.flags` reads a named recipe.

References:
  [1] Hu et al., Squeeze-and-Excitation Networks, arXiv:1709.01507.

Typical use:

    python train_image_classifier.py \
        --flagfile=configs/se_resnet50_imagenet.flags \
        --dataset_dir=/data/imagenet --train_dir=/tmp/se_resnet50

    # Fine-tune SE-ResNet-50 from Slim's (non-SE) ResNet-50 checkpoint:
    python train_image_classifier.py --model_name=resnet_v1_50 \
        --attention_module=se_block --se_identity_init \
        --checkpoint_path=/ckpt/resnet_v1_50.ckpt --labels_offset=1 \
        --dataset_name=imagenet --dataset_dir=/data/imagenet \
        --train_dir=/tmp/se_resnet50_ft
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

from absl import flags

from train_lib import flag_groups
from train_lib import training

FLAGS = flags.FLAGS

flag_groups.declare_key_flags(flag_groups.define_train_script_flags())


def run():
  training.train(flag_groups.config_from_flags(
      training.TrainConfig, flags_text=FLAGS.flags_into_string()))


if __name__ == '__main__':
  flag_groups.run_script(run, __file__)
