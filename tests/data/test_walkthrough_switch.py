"""The classification guide's walkthrough (docs/guides/classification.md) switched from MNIST to
Fashion-MNIST and CIFAR-10 by changing only the dataset's name, its loader and its preset: real
download from a local mirror, training, exact evaluation and a prediction, for each."""

import dataclasses
import string

import numpy as np
import pytest

from tinyms.data import _registry, dataset_spec, download

import formats

# The walkthrough of the classification guide with the words that name the dataset left open.
WALKTHROUGH = string.Template("""
from tinyms.data import $Loader, download_dataset
from tinyms.vision import $transform
from tinyms.model import Model, lenet5

path = download_dataset('$name', local_path=ROOT)
train_ds = $transform.apply_ds($Loader(path, usage='train', num_samples=640))
test_ds = $transform.apply_ds($Loader(path, usage='test', num_samples=200), is_training=False)

model = Model(lenet5(class_num=10, num_channel=$transform.channels))
model.compile(loss_fn='cross_entropy', optimizer='adam', metrics=['accuracy'], learning_rate=0.003)
history = model.train(2, train_ds, verbose=0)
result = model.eval(test_ds)
prediction = $transform.postprocess(model.predict($transform(IMAGE)[None]))
""")

CASES = {
    "mnist": dict(Loader="MnistDataset", transform="mnist_transform"),
    "fashion_mnist": dict(Loader="FashionMnistDataset", transform="fashion_mnist_transform"),
    "cifar10": dict(Loader="Cifar10Dataset", transform="cifar10_transform"),
}


def _serve(monkeypatch, server, name):
    """Serve real-format files for ``name`` from the local mirror; the spec expects their checksums."""
    if name == "cifar10":
        payloads = {"cifar-10-binary.tar.gz": formats.tar_bytes(formats.cifar10_files(coloured=True))}
    else:
        payloads = formats.idx_dataset(n_train=700, n_test=200)
    spec = dataset_spec(name)
    unchecked = {"unpacked_size": None, "unpacked_sha256": None}  # the test files are smaller
    files = tuple(dataclasses.replace(f, size=len(payloads[f.name]), sha256=formats.sha256(payloads[f.name]),
                                      **(unchecked if f.action == "gunzip" else {}))
                  for f in spec.files)
    monkeypatch.setitem(_registry._table(), name, dataclasses.replace(spec, files=files))
    for file_name, data in payloads.items():
        server.files[f"/{name}/{file_name}"] = data
    monkeypatch.setenv(download.MIRROR_ENV, server.url)


@pytest.mark.parametrize("name", CASES)
def test_switching_the_walkthrough_is_a_change_of_names(name, server, monkeypatch, tmp_path):
    _serve(monkeypatch, server, name)
    code = WALKTHROUGH.substitute(name=name, **CASES[name])
    changed = {w for w in code.split() if w not in WALKTHROUGH.substitute(name="mnist", **CASES["mnist"]).split()}
    assert all(any(word in w for word in (name, *CASES[name].values())) for w in changed), changed
    image = np.full((32, 32, 3) if name == "cifar10" else (28, 28), 0, np.uint8)
    scope = {"ROOT": str(tmp_path), "IMAGE": image}
    exec(compile(code, f"<walkthrough {name}>", "exec"), scope)  # noqa: S102 - our own README text

    history, result, model = scope["history"], scope["result"], scope["model"]
    losses = history.history["loss"]
    assert len(losses) == 2 and all(np.isfinite(losses))
    assert model.eval_samples == 200
    transform = scope[CASES[name]["transform"]]
    # the 200 test images one by one through the transform, predict and NumPy give the same numbers
    rows = list(scope[CASES[name]["Loader"]](scope["path"], usage="test", num_samples=200, shuffle=False)
                .create_tuple_iterator(output_numpy=True))
    logits = model.predict(np.stack([transform(image) for image, _ in rows])).asnumpy()
    labels = np.array([int(label) for _, label in rows])
    shifted = logits - logits.max(axis=1, keepdims=True)
    losses = np.log(np.exp(shifted).sum(axis=1)) - shifted[np.arange(200), labels]
    assert result["accuracy"] == float((logits.argmax(axis=1) == labels).mean())
    assert result["loss"] == pytest.approx(float(losses.mean()), rel=1e-4, abs=1e-6)
    # and it learned: each class has its own bar or colour (measured 0.9-1.0 over runs; chance is 0.1)
    assert result["accuracy"] >= 0.7 and result["loss"] < 1.0, result
    assert scope["prediction"][0].label in transform.labels
