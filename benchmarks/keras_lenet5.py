"""LeNet-5 on the full MNIST with Keras 3 on the PyTorch backend: the reference for TinyMS's benchmark.

Set up the environment once, then run with its python:

    bash benchmarks/setup_keras_env.sh
    KERAS_BACKEND=torch benchmarks/.venv-keras/bin/python benchmarks/keras_lenet5.py [--data DIR]

Recipe: images resized 28x28 -> 32x32 bilinear once up front, x/255, (x - 0.1307) / 0.3081
(load_mnist, shared with torch_lenet5.py); LeNet-5 with logits out; sparse categorical
cross-entropy; SGD(lr=0.01, momentum=0.9); batch 32, shuffled; `fit` for --epochs, then
`evaluate` on the 10,000 test images. Keras's default image layout, channels_last, unless
--data-format channels_first. Prints one JSON line with the phase timings and the test accuracy.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")  # must be set before keras is imported

import json  # noqa: E402
import time  # noqa: E402

import keras  # noqa: E402
import torch  # noqa: E402
from keras import layers  # noqa: E402

from torch_lenet5 import RESIZE, load_mnist, parse_args  # noqa: E402


def lenet5(data_format, classes=10):
    shape = (32, 32, 1) if data_format == "channels_last" else (1, 32, 32)
    conv = dict(padding="valid", activation="relu", data_format=data_format)
    return keras.Sequential([
        keras.Input(shape),
        layers.Conv2D(6, 5, **conv),
        layers.MaxPooling2D(2, data_format=data_format),
        layers.Conv2D(16, 5, **conv),
        layers.MaxPooling2D(2, data_format=data_format),
        layers.Flatten(data_format=data_format),
        layers.Dense(120, activation="relu"),
        layers.Dense(84, activation="relu"),
        layers.Dense(classes),  # logits
    ])


def main():
    args = parse_args("keras3-torch", lambda p: p.add_argument(
        "--data-format", choices=("channels_last", "channels_first"),
        default=keras.config.image_data_format(), help="default: Keras's own setting"))
    assert keras.backend.backend() == "torch", "run with KERAS_BACKEND=torch"
    torch.set_num_threads(args.threads)
    keras.utils.set_random_seed(args.seed)

    t0 = time.perf_counter()
    x_train, y_train, x_test, y_test = load_mnist(args.data)  # NCHW float32
    if args.data_format == "channels_last":
        x_train, x_test = x_train.transpose(0, 2, 3, 1).copy(), x_test.transpose(0, 2, 3, 1).copy()
    t1 = time.perf_counter()

    model = lenet5(args.data_format)
    lr = args.lr
    if args.schedule == "warmup_cosine":
        total = args.epochs * ((len(x_train) + args.batch - 1) // args.batch)
        lr = keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=0.0, decay_steps=total - args.warmup,
            warmup_target=args.lr, warmup_steps=args.warmup)
    if args.optimizer == "momentum":
        opt = keras.optimizers.SGD(learning_rate=lr, momentum=0.9, nesterov=args.nesterov)
    else:
        opt = keras.optimizers.Adam(learning_rate=lr)
    model.compile(optimizer=opt, jit_compile=False,
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[keras.metrics.SparseCategoricalAccuracy()])
    model.fit(x_train, y_train, batch_size=args.batch, epochs=args.epochs, shuffle=True, verbose=0)
    t2 = time.perf_counter()
    _, accuracy = model.evaluate(x_test, y_test, batch_size=args.eval_batch, verbose=0)
    t3 = time.perf_counter()

    print(json.dumps({
        "framework": "keras3-torch", "torch": torch.__version__, "keras": keras.__version__,
        "load_s": round(t1 - t0, 3), "train_s": round(t2 - t1, 3), "eval_s": round(t3 - t2, 3),
        "train_eval_s": round(t3 - t1, 3), "test_accuracy": round(float(accuracy), 4),
        "epochs": args.epochs, "batch": args.batch, "eval_batch": args.eval_batch,
        "optimizer": args.optimizer, "lr": args.lr, "schedule": args.schedule, "nesterov": args.nesterov, "threads": torch.get_num_threads(),
        "data_format": args.data_format, "resize": RESIZE,
        "onednn_max_cpu_isa": os.environ.get("ONEDNN_MAX_CPU_ISA"),
    }))


if __name__ == "__main__":
    main()
