"""The offline training corpus: the stdlib's sources, split stably."""

from __future__ import annotations

from tools.train_tiny import corpus


def _fake_stdlib(root):
    for rel in ["os.py", "json/decoder.py", "json/__init__.py", "test/test_os.py", "site-packages/x.py",
                "encodings/cp1252.py", "email/parser.py", "README.txt"]:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"# {rel}\n")


def test_files_are_sorted_filtered_and_split_without_overlap(tmp_path):
    _fake_stdlib(tmp_path)
    everything = corpus.corpus_files("all", root=tmp_path)
    relative = [p.relative_to(tmp_path).as_posix() for p in everything]
    assert relative == ["email/parser.py", "json/__init__.py", "json/decoder.py", "os.py"]
    train = corpus.corpus_files("train", root=tmp_path)
    heldout = corpus.corpus_files("heldout", root=tmp_path)
    assert sorted(train + heldout) == sorted(everything) and not set(train) & set(heldout)


def test_real_stdlib_split_holds_out_about_five_percent():
    train, heldout = corpus.corpus_files("train"), corpus.corpus_files("heldout")
    assert len(train) > 200 and heldout
    share = len(heldout) / (len(train) + len(heldout))
    assert 0.02 < share < 0.10
    assert next(corpus.read_texts(heldout[:1]))
