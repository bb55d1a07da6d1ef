r"""Writes a model's inference GraphDef (no weights), as TF-Slim does.

Slim's flags plus `--attention_module`/`--reduction_ratio`. The input is a
float32 placeholder named 'input'; the log line names the output node to
give `freeze_graph`. For a servable model with weights and a signature that
takes encoded images, use `export_saved_model.py`.

Typical use:

    python export_inference_graph.py --model_name=resnet_v1_50 \
        --attention_module=se_block --dataset_name=imagenet \
        --labels_offset=1 --output_file=/tmp/se_resnet50_inf_graph.pb
    freeze_graph --input_graph=/tmp/se_resnet50_inf_graph.pb \
        --input_checkpoint=/tmp/se_resnet50/model.ckpt-10000 \
        --input_binary=true --output_node_names=resnet_v1_50/predictions/Reshape_1 \
        --output_graph=/tmp/frozen_se_resnet50.pb
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

from absl import flags

from train_lib import export
from train_lib import flag_groups

FLAGS = flags.FLAGS

_g = dict(module_name='Export')
flags.DEFINE_bool('is_training', False,
                  'Export the training-mode graph (batch norm, dropout).', **_g)
flags.DEFINE_integer('image_size', None,
                     'Input side; unset = the model\'s default.',
                     lower_bound=1, **_g)
flags.DEFINE_integer('batch_size', None,
                     'Fixed batch size; unset = dynamic.', lower_bound=1, **_g)
flags.DEFINE_string('output_file', '', 'Where to write the GraphDef.', **_g)
flags.DEFINE_bool('quantize', False,
                  'Not supported: needs tf.contrib.quantize, which TensorFlow '
                  '1.15 without contrib does not have. Must stay false.', **_g)
flags.register_validator(
    'quantize', lambda v: not v,
    message='--quantize is unavailable: it needs tf.contrib.quantize')
flags.DEFINE_bool('is_video_model', False,
                  'Not supported: SE-Slim has no video models.', **_g)
flags.register_validator(
    'is_video_model', lambda v: not v,
    message='--is_video_model is unavailable: SE-Slim has no video models')
flags.DEFINE_integer('num_frames', None, 'Unused (video models only).', **_g)
flags.DEFINE_bool('write_text_graphdef', False,
                  'Write a text GraphDef instead of a binary one.', **_g)
flags.DEFINE_bool('use_grayscale', False,
                  'One input channel instead of three.', **_g)
flag_groups.declare_key_flags(
    flag_groups.define_model_flags() +
    flag_groups.define_export_dataset_flags() +
    ['is_training', 'image_size', 'batch_size', 'output_file', 'quantize',
     'is_video_model', 'num_frames', 'write_text_graphdef', 'use_grayscale'])
flag_groups.require_flag('output_file', 'where to write the GraphDef')


def run():
  num_classes = export.dataset_num_classes(
      FLAGS.dataset_name, FLAGS.dataset_dir, FLAGS.labels_offset)
  export.export_inference_graph(
      FLAGS.model_name, num_classes, FLAGS.output_file,
      is_training=FLAGS.is_training, image_size=FLAGS.image_size,
      batch_size=FLAGS.batch_size, use_grayscale=FLAGS.use_grayscale,
      attention_module=FLAGS.attention_module,
      reduction_ratio=FLAGS.reduction_ratio,
      attention_position=FLAGS.attention_position,
      write_text_graphdef=FLAGS.write_text_graphdef)


if __name__ == '__main__':
  flag_groups.run_script(run, __file__)
