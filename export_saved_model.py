r"""Exports a trained classifier as a SavedModel that takes encoded images.

The SavedModel holds the checkpoint's weights and a 'serving_default'
signature: input 'image_bytes' (a string vector of JPEG/PNG/GIF/BMP bytes),
outputs 'probabilities' `[batch, num_classes]` and 'classes' `[batch]`.
Images are decoded and preprocessed in the graph exactly as evaluation does.
The export is written to a temporary directory and renamed into place.

Typical use:

    python export_saved_model.py --model_name=resnet_v1_50 \
        --attention_module=se_block --checkpoint_path=/tmp/se_resnet50 \
        --dataset_name=imagenet --labels_offset=1 \
        --export_dir=/tmp/se_resnet50_export/1
    saved_model_cli show --dir /tmp/se_resnet50_export/1 --all
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

from absl import flags

from train_lib import export
from train_lib import flag_groups

FLAGS = flags.FLAGS

_g = dict(module_name='Export')
flags.DEFINE_string('checkpoint_path', None,
                    'Checkpoint file, or a training directory (its latest).',
                    **_g)
flags.DEFINE_string('export_dir', None,
                    'SavedModel directory to create (must not exist).', **_g)
flags.DEFINE_string('preprocessing_name', None,
                    'Preprocessing; unset = the model\'s own.', **_g)
flags.DEFINE_integer('image_size', None,
                     'Input side; unset = the model\'s default.',
                     lower_bound=1, **_g)
flags.DEFINE_float('moving_average_decay', None,
                   'Export the moving averages of the weights.', **_g)
flags.DEFINE_bool('use_grayscale', False, 'As in training.', **_g)
flag_groups.declare_key_flags(
    flag_groups.define_model_flags() +
    flag_groups.define_export_dataset_flags() +
    ['checkpoint_path', 'export_dir', 'preprocessing_name', 'image_size',
     'moving_average_decay', 'use_grayscale'])
flag_groups.require_flag('checkpoint_path', 'the checkpoint to export')
flag_groups.require_flag('export_dir', 'the SavedModel directory to create')


def run():
  num_classes = export.dataset_num_classes(
      FLAGS.dataset_name, FLAGS.dataset_dir, FLAGS.labels_offset)
  export.export_saved_model(
      model_name=FLAGS.model_name, num_classes=num_classes,
      checkpoint_path=FLAGS.checkpoint_path, export_dir=FLAGS.export_dir,
      preprocessing_name=FLAGS.preprocessing_name, image_size=FLAGS.image_size,
      attention_module=FLAGS.attention_module,
      reduction_ratio=FLAGS.reduction_ratio,
      attention_position=FLAGS.attention_position,
      moving_average_decay=FLAGS.moving_average_decay,
      use_grayscale=FLAGS.use_grayscale)


if __name__ == '__main__':
  flag_groups.run_script(run, __file__)
