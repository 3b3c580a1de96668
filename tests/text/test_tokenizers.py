"""tinyms.text tokenizers: vocabulary rules, BERT WordPiece on a hand-written vocab.txt, BPE, files."""

import os
import subprocess
import sys

import pytest

from tinyms.errors import DatasetError, RecipeError, UnknownNameError
from tinyms.text import BPETokenizer, WordPieceTokenizer, WordTokenizer, load_tokenizer

TEXTS = ["The cat sat.", "the cat ran!", "THE dog sat", "a bird, a cat"]


def test_word_vocabulary_counts_lowercased_words_and_punctuation():
    tok = WordTokenizer.train(TEXTS)
    vocab = [tok.id_to_token(i) for i in range(tok.vocab_size)]
    # counts: the 3, cat 3, a 2, sat 2, then once each in code point order: ! , . bird dog ran
    assert vocab == ["<pad>", "<unk>", "cat", "the", "a", "sat", "!", ",", ".", "bird", "dog", "ran"]
    assert tok.pad_id == 0 and tok.unk_id == 1
    assert tok.tokenize("The CAT sat!!") == ["the", "cat", "sat", "!", "!"]
    assert tok("The CAT sat!! zebra") == [3, 2, 5, 6, 6, 1]      # unseen word -> <unk>
    assert tok.decode(tok("the cat sat")) == "the cat sat"


def test_word_vocabulary_min_freq_max_size_and_case():
    assert [WordTokenizer.train(TEXTS, min_freq=2).id_to_token(i) for i in range(6)] == \
        ["<pad>", "<unk>", "cat", "the", "a", "sat"]
    assert WordTokenizer.train(TEXTS, min_freq=2).vocab_size == 6
    small = WordTokenizer.train(TEXTS, max_size=4)                # the two special tokens count
    assert [small.id_to_token(i) for i in range(small.vocab_size)] == ["<pad>", "<unk>", "cat", "the"]
    cased = WordTokenizer.train(TEXTS, lowercase=False)
    assert cased.token_to_id("THE") is not None and cased.token_to_id("The") is not None
    assert cased("the") != cased("The")
    with pytest.raises(DatasetError, match="min_freq"):
        WordTokenizer.train(TEXTS, min_freq=10)
    with pytest.raises(ValueError, match="at least 3"):
        WordTokenizer.train(TEXTS, max_size=2)
    with pytest.raises(TypeError, match="not one string"):
        WordTokenizer.train("just one string")


def test_word_vocabulary_file_round_trip_and_bad_files(tmp_path):
    tok = WordTokenizer.train(TEXTS)
    paths = tok.save(tmp_path)
    with open(paths["vocab"], encoding="utf-8") as f:
        assert f.read().splitlines()[:4] == ["<pad>", "<unk>", "cat", "the"]
    again = load_tokenizer("word", paths)
    assert again == tok and again("a bird sat") == tok("a bird sat")
    assert [n for n in os.listdir(tmp_path)] == ["vocab.txt"]       # no temporary file left
    (tmp_path / "bin.txt").write_bytes(b"<pad>\n<unk>\n\x00\x01")
    with pytest.raises(RecipeError, match="binary"):
        WordTokenizer.from_file(tmp_path / "bin.txt")
    (tmp_path / "latin.txt").write_bytes("<pad>\n<unk>\ncaf\xe9\n".encode("latin-1"))
    with pytest.raises(RecipeError, match="not UTF-8"):
        WordTokenizer.from_file(tmp_path / "latin.txt")
    (tmp_path / "empty.txt").write_bytes(b"")
    with pytest.raises(RecipeError, match="0 bytes"):
        WordTokenizer.from_file(tmp_path / "empty.txt")
    (tmp_path / "nospecial.txt").write_text("cat\ndog\n")
    with pytest.raises(RecipeError, match="starts with"):
        WordTokenizer.from_file(tmp_path / "nospecial.txt")
    with pytest.raises(RecipeError, match="does not exist"):
        WordTokenizer.from_file(tmp_path / "missing.txt")
    with pytest.raises(UnknownNameError, match="sentencepiece"):
        load_tokenizer("sentencepiece", paths)


BERT_VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "un", "##aff", "##able", "play", "##ing",
              "##s", "!", ",", "café", "x"]


@pytest.fixture
def bert_vocab(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("\n".join(BERT_VOCAB) + "\n", encoding="utf-8")
    return str(path)


def test_wordpiece_pieces_on_a_hand_written_vocab(bert_vocab):
    tok = WordPieceTokenizer(bert_vocab)
    # Reasoned by hand: lower-cased, split on spaces and punctuation; each word split into the
    # longest vocabulary pieces left to right; 'café' loses its accent when lower-casing (BERT
    # uncased), so 'cafe' has no split: [UNK]; 'xyz' has 'x' but no '##y...': the whole word is [UNK].
    text = "The UNAFFABLE playings, Café xyz!"
    expected = ["[CLS]", "the", "un", "##aff", "##able", "play", "##ing", "##s", ",", "[UNK]", "[UNK]", "!", "[SEP]"]
    assert tok.tokenize(text) == expected
    assert tok(text) == [BERT_VOCAB.index(t) for t in expected]
    assert tok.pad_id == 0 and tok.unk_id == 1
    # the same as the library's own BERT WordPiece tokenizer
    from tokenizers import BertWordPieceTokenizer
    assert BertWordPieceTokenizer(bert_vocab, lowercase=True).encode(text).ids == tok(text)
    # cased: the accent is kept and the vocabulary's 'café' found; 'The' is not 'the'
    cased = WordPieceTokenizer(bert_vocab, lowercase=False)
    assert cased.tokenize("café the") == ["[CLS]", "café", "the", "[SEP]"]
    assert cased.tokenize("The")[1] == "[UNK]"
    # truncation keeps [CLS] and [SEP]
    ids, dropped = tok.encode(text, max_length=5)
    assert ids == [2, 5, 6, 7, 3] and dropped == 8
    ids, dropped = tok.encode(text, max_length=5, direction="left")
    assert ids == [2, 1, 1, 12, 3] and dropped == 8


def test_wordpiece_needs_bert_special_tokens(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("[PAD]\n[UNK]\nthe\n")
    with pytest.raises(RecipeError, match=r"lacks \[CLS\], \[SEP\]"):
        WordPieceTokenizer(str(path))
    path.write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\nthe\nthe\n")
    with pytest.raises(RecipeError, match="twice"):
        WordPieceTokenizer(str(path))


def test_bpe_trains_round_trips_and_reloads(tmp_path):
    texts = ["low lower lowest newer newest wider widest"] * 20 + ["Ünïcode, émoji 🙂 and tabs\there"]
    tok = BPETokenizer.train(texts, vocab_size=300)
    assert tok.pad_id == 0 and tok.unk_id == 1 and 259 < tok.vocab_size <= 300
    assert len(tok("lowest")) < len("lowest")                          # merges were learned
    for text in ["Lowest newer", "never seen: ZQX ж 🙂", "a\ttab  two spaces"]:
        assert tok.decode(tok(text)) == text.lower()                   # byte level: any text round-trips
        assert tok.unk_id not in tok(text)
    paths = tok.save(tmp_path)
    assert sorted(os.listdir(tmp_path)) == ["merges.txt", "vocab.json"]
    again = load_tokenizer("bpe", paths)
    assert again == tok and again("widest newest ж") == tok("widest newest ж")
    with pytest.raises(ValueError, match="at least 259"):
        BPETokenizer.train(texts, vocab_size=100)


def test_import_tinyms_does_not_load_tokenizers():
    code = ("import sys, tinyms, tinyms.text\n"
            "from tinyms.text import Vocab\n"            # a MindSpore op: loads MindSpore, not tokenizers
            "print(sorted(m for m in ('tokenizers',) if m in sys.modules))\n"
            "tinyms.text.WordTokenizer.train(['a b'])\n"
            "print('tokenizers' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["[]", "True"]


def test_mindspore_text_ops_of_tinyms_0_3_stay_reachable():
    import mindspore.dataset.text as mtext
    import mindspore.dataset.transforms as mtrans

    import tinyms.text as text
    from tinyms.text import Lookup, PadEnd, TypeCast, Vocab  # noqa: F401 - 0.3's import lines
    assert text.Vocab is mtext.Vocab and text.Lookup is mtext.Lookup and text.TypeCast is mtrans.TypeCast
    missing = [n for n in text.__all__ if not hasattr(text, n)]
    assert not missing
    vocab = Vocab.from_list(["<pad>", "hello", "world"])
    assert Lookup(vocab)(["world", "hello"]).tolist() == [2, 1]
