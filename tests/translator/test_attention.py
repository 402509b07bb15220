"""Luong attention: masking, and sources shared by groups of query rows (a beam's hypotheses)."""

from __future__ import annotations

import torch

from translator.attention import Attention


def test_padding_gets_no_weight_and_weights_sum_to_one() -> None:
    torch.manual_seed(0)
    attention = Attention(6, 4)
    values = torch.randn(2, 5, 6)
    mask = torch.tensor([[True] * 5, [True, True, False, False, False]])
    context, weights = attention(torch.randn(2, 3, 4), attention.project(values), values, mask)
    assert context.shape == (2, 3, 6) and weights.shape == (2, 3, 5)
    assert torch.allclose(weights.sum(-1), torch.ones(2, 3))
    assert (weights[1, :, 2:] == 0).all() and (weights[0] > 0).all()


def test_a_source_shared_by_a_group_of_rows_equals_one_copy_per_row() -> None:
    """Beam search keeps one copy of each source for its K hypotheses; the result must not change."""
    torch.manual_seed(0)
    attention = Attention(6, 4)
    values = torch.randn(3, 5, 6)
    mask = torch.ones(3, 5, dtype=torch.bool)
    mask[2, 3:] = False
    keys, query = attention.project(values), torch.randn(3 * 4, 1, 4)  # 3 sources, 4 rows each
    shared = attention(query, keys, values, mask)
    tile = torch.arange(3).repeat_interleave(4)
    copied = attention(query, keys[tile], values[tile], mask[tile])
    for got, expected in zip(shared, copied, strict=True):
        torch.testing.assert_close(got, expected)
