"""tl.einsum against torch.einsum: forward, backward, double backward and bad input."""
import numpy as np
import pytest
import torch

import tinygrad_lite as tl
from helpers import check_hvp_vs_torch, check_vs_torch, make

CASES = [
    ("ij,jk->ik", [(3, 4), (4, 2)]),                        # matmul
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),               # batched matmul
    ("bhqd,bhkd->bhqk", [(2, 3, 4, 5), (2, 3, 6, 5)]),      # attention scores
    ("bhqk,bhkd->bhqd", [(2, 3, 4, 6), (2, 3, 6, 5)]),      # attention output
    ("i,j->ij", [(3,), (4,)]),                              # outer
    ("i,i->", [(5,), (5,)]),                                # dot
    ("ii->", [(4, 4)]),                                     # trace
    ("ii->i", [(4, 4)]),                                    # diagonal
    ("iii->i", [(3, 3, 3)]),                                # a label three times
    ("iij->j", [(3, 3, 2)]),                                # diagonal beside a free axis
    ("ii,i->i", [(3, 3), (3,)]),                            # diagonal of one, times another
    ("ij->ji", [(3, 4)]),                                   # transpose
    ("ij->", [(3, 4)]),                                     # sum
    ("ij,jk", [(3, 4), (4, 2)]),                            # implicit output
    ("ba", [(3, 4)]),                                       # implicit output sorts: "ab"
    ("Ba,ab", [(3, 2), (2, 4)]),                            # upper case sorts first
    ("...ij,...jk->...ik", [(1, 3, 4), (5, 4, 2)]),         # ellipsis, broadcast batch
    ("...ij,...jk", [(2, 1, 3, 4), (5, 4, 2)]),             # implicit, ragged ellipsis
    ("...i,...i->...", [(3, 1, 4), (5, 4)]),
    ("b...,b...->b", [(2, 3, 4), (2, 3, 4)]),
    ("ij,jk", [(3, 1), (4, 2)]),                            # size-1 label broadcasts
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]),             # three operands
    ("bn,anm,bm->ba", [(2, 3), (4, 3, 5), (2, 5)]),         # bilinear
    ("ijk->i", [(2, 3, 4)]),                                # j, k summed out of one operand
    ("ij,k->i", [(2, 3), (4,)]),                            # k lives in one operand only
    (" i j , j k -> i k ", [(3, 4), (4, 2)]),               # whitespace
]
IDS = [eq.replace(" ", "_") for eq, _ in CASES]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("eq,shapes", CASES, ids=IDS)
def test_einsum_matches_torch(eq, shapes, dtype, device):
    check_vs_torch(lambda *xs: tl.einsum(eq, *xs), shapes, dtype=dtype, device=device,
                   torch_fn=lambda *xs: torch.einsum(eq, *xs))


def test_einsum_takes_a_list_and_matches_matmul(device):
    a, b = make((3, 4), device=device), make((4, 2), device=device, rng=np.random.default_rng(1))
    assert tl.allclose(tl.einsum("ij,jk->ik", [a, b]), a @ b)
    assert tl.einsum("ij,jk", (a, b)).shape == (3, 2)


def test_einsum_output_is_not_a_view_and_keeps_dtype(device):
    x = make((3, 3), np.float32, device=device, requires_grad=False)
    d = tl.einsum("ii->i", x)
    d += 1.0
    assert d.dtype == tl.float32 and x.equal(make((3, 3), np.float32, device=device,
                                                   requires_grad=False))
    ints = tl.tensor([[1, 2], [3, 4]], device=device)
    assert tl.einsum("ij->", ints).item() == 10 and tl.einsum("ii", ints).dtype == tl.int64


GRADCHECK = ["ij,jk->ik", "ii->i", "ii,i->i", "...ij,...jk->...ik", "bn,anm,bm->ba", "ijk->i",
             "ij,jk"]


@pytest.mark.parametrize("eq", GRADCHECK)
def test_einsum_gradcheck(eq, device):
    shapes = dict(CASES)[eq]
    rng = np.random.default_rng(2)
    xs = [make(s, device=device, rng=rng) for s in shapes]
    assert tl.autograd.gradcheck(lambda *a: tl.einsum(eq, *a), xs)


@pytest.mark.parametrize("eq", ["ij,jk->ik", "ii->i", "bn,anm,bm->ba", "...i,...i->..."])
def test_einsum_gradgradcheck(eq, device):
    shapes = dict(CASES)[eq]
    rng = np.random.default_rng(3)
    xs = [make(s, device=device, rng=rng) for s in shapes]
    assert tl.autograd.gradgradcheck(lambda *a: tl.einsum(eq, *a), xs)


@pytest.mark.parametrize("eq", ["bij,bjk->bik", "ii,i->i", "ij,jk,kl->il"])
def test_einsum_hessian_vector_product_matches_torch(eq, device):
    check_hvp_vs_torch(lambda *xs: tl.einsum(eq, *xs), dict(CASES)[eq], device=device,
                       torch_fn=lambda *xs: torch.einsum(eq, *xs))


def test_einsum_only_needed_inputs_get_gradients(device):
    a = make((3, 4), device=device)
    b = make((4, 2), device=device, requires_grad=False)
    tl.einsum("ij,jk->ik", a, b).sum().backward()
    assert a.grad is not None and b.grad is None
    with tl.no_grad():
        assert not tl.einsum("ij,jk->ik", a, b).requires_grad


BAD = [
    ("ij,jk->ik", [(3, 4)], ValueError, "names 2 operand"),
    ("ij->i", [(3, 4), (4,)], ValueError, "names 1 operand"),
    ("ij->i", [(3, 4, 5)], ValueError, r"operand 0 has 2 subscript.*\(3, 4, 5\)"),
    ("ijk...->i", [(3, 4)], ValueError, "operand 0 has 3 subscript"),
    ("ij,jk->ik", [(3, 4), (5, 2)], ValueError, "'j' has size 5 in operand 1"),
    ("ii->i", [(3, 4)], ValueError, "'i' is repeated in operand 0"),
    ("...i,...i->...", [(3, 4), (2, 4)], ValueError, "'...' dimension has size 2"),
    ("ij->k", [(3, 4)], ValueError, "'k' does not appear"),
    ("ij->ii", [(3, 4)], ValueError, "more than once"),
    ("i1->i", [(3, 4)], ValueError, "subscripts must be letters"),
    ("i..j->i", [(3, 4)], ValueError, "not part of '...'"),
    ("...i...->i", [(3, 4)], ValueError, "more than one '...'"),
    ("ij->j->i", [(3, 4)], ValueError, "more than one '->'"),
]


@pytest.mark.parametrize("eq,shapes,err,match", BAD, ids=[b[0] for b in BAD])
def test_einsum_bad_input_names_the_equation_and_shapes(eq, shapes, err, match):
    xs = [make(s) for s in shapes]
    with pytest.raises(err, match=match) as info:
        tl.einsum(eq, *xs)
    msg = str(info.value)
    assert msg.startswith(f"einsum('{eq}')") and str(shapes[0]) in msg


def test_einsum_refuses_non_tensors_and_a_missing_equation():
    with pytest.raises(TypeError, match=r"einsum\('ij->ji'\): operand 1 is a ndarray"):
        tl.einsum("ij->ji", make((2, 2)), np.ones((2, 2)))
    with pytest.raises(TypeError, match="einsum: the equation must be a str"):
        tl.einsum(make((2, 2)), [0, 1])
    with pytest.raises(ValueError, match="at least one operand"):
        tl.einsum("->")


@pytest.mark.cuda
@pytest.mark.skipif(not tl.cuda_is_available(), reason="needs a visible GPU")
def test_einsum_refuses_mixed_devices():
    with pytest.raises(RuntimeError, match=r"einsum\('i,i->'\): expected all operands on one"):
        tl.einsum("i,i->", make((3,)), make((3,), device="cuda"))
