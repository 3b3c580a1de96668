"""A CycleGAN trained through Model translates MNIST digits between two styles (issue 18), reduced to fit a test.

The claim of the issue, "a classifier trained only on B reads G_A(test A) as the right digit at least 90 % of
the time, and the reverse likewise", is benchmarks/bench_cyclegan_mnist.py's: 6.5 minutes of training
(RESULTS section 18b: 0.978 and 0.948 after 1,000 steps). This test runs the same harness (its data and
measure; classifiers of 3 epochs on 3,000 digits) with one epoch of 250 steps, and holds the lower bar that
reaches, BAR: A -> B read right at least 70 % of the time and B -> A likewise (measured 0.874 and 0.856 in
two runs, the same to the digit; 1 to 2.5 minutes by the load), each at least 50 points above what the
classifiers read in the untranslated images (0.07 and 0.09: the style alone defeats them), counted over 500
test digits each way.
"""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                                "benchmarks"))
import bench_cyclegan_mnist as bench  # noqa: E402

#: the lower bar of 250 steps (measured: see the module's description)
BAR = {"a2b": 0.7, "b2a": 0.7}
SMALL = {"ngf": 16, "ndf": 16, "n_blocks": 3}


def test_a_briefly_trained_cycle_gan_turns_digits_into_the_other_style_a_classifier_reads(released):
    data = bench.build_data(1000)
    clf_a = bench.train_classifier(data["clf_a"][0][:3000], data["clf_a"][1][:3000], epochs=3)
    clf_b = bench.train_classifier(data["clf_b"][0][:3000], data["clf_b"][1][:3000], epochs=3)
    plain_a2b = np.mean(bench.classify(clf_b, bench.to_input(data["test_a"])) == data["test_a_labels"])
    plain_b2a = np.mean(bench.classify(clf_a, bench.to_input(data["test_b"])) == data["test_b_labels"])
    assert np.mean(bench.classify(clf_b, bench.to_input(data["test_b"])) == data["test_b_labels"]) > 0.9

    net, epochs, _, history = bench.train_cyclegan(data["train_a"], data["train_b"], seconds=0, **SMALL)
    assert epochs == 1 and all(np.isfinite(v) for v in history[-1].values())
    result = bench.measure(net, data, clf_a, clf_b)
    print(f"A -> B {result['a2b_accuracy']:.3f} (untranslated {plain_a2b:.3f}), B -> A {result['b2a_accuracy']:.3f} "
          f"(untranslated {plain_b2a:.3f})")
    assert result["a2b_count"] == result["b2a_count"] == 500
    assert result["a2b_accuracy"] >= BAR["a2b"] and result["a2b_accuracy"] > plain_a2b + 0.5, (result, plain_a2b)
    assert result["b2a_accuracy"] >= BAR["b2a"] and result["b2a_accuracy"] > plain_b2a + 0.5, (result, plain_b2a)
