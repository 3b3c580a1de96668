"""tinyms.text transforms: one string and a dataset give the same ids, truncation warns, recipes verify."""

import json
import warnings

import numpy as np
import pytest

from tinyms.errors import DatasetError, InputShapeError, RecipeError, UnknownNameError
from tinyms.text import TextTransform, TruncationWarning, WordPieceTokenizer, text_transform

ROWS = [("A fine, moving film.", 1), ("Dull and far too long", 0), ("fine film", 1),
        ("long long long long long long long long long dull", 0), ("never seen words here", 1)]


def _dataset(rows=ROWS, columns=("text", "label")):
    import mindspore.dataset as ds
    return ds.GeneratorDataset(list(rows), list(columns), shuffle=False)


@pytest.fixture(scope="module")
def transform():
    return text_transform("word", texts=[t for t, _ in ROWS[:4]], max_length=8, labels=["neg", "pos"])


def test_one_string_gives_padded_int32_ids(transform):
    ids = transform("Fine film")
    assert ids.dtype == np.int32 and ids.shape == (8,)
    tok = transform.tokenizer
    assert ids[:2].tolist() == [tok.token_to_id("fine"), tok.token_to_id("film")] and ids[2:].tolist() == [0] * 6
    assert transform("never seen")[:2].tolist() == [1, 1]           # <unk>
    assert transform(["fine", "dull"]).shape == (2, 8)
    with pytest.raises(TypeError):
        transform(3)
    with pytest.raises(DatasetError, match="not UTF-8"):
        transform(b"\xff\xfe")


def test_dataset_path_gives_the_same_ids_as_single_strings(transform):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TruncationWarning)
        data = transform.apply_ds(_dataset(), batch_size=2, is_training=False)
        batches = list(data.create_dict_iterator(output_numpy=True, num_epochs=1))
        expected = np.stack([transform(t) for t, _ in ROWS])
    assert [set(b) for b in batches] == [{"input_ids", "label"}] * 3              # last partial batch kept
    ids = np.concatenate([b["input_ids"] for b in batches])
    labels = np.concatenate([b["label"] for b in batches])
    assert ids.dtype == np.int32 and labels.dtype == np.int32
    np.testing.assert_array_equal(ids, expected)
    assert labels.tolist() == [label for _, label in ROWS]
    # training: shuffled, partial batch dropped, rows still the same ids
    train = transform.apply_ds(_dataset(), 1, 2, None, True)                      # 0.3's positional order
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TruncationWarning)
        got = list(train.create_dict_iterator(output_numpy=True, num_epochs=1))
    assert len(got) == 2
    rows = {tuple(r) for b in got for r in b["input_ids"]}
    assert rows <= {tuple(r) for r in expected}
    # a dataset without labels gives input_ids only; a dataset without text is refused
    only = transform.apply_ds(_dataset([(t,) for t, _ in ROWS[:2]], ["text"]), is_training=False)
    assert only.get_col_names() == ["input_ids"]
    with pytest.raises(DatasetError, match="no 'text' column"):
        transform.apply_ds(_dataset(columns=("review", "label")))
    with pytest.raises(DatasetError, match="GeneratorDataset"):
        transform.apply_ds([("a", 1)])


def test_truncation_warns_once_and_never_fails(transform):
    long_text = "long " * 50
    with pytest.warns(TruncationWarning, match="42 more tokens than max_length=8") as caught:
        ids = transform(long_text)
    assert len(caught) == 1 and ids.tolist() == [transform.tokenizer.token_to_id("long")] * 8
    data = transform.apply_ds(_dataset([(long_text, 0)] * 3 + [("fine", 1)]), batch_size=4, is_training=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        batch = next(data.create_dict_iterator(output_numpy=True, num_epochs=1))
    assert [w.category for w in caught if w.category is TruncationWarning] == [TruncationWarning]   # once
    assert batch["input_ids"].shape == (4, 8)
    keep_end = TextTransform(transform.tokenizer, max_length=3, truncation="left")
    with pytest.warns(TruncationWarning, match="keeps the end"):
        assert keep_end("far too dull film fine").tolist() == keep_end("dull film fine").tolist()
    with pytest.warns(TruncationWarning):
        huge = transform("fine " * 300_000)                             # over the character bound: cut, warned
    assert huge.shape == (8,)


def test_bert_inputs_keep_cls_and_sep_when_truncated(tmp_path):
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\ngood\nfilm\n")
    t = text_transform("wordpiece", vocab=str(vocab), max_length=5)
    assert t("good film").tolist() == [2, 4, 5, 3, 0]
    with pytest.warns(TruncationWarning):
        assert t("good good good film").tolist() == [2, 4, 4, 4, 3]
    with pytest.raises(ValueError, match="room"):
        TextTransform(WordPieceTokenizer(str(vocab)), max_length=2)


def test_postprocess_labels_and_scores(transform):
    preds = transform.postprocess(np.array([[0.0, 2.0], [3.0, 1.0]], np.float32))
    assert [p.label for p in preds] == ["pos", "neg"]
    assert preds[0].score == pytest.approx(1 / (1 + np.exp(-2.0)), rel=1e-5)
    top2 = transform.postprocess([1.0, 0.5], top_k=2)[0]
    assert top2.labels == ("neg", "pos") and sum(top2.scores) == pytest.approx(1.0)
    assert transform.postprocess([[1.0, 0.0, 0.5]], labels=["a", "b", "c"])[0].label == "a"
    with pytest.raises(InputShapeError, match="3 classes but there are 2 labels"):
        transform.postprocess([[1.0, 0.0, 0.5]])


@pytest.mark.parametrize("kind", ["word", "bpe"])
def test_recipe_json_round_trip(tmp_path, kind):
    texts = [t for t, _ in ROWS] * 5
    original = text_transform(kind, texts=texts, max_length=12, labels=["neg", "pos"], vocab_size=300,
                              truncation="left")
    path = original.save(tmp_path)
    config = json.loads(open(path, encoding="utf-8").read())
    assert config["tokenizer"]["kind"] == kind and config["max_length"] == 12 and config["labels"] == ["neg", "pos"]
    assert all(len(f["sha256"]) == 64 for f in config["tokenizer"]["files"].values())
    loaded = TextTransform.load(tmp_path)
    assert loaded == original
    for text, _ in ROWS:
        np.testing.assert_array_equal(loaded(text), original(text))


def test_tampered_or_missing_vocabulary_is_refused(tmp_path, transform):
    path = transform.save(tmp_path)
    vocab = tmp_path / "vocab.txt"
    lines = vocab.read_text(encoding="utf-8").splitlines()
    lines[2], lines[3] = lines[3], lines[2]                    # two words swap ids: silently wrong if accepted
    vocab.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(RecipeError, match="was changed after the recipe was written"):
        TextTransform.load(path)
    vocab.unlink()
    with pytest.raises(RecipeError, match="does not exist"):
        TextTransform.load(path)
    config = json.loads(open(path, encoding="utf-8").read())
    config["tokenizer"]["files"]["vocab"]["path"] = "../vocab.txt"
    (tmp_path / "text_recipe.json").write_text(json.dumps(config))
    with pytest.raises(RecipeError, match="file name beside the recipe"):
        TextTransform.load(path)
    (tmp_path / "text_recipe.json").write_text("{not json")
    with pytest.raises(RecipeError, match="not valid JSON"):
        TextTransform.load(path)


def test_text_transform_arguments_are_checked():
    with pytest.raises(UnknownNameError, match="'word', 'bpe', 'wordpiece'"):
        text_transform("sentencepiece", texts=["a"])
    with pytest.raises(ValueError, match="texts="):
        text_transform("word")
    with pytest.raises(ValueError, match="vocab="):
        text_transform("wordpiece")
    with pytest.raises(UnknownNameError, match="truncation"):
        text_transform("word", texts=["a"], truncation="middle")
