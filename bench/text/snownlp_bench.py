#!/usr/bin/env python3
"""SnowNLP reference for TrustLedger's sentiment model (written by the TrustLedger project).

Retrains SnowNLP's Bayes sentiment classifier on EXACTLY the training lines of our split (exported
by `cargo run --example train_sentiment -- --export-split DIR`), scores the held-out lines and
prints accuracy, AUC and sentences/s as one JSON object.

Usage: snownlp_bench.py SPLIT_DIR
"""
import json
import sys
import time


def read(path):
    with open(path, encoding="utf-8") as f:
        return [l.rstrip("\n") for l in f if l.strip()]


def auc(scored):
    """Mann-Whitney AUC with average ranks for ties (same definition as the Rust side)."""
    v = sorted(scored, key=lambda x: x[0])
    n_pos = sum(1 for _, y in v if y)
    n_neg = len(v) - n_pos
    rank_sum = 0.0
    i = 0
    while i < len(v):
        j = i
        while j + 1 < len(v) and v[j + 1][0] == v[i][0]:
            j += 1
        avg = (i + j) / 2.0 + 1.0
        rank_sum += sum(1 for k in range(i, j + 1) if v[k][1]) * avg
        i = j + 1
    return (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)


def main():
    d = sys.argv[1]
    from snownlp import sentiment

    train_pos = read(f"{d}/train_pos.txt")
    train_neg = read(f"{d}/train_neg.txt")
    test_pos = read(f"{d}/test_pos.txt")
    test_neg = read(f"{d}/test_neg.txt")
    clf = sentiment.Sentiment()
    t0 = time.perf_counter()
    clf.train(train_neg, train_pos)
    train_secs = time.perf_counter() - t0
    scored = []
    t1 = time.perf_counter()
    for l in test_pos:
        scored.append((clf.classify(l), True))
    for l in test_neg:
        scored.append((clf.classify(l), False))
    secs = time.perf_counter() - t1
    acc = sum(1 for p, y in scored if (p >= 0.5) == y) / len(scored)
    print(json.dumps({
        "accuracy": round(acc, 4),
        "auc": round(auc(scored), 4),
        "sentences_per_sec": round(len(scored) / secs, 1),
        "train": len(train_pos) + len(train_neg),
        "test": len(scored),
        "train_seconds": round(train_secs, 1),
    }))


if __name__ == "__main__":
    main()
