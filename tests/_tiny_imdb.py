"""A tiny aclImdb folder and GloVe file for the tests of TinyMS 0.3's IMDB + GloVe path.

Reviews are made of a few sentiment words (which have GloVe vectors), filler words (some with
vectors, some without) and, in the test split only, words the training split never uses.
"""

import os

import numpy as np

POSITIVE = ("great", "wonderful", "superb", "loved", "brilliant")
NEGATIVE = ("awful", "boring", "terrible", "hated", "dull")
FILLER = ("the", "movie", "was", "and", "plot", "actors")
NO_VECTOR = ("zqxv", "blorp")          # in training reviews, not in the GloVe file
TEST_ONLY = ("masterpiece", "mess")    # in the GloVe file, only in test reviews


def review(rng, label, split, length):
    """One review of ``length`` words, mostly of its label's words."""
    own = POSITIVE if label == "pos" else NEGATIVE
    pool = own * 3 + FILLER + NO_VECTOR + (TEST_ONLY if split == "test" else ())
    words = [pool[i] for i in rng.integers(0, len(pool), length)]
    words[0] = words[0].capitalize()   # lower-cased by the reader
    return " ".join(words[:3]) + "<br /><br />" + "  ".join(words[3:]) + "\n"


def write_imdb(root, per_class=None, seed=0, long_review=600):
    """Write ``root/aclImdb/{train,test}/{neg,pos}/<i>_<rating>.txt`` (+ unsup); returns the aclImdb folder.

    ``per_class``: {split: reviews per class}, default 12 train and 6 test. The first train
    ``pos`` review has ``long_review`` words (more than 500).
    """
    per_class = per_class or {"train": 12, "test": 6}
    rng = np.random.default_rng(seed)
    base = os.path.join(root, "aclImdb")
    for split, n in per_class.items():
        for label in ("neg", "pos"):
            folder = os.path.join(base, split, label)
            os.makedirs(folder, exist_ok=True)
            for i in range(n):
                length = long_review if (split, label, i) == ("train", "pos", 0) else int(rng.integers(8, 30))
                with open(os.path.join(folder, f"{i}_{8 if label == 'pos' else 2}.txt"), "w",
                          encoding="utf-8") as f:
                    f.write(review(rng, label, split, length))
    os.makedirs(os.path.join(base, "train", "unsup"), exist_ok=True)
    with open(os.path.join(base, "train", "unsup", "0_0.txt"), "w", encoding="utf-8") as f:
        f.write("unlabelled reviews are not read")
    return base


def glove_vectors(dim, seed=1):
    """{word: float32 vector} of every word given a GloVe vector here (also words no review has)."""
    rng = np.random.default_rng(seed)
    words = POSITIVE + NEGATIVE + FILLER + TEST_ONLY + ("unused", "words")
    return {w: rng.standard_normal(dim).astype(np.float32) for w in words}


def write_glove(folder, dim=50, header=False):
    """Write ``folder/glove.6B.<dim>d.txt`` (GloVe's text format); returns {word: vector}."""
    vectors = glove_vectors(dim)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, f"glove.6B.{dim}d.txt"), "w", encoding="utf-8") as f:
        if header:
            f.write(f"{len(vectors)} {dim}\n")
        for word, vector in vectors.items():
            f.write(word + " " + " ".join(f"{v:.6f}" for v in vector) + "\n")
    return {w: np.array([float(f"{v:.6f}") for v in vec], np.float32) for w, vec in vectors.items()}
