"""Exporting a classifier: Slim's inference GraphDef, and a SavedModel.

* `export_inference_graph` writes what Slim's `export_inference_graph.py`
  writes: a GraphDef without weights whose input is a float32 placeholder
  named 'input' (`[batch_size, size, size, channels]`); freeze it with
  `freeze_graph` and the output node it logs.
* `export_saved_model` writes a SavedModel with the weights of a checkpoint
  and a 'serving_default' signature that takes encoded images (JPEG, PNG,
  GIF or BMP bytes; input 'image_bytes', a string vector), decodes and
  preprocesses them as evaluation does, and returns 'probabilities'
  `[batch, num_classes]` and 'classes' `[batch]`. TensorFlow Serving and
  `tf.saved_model.loader.load` read it.

Typical use:

    export.export_saved_model(
        model_name='resnet_v1_50', num_classes=10, checkpoint_path='/tmp/run',
        export_dir='/tmp/export/1', attention_module='se_block',
        image_size=32)
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

from absl import logging
import tensorflow.compat.v1 as tf

from datasets import dataset_factory
from nets import attention
from train_lib import checkpoints
from train_lib import common
from train_lib import errors
from train_lib import finetune

SIGNATURE_INPUT = 'image_bytes'
SIGNATURE_PROBABILITIES = 'probabilities'
SIGNATURE_CLASSES = 'classes'


def dataset_num_classes(dataset_name, dataset_dir='', labels_offset=0):
  """Number of classes of `dataset_name` minus `labels_offset`.

  Read like Slim does (from the 'train' split); when the records are not at
  hand, from the dataset module's constant.

  Raises:
    errors.UserError: if the number cannot be known.
  """
  num_classes = None
  if dataset_dir:
    try:
      num_classes = dataset_factory.get_dataset(dataset_name, 'train',
                                                dataset_dir).num_classes
    except ValueError:
      num_classes = None
  if num_classes is None:
    module = dataset_factory.datasets_map.get(dataset_name)
    if module is None:
      raise errors.UserError('Unknown dataset_name %r; expected one of: %s' %
                             (dataset_name, ', '.join(dataset_factory.names())))
    num_classes = getattr(module, 'NUM_CLASSES', None)
    if not num_classes:
      raise errors.UserError(
          'The number of classes of %s is in its converted metadata: pass '
          '--dataset_dir' % dataset_name)
  return common.num_classes_after_offset(num_classes, labels_offset)


def export_inference_graph(model_name, num_classes, output_file,
                           is_training=False, image_size=None,
                           batch_size=None, use_grayscale=False,
                           attention_module=None,
                           reduction_ratio=attention.DEFAULT_REDUCTION_RATIO,
                           write_text_graphdef=False,
                           attention_position=attention.STANDARD):
  """Writes the model's inference GraphDef (no weights) to `output_file`.

  Returns:
    The name of the output node (the softmax or the logits).

  Raises:
    errors.UserError: for an unknown model or attention module.
  """
  if not output_file:
    raise errors.UserError('--output_file is required')
  graph = tf.Graph()
  with graph.as_default():
    network_fn = common.build_network_fn(
        model_name, num_classes, is_training=is_training,
        attention_module=attention_module, reduction_ratio=reduction_ratio,
        attention_position=attention_position)
    size = image_size or network_fn.default_image_size
    channels = 1 if use_grayscale else 3
    placeholder = tf.placeholder(tf.float32, [batch_size, size, size, channels],
                                 name='input')
    logits, end_points = network_fn(placeholder)
    output = end_points.get('Predictions', end_points.get('predictions',
                                                          logits))
    graph_def = graph.as_graph_def()
  try:
    common.atomic_write(output_file, str(graph_def) if write_text_graphdef
                        else graph_def.SerializeToString(),
                        binary=not write_text_graphdef)
  except (tf.errors.OpError, OSError) as e:
    raise errors.UserError('Cannot write --output_file=%s: %s' %
                           (output_file, checkpoints.first_line(e)))
  logging.info('Wrote %s (input: input, output node: %s)', output_file,
               output.op.name)
  return output.op.name


def export_saved_model(model_name, num_classes, checkpoint_path, export_dir,
                       preprocessing_name=None, image_size=None,
                       attention_module=None,
                       reduction_ratio=attention.DEFAULT_REDUCTION_RATIO,
                       moving_average_decay=None, use_grayscale=False,
                       network_kwargs=None,
                       attention_position=attention.STANDARD):
  """Writes a SavedModel with a serving signature: image bytes -> probs.

  Args:
    model_name: the model's name.
    num_classes: classes of the logits (dataset classes - labels_offset).
    checkpoint_path: checkpoint file or training directory.
    export_dir: directory to create; it must not exist yet.
    preprocessing_name: unset = the model's own.
    image_size: unset = the model's default size.
    attention_module: as trained.
    reduction_ratio: as trained.
    attention_position: as trained.
    moving_average_decay: export the moving averages of the weights.
    use_grayscale: as trained.
    network_kwargs: extra builder kwargs (as trained).

  Returns:
    `export_dir`.

  Raises:
    errors.UserError: existing `export_dir`, missing checkpoint, bad model.
  """
  if tf.gfile.Exists(export_dir):
    raise errors.UserError('Export directory %s already exists; choose a new '
                           'one (e.g. the next version number)' % export_dir)
  checkpoint = finetune.resolve_checkpoint(checkpoint_path)
  network_fn = common.build_network_fn(
      model_name, num_classes, is_training=False,
      attention_module=attention_module, reduction_ratio=reduction_ratio,
      attention_position=attention_position)
  # Preprocessed as evaluation does.
  preprocess_fn = common.get_preprocessing(
      common.preprocessing_name(model_name, preprocessing_name),
      is_training=False, use_grayscale=use_grayscale)
  graph = tf.Graph()
  with graph.as_default():
    global_step = tf.train.get_or_create_global_step()
    size = image_size or network_fn.default_image_size
    image_bytes = tf.placeholder(tf.string, [None], name=SIGNATURE_INPUT)

    def decode_and_preprocess(data):
      image = tf.image.decode_image(data, channels=3, expand_animations=False)
      image.set_shape([None, None, 3])
      return preprocess_fn(image, size, size)

    images = tf.map_fn(decode_and_preprocess, image_bytes, dtype=tf.float32,
                       back_prop=False)
    logits, _ = network_fn(images, **(network_kwargs or {}))
    probabilities = tf.nn.softmax(logits, name='probabilities')
    classes = tf.argmax(logits, 1, name='classes')
    to_restore = common.variables_to_restore(moving_average_decay,
                                             global_step)
    checkpoints.check_variables(
        to_restore, checkpoint, 'export',
        hint=' (check --model_name, --attention_module, --dataset_name, '
        '--labels_offset and --moving_average_decay)')
    saver = tf.train.Saver(to_restore)
    signature = tf.saved_model.signature_def_utils.predict_signature_def(
        inputs={SIGNATURE_INPUT: image_bytes},
        outputs={SIGNATURE_PROBABILITIES: probabilities,
                 SIGNATURE_CLASSES: classes})
    with common.atomic_path(export_dir, overwrite=False) as tmp_dir:
      with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        saver.restore(sess, checkpoint)
        builder = tf.saved_model.builder.SavedModelBuilder(tmp_dir)
        builder.add_meta_graph_and_variables(
            sess, [tf.saved_model.tag_constants.SERVING],
            signature_def_map={
                tf.saved_model.signature_constants
                .DEFAULT_SERVING_SIGNATURE_DEF_KEY: signature},
            strip_default_attrs=True)
        builder.save()
  logging.info('Exported %s (from %s) to %s: signature serving_default, '
               'input %s (encoded images), outputs %s, %s', model_name,
               checkpoint, export_dir, SIGNATURE_INPUT,
               SIGNATURE_PROBABILITIES, SIGNATURE_CLASSES)
  return export_dir
