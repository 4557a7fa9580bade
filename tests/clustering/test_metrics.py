"""Metrics against small groupings whose scores were worked out by hand."""

from __future__ import annotations

import pytest

from clustering.metrics import score


def test_perfect_grouping_scores_one_everywhere() -> None:
    s = score([0, 0, 1, 2, 2, 2], [5, 5, 7, 9, 9, 9])
    assert s.bcubed_precision == s.bcubed_recall == s.bcubed_f1 == 1.0
    assert s.pair_precision == s.pair_recall == s.pair_f1 == 1.0
    assert s.ami == pytest.approx(1.0)
    assert s.ari == pytest.approx(1.0)
    assert (s.gold_clusters, s.pred_clusters) == (3, 3)


def test_bcubed_and_pairs_on_a_split_and_a_merge() -> None:
    # gold  A A A B B      pred  x x y y y
    # items 0,1 in x={0,1}: |C∩G| = 2 -> P = 2/2, R = 2/3 (gold A has 3)
    # item 2 in y={2,3,4}, gold A: |C∩G| = 1 -> P = 1/3, R = 1/3
    # items 3,4 in y, gold B={3,4}: |C∩G| = 2 -> P = 2/3, R = 2/2
    # BCubed P = (1 + 1 + 1/3 + 2/3 + 2/3) / 5 = (11/3) / 5 = 11/15
    # BCubed R = (2/3 + 2/3 + 1/3 + 1 + 1) / 5 = (11/3) / 5 = 11/15
    # pairs together in pred: C(2,2) + C(3,2) = 1 + 3 = 4; in gold: 3 + 1 = 4
    # together in both: (0,1) and (3,4) -> 2; P = R = F1 = 2/4
    s = score([0, 0, 0, 1, 1], [0, 0, 1, 1, 1])
    assert s.bcubed_precision == pytest.approx(11 / 15)
    assert s.bcubed_recall == pytest.approx(11 / 15)
    assert s.bcubed_f1 == pytest.approx(11 / 15)
    assert s.pair_precision == pytest.approx(0.5)
    assert s.pair_recall == pytest.approx(0.5)
    assert s.pair_f1 == pytest.approx(0.5)
    assert (s.gold_clusters, s.pred_clusters) == (2, 2)


def test_everything_in_one_cluster_has_full_recall_and_low_precision() -> None:
    # gold A A B C, pred all together.
    # BCubed P: items of A see 2/4 each, B and C 1/4 each -> (0.5+0.5+0.25+0.25)/4 = 0.375
    # BCubed R = 1; F1 = 2 * 0.375 / 1.375 = 0.75 / 1.375 = 6/11
    # pairs: pred C(4,2) = 6, gold 1, both 1 -> P = 1/6, R = 1, F1 = 2/6 / (7/6) = 2/7
    s = score([0, 0, 1, 2], [3, 3, 3, 3])
    assert s.bcubed_precision == pytest.approx(0.375)
    assert s.bcubed_recall == 1.0
    assert s.bcubed_f1 == pytest.approx(6 / 11)
    assert s.pair_precision == pytest.approx(1 / 6)
    assert s.pair_recall == 1.0
    assert s.pair_f1 == pytest.approx(2 / 7)
    assert s.ari == pytest.approx(0.0)  # as good as chance under a fixed one-cluster split
    assert s.pred_clusters == 1


def test_all_singletons_predicted_has_no_pair_claims_so_pair_precision_is_one() -> None:
    # gold A A B, pred all apart. No predicted pairs: precision 0/0 -> 1.0 by definition.
    # gold pairs 1, found 0 -> recall 0, F1 0.
    # BCubed P = 1; R = (1/2 + 1/2 + 1)/3 = 2/3; F1 = 2 * (2/3) / (5/3) = 4/5
    s = score([0, 0, 1], [0, 1, 2])
    assert s.pair_precision == 1.0
    assert s.pair_recall == 0.0
    assert s.pair_f1 == 0.0
    assert s.bcubed_precision == 1.0
    assert s.bcubed_recall == pytest.approx(2 / 3)
    assert s.bcubed_f1 == pytest.approx(0.8)


def test_all_singleton_gold_and_prediction_is_perfect() -> None:
    # No pairs anywhere: both ratios are 0/0 -> 1.0, F1 1.0.
    s = score([0, 1, 2], [2, 1, 0])
    assert s.pair_f1 == 1.0
    assert s.bcubed_f1 == 1.0


def test_unassigned_prediction_counts_each_article_as_its_own_singleton() -> None:
    # pred -1 -1 must not put the two unassigned articles together: it equals pred 0 1.
    assert score([0, 0], [-1, -1]) == score([0, 0], [0, 1])
    s = score([0, 0, 1], [-1, -1, 4])
    assert s.pred_clusters == 3
    assert s.pair_recall == 0.0


def test_mismatched_lengths_are_rejected() -> None:
    with pytest.raises(ValueError):
        score([0, 1], [0])
