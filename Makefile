# SE-Slim set-up and entry points. `make test` and `make demo` build .venv first.
SHELL := /bin/bash
# The runtime: TF=1 is TensorFlow 1.15 on Python 3.7 (.venv), the default;
# TF=2 is TensorFlow 2.x through tensorflow.compat.v1 on Python 3.10-3.12
# (.venv-tf2). With no Python 3.7 on the machine the default is TF=2, said in
# one line.
ifeq ($(origin TF),undefined)
TF := $(shell bash tools/setup_venv.sh --runtime)
endif
ifeq ($(TF),2)
VENV ?= .venv-tf2
REQS := requirements-tf2.txt
else
VENV ?= .venv
REQS := requirements.txt
endif
export TF
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Quiet TensorFlow's C++ start-up chatter.
export TF_CPP_MIN_LOG_LEVEL ?= 2
export PYTHONHASHSEED ?= 0

.PHONY: venv test demo bench clean horovod

# Where `make demo` keeps its data, checkpoints and TensorBoard logs.
DEMO_DIR ?= /tmp/se_slim_demo
# The model flags train and eval share (what a user would type).
DEMO_MODEL := --model_name=mobilenet_v2 --attention_module=se_block \
	--reduction_ratio=16 --dataset_name=digits \
	--dataset_dir=$(DEMO_DIR)/digits --preprocessing_name=lenet

venv: $(STAMP)

$(STAMP): $(REQS) requirements-test.txt tools/setup_venv.sh
	@VENV=$(VENV) TF=$(TF) bash tools/setup_venv.sh

# Two workers, each handed the next test (or xdist_group of tests sharing a
# fixture) when it is nearly idle; the long tests come first
# (tests/conftest.py), so neither worker is left with one at the end. The 20
# slowest are listed after the summary.
test: $(STAMP)
	$(PY) -m pytest -q -n 2 --dist loadgroup --durations=20 tests

# The main job on the offline digits set: convert, train SE-MobileNetV2 from
# scratch, evaluate the held-out split. A second run resumes from the last
# checkpoint (already at max_number_of_steps) and evaluates again.
demo: $(STAMP)
	$(PY) download_and_convert_data.py --dataset_name=digits \
	    --dataset_dir=$(DEMO_DIR)/digits
	$(PY) train_image_classifier.py $(DEMO_MODEL) \
	    --flagfile=configs/digits_se_mobilenet_v2.flags \
	    --train_dir=$(DEMO_DIR)/train
	$(PY) eval_image_classifier.py $(DEMO_MODEL) \
	    --dataset_split_name=validation --eval_image_size=32 \
	    --checkpoint_path=$(DEMO_DIR)/train --eval_dir=$(DEMO_DIR)/eval
	@echo "TensorBoard: tensorboard --logdir=$(DEMO_DIR)  (train/ and eval/ runs)"

# Optional: Horovod for --distribution=horovod, built from source into $(VENV)
# against its TensorFlow, with Gloo (no MPI); about 10 minutes on 2 cores.
# No build isolation: the build must see the venv's TensorFlow (pip >= 25
# builds in an isolated environment without it otherwise).
horovod: $(STAMP)
	HOROVOD_WITH_TENSORFLOW=1 HOROVOD_WITH_GLOO=1 HOROVOD_WITHOUT_MPI=1 \
	HOROVOD_WITHOUT_PYTORCH=1 HOROVOD_WITHOUT_MXNET=1 \
	    $(PY) -m pip install --no-cache-dir --no-build-isolation \
	        -r requirements-horovod.txt
	$(VENV)/bin/horovodrun --check-build

clean:
	rm -rf .venv .venv-tf2 .pytest_cache
