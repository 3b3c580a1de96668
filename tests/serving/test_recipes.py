"""Any served model accepts images: the recipe it was trained with travels in servable.json and the
front end runs it without MindSpore, giving what the model gets from the transform in Python."""

import io
import json
import os

import numpy as np
import pytest
from PIL import Image

from tinyms.serving import Client, Server, ServableConfigError, write_servable


@pytest.fixture(scope="module")
def cifar_net():
    import mindspore as ms
    from tinyms.model import create_model

    ms.set_seed(3)
    net = create_model("lenet5", class_num=10, num_channel=3)
    net.set_train(False)
    return net


@pytest.fixture(scope="module")
def cifar_dir(tmp_path_factory, cifar_net):
    from tinyms.vision import cifar10_transform, ImageFolderTransform

    path = str(tmp_path_factory.mktemp("serving_cifar"))
    write_servable(path, "cifar", cifar_net, "LeNet5 for CIFAR-10", formats=("onnx",),
                   model_name="lenet5", transform=cifar10_transform)
    folder_transform = ImageFolderTransform(size=32, labels=[f"class{i}" for i in range(10)])
    write_servable(path, "photos", cifar_net, "LeNet5 for 32x32 photos", formats=("onnx",),
                   model_name="lenet5", transform=folder_transform)
    return path


def _png(arr):
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def test_the_recipe_and_labels_are_stored_with_the_servable(cifar_dir):
    from tinyms.vision import cifar10_transform

    with open(os.path.join(cifar_dir, "servable.json")) as f:
        entries = {e["name"]: e for e in json.load(f)}
    model = entries["cifar"]["model"]
    assert model["recipe"] == cifar10_transform.recipe.to_dict()
    assert model["labels"] == list(cifar10_transform.labels) and model["dataset"] == "cifar10"
    assert entries["photos"]["model"]["labels"][:2] == ["class0", "class1"]


def test_a_non_mnist_servable_answers_images_like_the_transform_in_python(cifar_dir, cifar_net):
    import mindspore as ms
    from tinyms.vision import ImageFolderTransform, cifar10_transform

    rng = np.random.default_rng(5)
    images = {"cifar": [rng.integers(0, 256, (32, 32, 3), dtype=np.uint8) for _ in range(3)],
              "photos": [rng.integers(0, 256, (int(h), int(w), 3), dtype=np.uint8)
                         for h, w in rng.integers(20, 90, size=(3, 2))]}
    transforms = {"cifar": cifar10_transform,
                  "photos": ImageFolderTransform(size=32, labels=[f"class{i}" for i in range(10)])}
    with Server(port=0, serving_path=cifar_dir) as server:
        client = Client(port=server.port)
        for name, imgs in images.items():
            for img in imgs:
                logits = cifar_net(ms.Tensor(transforms[name](img)[None])).asnumpy()
                want = transforms[name].postprocess(logits)[0]
                got = client.predict(_png(img), name, "cifar10" if name == "cifar" else None)
                assert got.label == want.label
                assert got.score == pytest.approx(want.score, abs=1e-4)


def test_a_transform_that_does_not_fit_the_network_is_refused(tmp_path, cifar_net):
    from tinyms.vision import mnist_transform

    with pytest.raises(ServableConfigError, match=r"produces inputs of shape \[1, 32, 32\].*takes \[3, 32, 32\]"):
        write_servable(str(tmp_path), "wrong", cifar_net, formats=("onnx",), model_name="lenet5",
                       transform=mnist_transform)
    with pytest.raises(ServableConfigError, match="transform must be"):
        write_servable(str(tmp_path), "wrong", cifar_net, formats=("onnx",), model_name="lenet5",
                       transform="cifar10_transform")


def test_a_malformed_recipe_in_servable_json_is_a_problem_of_that_entry(cifar_dir, tmp_path):
    import shutil

    from tinyms.serving._config import load_servables

    entries = json.loads(open(os.path.join(cifar_dir, "servable.json")).read())
    entries[0]["model"]["recipe"]["eval"].append(["sharpen", {}])
    target = tmp_path / "serving"
    shutil.copytree(cifar_dir, target)
    (target / "servable.json").write_text(json.dumps(entries))
    specs, problems = load_servables(str(target))
    assert [s.name for s in specs] == ["photos"]
    assert "unknown recipe op 'sharpen'" in problems[0].reason
