"""pytest set-up: the runtime shim runs before any test module imports TF."""
import tf_compat  # pylint: disable=unused-import
