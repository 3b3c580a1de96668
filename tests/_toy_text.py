"""Toy review documents for text tests and measurements: sentiment words among common filler words, some
negated ("not good" is negative), lengths from a dozen to a few hundred words, a share of labels flipped."""

import csv
import os

import numpy as np

POSITIVE = ("good", "great", "fine", "superb", "lovely", "moving", "funny", "clever", "brilliant", "warm",
            "charming", "gripping", "beautiful", "enjoyable", "fresh", "solid", "memorable", "touching")
NEGATIVE = ("bad", "awful", "dull", "boring", "weak", "silly", "poor", "clumsy", "tedious", "flat", "messy",
            "forgettable", "painful", "lazy", "stale", "shallow", "annoying", "cheap")
_FILLER = ("the film movie story plot actor actress scene scenes director script music camera ending start "
           "character characters cast role time minutes hour screen audience theatre sequel book version "
           "it this that was is were are and but with of to in on for as at by from an a its their his her "
           "they we i you one some very quite rather really just also again still even more most much").split()


def review(rng, label, words=(12, 240), noise_words=None):
    """One document of class ``label`` (0 negative, 1 positive)."""
    length = int(rng.integers(*words))
    filler = noise_words or _FILLER
    tokens = list(rng.choice(filler, size=length))
    hits = max(1, length // 25)
    for _ in range(hits):
        negate = rng.random() < 0.2
        wanted = label ^ int(negate)        # "not bad" reads positive
        word = str(rng.choice(POSITIVE if wanted else NEGATIVE))
        at = int(rng.integers(0, len(tokens) + 1))
        tokens[at:at] = ["not", word] if negate else [word]
    if rng.random() < 0.3:                  # a distractor of the other class
        tokens.insert(int(rng.integers(0, len(tokens) + 1)), str(rng.choice(NEGATIVE if label else POSITIVE)))
    text = " ".join(tokens)
    return text[0].upper() + text[1:] + "."


def reviews(count, seed=0, flip=0.05, words=(12, 240)):
    """``(texts, labels)``: ``count`` documents, half of each class, ``flip`` of the labels wrong."""
    rng = np.random.default_rng(seed)
    labels = [i % 2 for i in range(count)]
    texts = [review(rng, label, words) for label in labels]
    labels = [label ^ int(rng.random() < flip) for label in labels]
    return texts, labels


def write_folder(root, texts, labels, names=("neg", "pos")):
    """``root/<class>/<i>.txt`` for each document."""
    for i, (text, label) in enumerate(zip(texts, labels)):
        folder = os.path.join(root, names[label])
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, f"{i}_{label}.txt"), "w", encoding="utf-8") as f:
            f.write(text)
    return root


def write_csv(path, texts, labels, names=("neg", "pos"), text_column="text", label_column="label"):
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([label_column, text_column])
        for text, label in zip(texts, labels):
            writer.writerow([names[label], text])
    return path
