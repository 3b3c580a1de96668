"""TinyMS 0.3's ImdbDataset(imdb_path, glove_path, embed_size): ids, labels, GloVe weight, MindRecord output."""

import os

import numpy as np
import pytest

from tinyms.data import ImdbDataset, ImdbFeatures, MindDataset
from tinyms.data.imdb import review_words
from tinyms.errors import DatasetError

from _tiny_imdb import NO_VECTOR, TEST_ONLY, write_glove, write_imdb

DIM = 8


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("imdb03")
    imdb = write_imdb(str(root))
    vectors = write_glove(str(root / "glove"), DIM)
    return imdb, str(root / "glove"), vectors


@pytest.fixture(scope="module")
def imdb(folders):
    return ImdbDataset(folders[0], folders[1], DIM)


def reviews(imdb_dir, split):
    """[(words, label)] in the order the reader takes them: neg then pos, files sorted by name."""
    out = []
    for label, name in enumerate(("neg", "pos")):
        folder = os.path.join(imdb_dir, split, name)
        for file in sorted(os.listdir(folder)):
            with open(os.path.join(folder, file), encoding="utf-8") as f:
                out.append((review_words(f.read()), label))
    return out


def test_the_03_call_forms_give_features_and_the_usage_form_still_gives_rows(folders, imdb):
    imdb_dir, glove_dir, _ = folders
    assert isinstance(imdb, ImdbFeatures)
    by_keyword = ImdbDataset(imdb_path=imdb_dir, glove_path=glove_dir, embed_size=DIM)
    assert by_keyword.vocabulary == imdb.vocabulary
    glove_file = os.path.join(glove_dir, f"glove.6B.{DIM}d.txt")
    assert ImdbDataset(imdb_dir, glove_file, embed_size=DIM).vocabulary == imdb.vocabulary
    rows = ImdbDataset(imdb_dir, "test", shuffle=False)
    assert rows.get_dataset_size() == 12 and rows.class_names == ("neg", "pos")


def test_words_are_lower_cased_and_split_at_white_space_and_line_breaks():
    assert review_words("Great  movie<br /><br />The END\n") == ["great", "movie", "the", "end"]


def test_features_are_the_reviews_ids_padded_and_truncated_to_500(folders, imdb):
    imdb_dir = folders[0]
    for split, n in (("train", 24), ("test", 12)):
        features, labels, _ = imdb.get_datas(split)
        assert features.shape == (n, 500) and features.dtype == np.int32
        assert labels.dtype == np.int32 and labels.tolist() == [0] * (n // 2) + [1] * (n // 2)
        for row, (words, label) in zip(features, reviews(imdb_dir, split)):
            expected = [imdb.word_to_id.get(w, 0) for w in words[:500]]
            assert row[:len(expected)].tolist() == expected
            assert not row[len(expected):].any()          # padded with 0
    longest = imdb.get_datas("train")[0][12]               # the first pos review: 600 words
    assert np.count_nonzero(longest[-20:]) > 0              # cut at 500, not padded


def test_unknown_words_are_id_0_and_the_vocabulary_is_the_training_words_with_vectors(folders, imdb):
    _, _, vectors = folders
    assert imdb.vocabulary[0] == "<unk>" and imdb.word_to_id["<unk>"] == 0
    assert set(imdb.vocabulary[1:]) <= set(vectors)
    for word in NO_VECTOR + TEST_ONLY:                      # no GloVe vector / never in training
        assert word not in imdb.word_to_id
    test_ids = imdb.get_datas("test")[0]
    assert set(np.unique(test_ids)) <= set(range(len(imdb.vocabulary)))
    # the same files give the same ids (0.3 numbered a set: ids changed from run to run)
    counts = {}
    for words, _ in reviews(folders[0], "train"):
        for w in words:
            counts[w] = counts.get(w, 0) + 1
    assert imdb.vocabulary[1:] == sorted((w for w in counts if w in vectors), key=lambda w: (-counts[w], w))


def test_weight_rows_are_the_glove_vectors_and_row_0_is_zeros(folders, imdb):
    _, _, vectors = folders
    features, _, weight = imdb.get_datas("train")
    assert weight.dtype == np.float32 and weight.shape == (len(imdb.vocabulary), DIM)
    assert not weight[0].any()
    for word, i in imdb.word_to_id.items():
        if i:
            np.testing.assert_array_equal(weight[i], vectors[word])
    assert imdb.get_datas("test")[2] is weight             # test ids index the training table


def test_keeping_words_without_vectors_gives_them_zero_rows(folders):
    kept = ImdbDataset(folders[0], folders[1], DIM, oov_words="keep")
    _, _, weight = kept.get_datas("train")
    for word in NO_VECTOR:
        assert kept.word_to_id[word] > 0 and not weight[kept.word_to_id[word]].any()
    assert TEST_ONLY[0] not in kept.word_to_id


def test_a_word2vec_header_line_is_skipped(folders, tmp_path):
    vectors = write_glove(str(tmp_path / "glove"), DIM, header=True)
    imdb = ImdbDataset(folders[0], str(tmp_path / "glove"), DIM)
    np.testing.assert_array_equal(imdb.get_datas("train")[2][1], vectors[imdb.vocabulary[1]])


def test_convert_to_mindrecord_writes_what_mindspore_reads(imdb, tmp_path):
    out = tmp_path / "preprocess"
    written = imdb.convert_to_mindrecord(str(out))
    assert sorted(os.listdir(out)) == ["aclImdb_test.mindrecord", "aclImdb_test.mindrecord.db",
                                       "aclImdb_train.mindrecord", "aclImdb_train.mindrecord.db", "weight.txt"]
    assert [os.path.basename(p) for p in written] == [
        "aclImdb_train.mindrecord", "aclImdb_test.mindrecord", "weight.txt"]
    assert all(os.stat(p).st_mode & 0o777 == 0o644 for p in written)
    for split in ("train", "test"):
        features, labels, _ = imdb.get_datas(split)
        ds = MindDataset(str(out / f"aclImdb_{split}.mindrecord"), columns_list=["feature", "label"],
                         shuffle=False)
        rows = list(ds.create_tuple_iterator(output_numpy=True))
        assert len(rows) == len(labels)
        assert rows[0][0].dtype == np.int32 and rows[0][1].dtype == np.int32
        np.testing.assert_array_equal(np.stack([r[0] for r in rows]), features)
        np.testing.assert_array_equal(np.array([r[1] for r in rows]), labels)
    weight = np.loadtxt(out / "weight.txt").astype(np.float32)   # as the 0.3 script reads it
    np.testing.assert_array_equal(weight, imdb.get_datas("train")[2])
    imdb.convert_to_mindrecord(str(out))                    # again: replaced, not refused
    assert len(os.listdir(out)) == 5


def test_sharded_output_has_mindsporess_names(imdb, tmp_path):
    imdb.convert_to_mindrecord(str(tmp_path), shard_num=2)
    assert sorted(n for n in os.listdir(tmp_path) if "train" in n) == [
        "aclImdb_train.mindrecord0", "aclImdb_train.mindrecord0.db",
        "aclImdb_train.mindrecord1", "aclImdb_train.mindrecord1.db"]
    assert MindDataset(str(tmp_path / "aclImdb_train.mindrecord0")).get_dataset_size() == 24
    with pytest.raises(DatasetError, match="shard_num"):
        imdb.convert_to_mindrecord(str(tmp_path), shard_num=0)


def test_a_failed_conversion_leaves_nothing_half_written(imdb, tmp_path, monkeypatch):
    from mindspore.mindrecord import FileWriter

    def broken_savetxt(f, *args, **kwargs):
        f.write("0.1 0.2\n")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savetxt", broken_savetxt)
    with pytest.raises(OSError, match="No space"):
        imdb.convert_to_mindrecord(str(tmp_path))
    assert "weight.txt" not in os.listdir(tmp_path)          # the script would pre-process again
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".tmp-")]
    monkeypatch.undo()

    def broken_commit(self):
        raise RuntimeError("disk failed")

    monkeypatch.setattr(FileWriter, "commit", broken_commit)
    with pytest.raises(RuntimeError, match="disk failed"):
        imdb.convert_to_mindrecord(str(tmp_path / "fresh"))
    assert os.listdir(tmp_path / "fresh") == []


def test_missing_folders_and_wrong_dimensions_are_named_with_the_fix(folders, tmp_path):
    imdb_dir, glove_dir, _ = folders
    with pytest.raises(DatasetError, match=f"{tmp_path / 'nowhere'} does not exist.*download_dataset"):
        ImdbDataset(str(tmp_path / "nowhere"), glove_dir, DIM)
    with pytest.raises(DatasetError, match=r"glove\.6B\.300d\.txt does not exist.*embed_size.*glove\.6B\.zip"):
        ImdbDataset(imdb_dir, glove_dir)                        # 0.3's default embed_size is 300
    with pytest.raises(DatasetError, match=f"{tmp_path / 'glove'} does not exist.*glove"):
        ImdbDataset(imdb_dir, str(tmp_path / "glove"), 50)
    wrong = tmp_path / "other" / "glove.6B.50d.txt"
    wrong.parent.mkdir()
    wrong.write_text(open(os.path.join(glove_dir, f"glove.6B.{DIM}d.txt")).read())
    with pytest.raises(DatasetError, match=f"holds {DIM}-dimensional vectors, but embed_size is 50.*embed_size={DIM}"):
        ImdbDataset(imdb_dir, str(wrong.parent), 50)
    with pytest.raises(DatasetError, match="neither"):
        ImdbDataset(imdb_dir, "tset")
    with pytest.raises(DatasetError, match="'train' or 'test'"):
        ImdbDataset(imdb_dir, glove_dir, DIM).get_datas("val")
    with pytest.raises(DatasetError, match="missing.mindrecord does not exist"):
        MindDataset(str(tmp_path / "missing.mindrecord"))
