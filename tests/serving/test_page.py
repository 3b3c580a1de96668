"""The web page in a real headless Chromium: pick a file or draw a digit, see the top 5."""

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

pytestmark = pytest.mark.skipif(
    not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)),
    reason="needs Debian's chromium and chromium-driver (apt-get install -y chromium chromium-driver); "
           "provided in CI by .ci/run")


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="tinyms-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=1200,1000"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def _open(browser, server):
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(server.url + "/")
    WebDriverWait(browser, 30).until(lambda d: d.execute_script("return document.body.dataset.ready === 'true'"))


def _top5(browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 30).until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, "#top5:not([hidden]) tbody tr")) == 5)
    rows = browser.find_elements(By.CSS_SELECTOR, "#top5 tbody tr")
    return [(r.find_element(By.CSS_SELECTOR, "td.label").text,
             float(r.find_element(By.CSS_SELECTOR, "td.score").text.rstrip("%"))) for r in rows]


def test_page_lists_servables_and_problems(browser, server):
    from selenium.webdriver.common.by import By

    _open(browser, server)
    options = [o.get_attribute("value") for o in browser.find_elements(By.CSS_SELECTOR, "#servable option")]
    assert options == ["lenet5", "lenet5_onnx"]
    problems = browser.find_element(By.ID, "problems").text
    assert "wrong_classes is not available" in problems and "model.format 'pt'" in problems
    assert browser.find_element(By.ID, "draw-panel").is_displayed()  # an MNIST servable can be drawn on


def test_picking_a_file_shows_the_servers_top5(browser, server, digit_file):
    from selenium.webdriver.common.by import By

    _open(browser, server)
    browser.find_element(By.ID, "file-input").send_keys(digit_file)
    rows = _top5(browser)
    want = server.client().predict(digit_file, "lenet5", strategy="TOP5_CLASS")
    assert [label for label, _ in rows] == list(want.labels)
    assert [score for _, score in rows] == pytest.approx([round(s * 100, 1) for s in want.scores], abs=0.051)
    assert browser.find_element(By.ID, "preview").is_displayed()


def test_drawing_a_digit_shows_a_top5(browser, server):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    _open(browser, server)
    Select(browser.find_element(By.ID, "servable")).select_by_value("lenet5_onnx")
    canvas = browser.find_element(By.ID, "canvas")
    browser.find_element(By.ID, "predict-drawing").click()
    assert "Draw a digit first" in browser.find_element(By.ID, "status").text
    (ActionChains(browser).move_to_element_with_offset(canvas, 0, -90).click_and_hold()
     .move_by_offset(0, 60).move_by_offset(0, 60).move_by_offset(0, 60).release().perform())
    browser.find_element(By.ID, "predict-drawing").click()
    rows = _top5(browser)
    labels = [label for label, _ in rows]
    scores = [score for _, score in rows]
    assert sorted(labels) == sorted(set(labels)) and set(labels) <= {str(i) for i in range(10)}
    assert scores == sorted(scores, reverse=True) and 0 < sum(scores) <= 100.1
    assert "from lenet5_onnx" in browser.find_element(By.ID, "status").text


def test_a_server_error_is_shown_not_swallowed(browser, server, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    bad = tmp_path / "not-an-image.png"
    bad.write_bytes(b"definitely not a PNG")
    _open(browser, server)
    browser.find_element(By.ID, "file-input").send_keys(str(bad))
    WebDriverWait(browser, 30).until(lambda d: "Prediction failed" in d.find_element(By.ID, "status").text)
    status = browser.find_element(By.ID, "status")
    assert "cannot decode" in status.text and "error" in status.get_attribute("class")


_TRAIN = textwrap.dedent("""
    import os, sys
    import tinyms
    import mindspore as ms
    import mindspore.dataset as mds
    from mindspore import nn
    from tinyms.data import MnistDataset, sample_dataset
    from tinyms.model import create_model
    from tinyms.serving import write_servable
    from tinyms.vision import mnist_transform

    ms.set_context(mode=ms.GRAPH_MODE)
    ms.set_seed(0)
    mds.config.set_seed(0)
    data = mnist_transform.apply_ds(MnistDataset(os.path.join(sample_dataset("mnist"), "train")), batch_size=32)
    net = create_model("lenet5", class_num=10)
    loss = nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean")
    step = nn.TrainOneStepCell(nn.WithLossCell(net, loss), nn.Momentum(net.trainable_params(), 0.01, 0.9))
    step.set_train()
    for _ in range(2):
        for image, label in data.create_tuple_iterator():
            step(image, label)
    net.set_train(False)
    write_servable(sys.argv[1], "digits", net, "LeNet5 trained on the MNIST sample", formats=("onnx",))
""")

# Pen strokes as offsets from the canvas centre (the canvas is 280 x 280 CSS pixels).
_DIGITS = {
    "1": [[(0, -90), (0, 90)]],
    "7": [[(-50, -80), (50, -80), (-10, 90)]],
    "0": [[(0, -90), (50, -50), (55, 20), (20, 85), (-25, 85), (-55, 20), (-50, -50), (0, -90)]],
}


@pytest.fixture(scope="module")
def trained_server(tmp_path_factory):
    from tinyms.serving import Server

    folder = tmp_path_factory.mktemp("trained")
    subprocess.run([sys.executable, "-c", _TRAIN, str(folder)], check=True, timeout=600, cwd=str(folder),
                   env=dict(os.environ, GLOG_v="3"))
    with Server(port=0, serving_path=str(folder)) as server:
        yield server


@pytest.mark.parametrize("digit", sorted(_DIGITS))
def test_a_drawn_digit_is_recognised_by_a_trained_model(browser, trained_server, digit):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    _open(browser, trained_server)
    canvas = browser.find_element(By.ID, "canvas")
    for stroke in _DIGITS[digit]:
        actions = ActionChains(browser).move_to_element_with_offset(canvas, *stroke[0]).click_and_hold()
        for (x0, y0), (x1, y1) in zip(stroke, stroke[1:]):
            actions = actions.move_by_offset(x1 - x0, y1 - y0)
        actions.release().perform()
    browser.find_element(By.ID, "predict-drawing").click()
    rows = _top5(browser)
    assert rows[0][0] == digit and rows[0][1] > 50.0
