# Every package imports the runtime shim before TensorFlow builds anything.
import tf_compat  # pylint: disable=unused-import
