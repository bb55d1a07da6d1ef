"""Library behind the SE-Slim command-line scripts (train, eval, export).

The scripts (`train_image_classifier.py`, `eval_image_classifier.py`,
`eval_image_classifier_loop.py`, `export_inference_graph.py`,
`export_saved_model.py`) only parse flags and call into this package with
plain values, so everything here can be used and tested without absl flags:

* `flag_groups`: the flag definitions, grouped by concern, shared by scripts;
  `config_from_flags` and `run_script`, every script's error boundary.
* `training`: `TrainConfig` and `train()`.
* `optimizers`: the table of Slim's optimizers behind `--optimizer`.
* `common`: what training, evaluation and export share (the factories and
  their errors, the preprocessing choice, moving-average restore, atomic
  writes).
* `finetune`: warm-starting from a (non-SE) checkpoint, SE near-identity init.
* `evaluation`: `EvalConfig`, `Evaluator` and the evaluation loop.
* `export`: inference GraphDef and SavedModel export.
* `errors`: `UserError`, the exception the scripts turn into a one-line error.
"""

# Before TensorFlow builds anything: see tf_compat.py.
import tf_compat  # pylint: disable=unused-import,g-import-not-at-top
