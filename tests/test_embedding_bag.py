"""F.embedding_bag and nn.EmbeddingBag against torch in float64: sum, mean and max bags from
a 2-D input or a 1-D input with offsets, empty bags, padding_idx, per_sample_weights,
include_last_offset; gradients to the table and the per-sample weights with random upstream
gradients, and gradcheck."""
import numpy as np
import pytest
import torch

import tinygrad_lite as tl
from helpers import check_vs_torch, make, same_in, to_numpy
from helpers import functional_of as _F
from tinygrad_lite.autograd import gradcheck

_IDX = np.array([1, 2, 4, 5, 4, 3, 2, 9, 0, 2])
_OFFSETS = np.array([0, 3, 3, 7])            # bag 1 is empty


@pytest.mark.parametrize("padding_idx", [None, 2])
@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_offsets(device, mode, padding_idx):
    def fn(w):
        return _F(w).embedding_bag(same_in(w, _IDX), w, same_in(w, _OFFSETS), mode=mode,
                                   padding_idx=padding_idx)
    check_vs_torch(fn, shapes=[(10, 3)], device=device)


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_2d_input_and_last_offset(device, mode):
    idx2 = _IDX.reshape(2, 5)
    check_vs_torch(lambda w: _F(w).embedding_bag(same_in(w, idx2), w, mode=mode),
                   shapes=[(10, 4)], device=device)
    last = np.append(_OFFSETS, len(_IDX))
    check_vs_torch(lambda w: _F(w).embedding_bag(same_in(w, _IDX), w, same_in(w, last),
                                                 mode=mode, include_last_offset=True),
                   shapes=[(10, 4)], device=device)


def test_per_sample_weights(device):
    def fn(w, psw):
        return _F(w).embedding_bag(same_in(w, _IDX), w, same_in(w, _OFFSETS), mode="sum",
                                   per_sample_weights=psw)
    check_vs_torch(fn, shapes=[(10, 3), (10,)], device=device)
    gradcheck(lambda w, p: tl.nn.functional.embedding_bag(
        tl.tensor(_IDX, device=device), w, tl.tensor(_OFFSETS, device=device), mode="sum",
        per_sample_weights=p), [make((10, 3), device=device), make((10,), device=device)])


def test_module_and_errors(device):
    tl.manual_seed(0)
    bag = tl.nn.EmbeddingBag(10, 3, mode="max", padding_idx=4, dtype=tl.float64, device=device)
    assert np.all(to_numpy(bag.weight)[4] == 0)
    theirs = torch.nn.EmbeddingBag(10, 3, mode="max", padding_idx=4, dtype=torch.float64)
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(to_numpy(bag.weight)))
    idx, off = tl.tensor(_IDX, device=device), tl.tensor(_OFFSETS, device=device)
    out = bag(idx, off)
    want = theirs(torch.from_numpy(_IDX), torch.from_numpy(_OFFSETS))
    np.testing.assert_allclose(to_numpy(out), want.detach().numpy())
    assert repr(bag) == repr(theirs)
    with pytest.raises(ValueError, match="embedding_bag: per_sample_weights is only"):
        tl.nn.functional.embedding_bag(idx, bag.weight, off, mode="mean",
                                       per_sample_weights=tl.ones(10, device=device))
    with pytest.raises(ValueError, match="embedding_bag: offsets must be None"):
        tl.nn.functional.embedding_bag(idx.reshape(2, 5), bag.weight, off)
