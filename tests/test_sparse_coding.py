"""The classical sparse-coding engine of the reconstruct plugin: OMP, (F)ISTA, K-SVD, patches,
denoising and filling. Synthetic data only, one CPU thread, each test well under a second or two."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from imgrestore_reconstruct.sparse import (
    average_patches,
    denoise_image,
    extract_patches,
    fill_image,
    ista,
    ksvd,
    lasso_objective,
    omp,
    soft_threshold,
)


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def random_dictionary(n: int, k: int, generator: torch.Generator) -> torch.Tensor:
    D = torch.randn(n, k, generator=generator)
    return D / D.norm(dim=0)


def sparse_codes(B: int, k: int, s: int, generator: torch.Generator) -> torch.Tensor:
    """B codes with s non-zeros each, of magnitude 0.5..1.5 and random sign."""
    A = torch.zeros(B, k)
    support = torch.rand(B, k, generator=generator).argsort(1)[:, :s]
    values = (0.5 + torch.rand(B, s, generator=generator)) * (torch.randint(0, 2, (B, s), generator=generator) * 2 - 1)
    return A.scatter_(1, support, values)


def dct_dictionary(size: int = 8) -> torch.Tensor:
    """The separable 2-D DCT basis as a size²×size² dictionary (pixels in raster order)."""
    i = np.arange(size)
    C = np.cos(np.pi * (i[:, None] + 0.5) * i[None, :] / size)
    C /= np.linalg.norm(C, axis=0)
    return torch.from_numpy(np.kron(C, C)).float()


def smooth_image(size: int = 64) -> np.ndarray:
    """A smooth gray image with an edge: what patch dictionaries represent well."""
    y, x = np.mgrid[0:size, 0:size] / size
    image = 0.5 + 0.2 * np.sin(6 * x) * np.cos(4 * y) + 0.2 * (x + 0.3 * y > 0.6)
    return image.astype(np.float32)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1 / np.mean((a - b) ** 2)))


def test_omp_recovers_sparse_codes():
    g = torch.Generator().manual_seed(0)
    D = random_dictionary(64, 128, g)
    A = sparse_codes(200, 128, 4, g)
    found = omp(D, A @ D.T, 4)
    assert torch.equal(found != 0, A != 0)
    assert torch.allclose(found, A, atol=1e-4)


def test_soft_threshold():
    x = torch.tensor([-2.0, -0.5, 0.0, 0.3, 1.5])
    assert torch.allclose(soft_threshold(x, 0.5), torch.tensor([-1.5, 0.0, 0.0, 0.0, 1.0]))


def test_omp_stops_at_its_own_tolerance():
    g = torch.Generator().manual_seed(1)
    D = random_dictionary(64, 128, g)
    Y = torch.randn(100, 64, generator=g)
    tol = Y.square().sum(1) * torch.linspace(0.2, 0.8, 100)
    A = omp(D, Y, 32, tol=tol)
    residual = (Y - A @ D.T).square().sum(1)
    assert (residual <= tol * (1 + 1e-5)).all()
    # Each signal stopped at the first step that reached its tolerance: one atom less does not.
    counts = (A != 0).sum(1)
    assert counts.min() >= 1 and counts.max() < 32
    for m in counts.unique().tolist():
        rows = counts == m
        fewer = omp(D, Y[rows], m - 1)
        assert ((Y[rows] - fewer @ D.T).square().sum(1) > tol[rows]).all()


def test_omp_never_chooses_an_atom_twice():
    # With n atoms all distinct, any signal is represented exactly by n non-zeros; a repeated
    # atom would leave fewer and a residual.
    g = torch.Generator().manual_seed(2)
    D = random_dictionary(32, 64, g)
    Y = torch.randn(50, 32, generator=g)
    A = omp(D, Y, 32)
    assert ((A != 0).sum(1) == 32).all()
    assert torch.allclose(A @ D.T, Y, atol=1e-3)


def test_masked_omp_ignores_unknown_pixels():
    g = torch.Generator().manual_seed(3)
    D = random_dictionary(64, 128, g)
    Y = torch.randn(80, 64, generator=g)
    mask = (torch.rand(80, 64, generator=g) > 0.4).float()
    tol = 0.3 * (mask * Y).square().sum(1)
    A = omp(D, Y, 30, tol=tol, mask=mask)
    changed = torch.where(mask > 0, Y, 1e3 * torch.randn(80, 64, generator=g))
    assert torch.equal(omp(D, changed, 30, tol=tol, mask=mask), A)
    assert ((mask * (Y - A @ D.T)).square().sum(1) <= tol * (1 + 1e-5)).all()


def test_masked_omp_is_omp_on_the_known_rows():
    # One mask for every signal: the same as plain OMP on the known rows of D (whose columns are
    # then no longer unit norm, which both normalise for).
    g = torch.Generator().manual_seed(4)
    D = random_dictionary(64, 128, g)
    Y = sparse_codes(60, 128, 3, g) @ D.T
    known = torch.rand(64, generator=g) > 0.5
    A = omp(D, Y, 3, mask=known.float().expand(60, 64))
    assert torch.allclose(A, omp(D[known], Y[:, known], 3), atol=1e-5)


def test_ista_monotone_and_fista_faster_to_the_same_minimum():
    g = torch.Generator().manual_seed(5)
    D = random_dictionary(32, 64, g)
    Y = torch.randn(20, 32, generator=g)
    lam = torch.linspace(0.05, 0.3, 20)
    A = torch.zeros(20, 64)
    objective = [lasso_objective(D, Y, A, lam)]
    for _ in range(60):
        A = ista(D, Y, lam, 1, fast=False, A0=A)
        objective.append(lasso_objective(D, Y, A, lam))
    objective = torch.stack(objective)
    assert (objective[1:] <= objective[:-1] * (1 + 1e-6)).all()
    assert lasso_objective(D, Y, ista(D, Y, lam, 60), lam).sum() < objective[-1].sum()
    slow = lasso_objective(D, Y, ista(D, Y, lam, 5000, fast=False), lam)
    fast = lasso_objective(D, Y, ista(D, Y, lam, 5000), lam)
    assert torch.allclose(fast, slow, rtol=1e-4)


def test_masked_ista_ignores_unknown_pixels():
    g = torch.Generator().manual_seed(6)
    D = random_dictionary(32, 64, g)
    Y = torch.randn(10, 32, generator=g)
    mask = (torch.rand(10, 32, generator=g) > 0.5).float()
    A = ista(D, Y, 0.1, 50, mask=mask)
    assert torch.equal(ista(D, Y + 5 * (1 - mask), 0.1, 50, mask=mask), A)


def test_ksvd_learns_a_hidden_dictionary():
    g = torch.Generator().manual_seed(7)
    # 32×48 with 3 atoms a signal: easy enough that OMP finds the codes given the true atoms.
    hidden = random_dictionary(32, 48, g)
    Y = sparse_codes(1500, 48, 3, g) @ hidden.T
    rmse: list[float] = []
    D = ksvd(Y, 48, 3, 30, generator=g, callback=lambda _i, _D, e: rmse.append(e))
    assert len(rmse) == 30 and rmse[-1] < rmse[0] / 2
    assert torch.allclose(D.norm(dim=0), torch.ones(48), atol=1e-5)
    recovered = (hidden.T @ D).abs().max(1).values > 0.95
    assert recovered.float().mean() >= 0.8


@pytest.mark.parametrize("shape", [(3, 21, 19), (2, 1, 17, 30)])
def test_patches_round_trip(shape):
    # (H − 8) and (W − 8) are not multiples of 3. Values k/256 keep the averages exact.
    g = torch.Generator().manual_seed(8)
    image = torch.randint(0, 256, shape, generator=g).float() / 256
    rows = extract_patches(image, 8, 3)
    assert rows.shape[1] == shape[-3] * 64
    assert torch.equal(rows[0], image.reshape(-1, *shape[-3:])[0, :, :8, :8].reshape(-1))
    assert torch.equal(average_patches(rows, image.shape, 8, 3), image)


def test_average_patches_weights_leave_uncovered_pixels_nan():
    image = torch.rand(1, 16, 16)
    rows = extract_patches(image, 8, 8)  # four disjoint patches
    out = average_patches(rows, image.shape, 8, 8, weights=torch.tensor([1.0, 0.0, 1.0, 1.0]))
    assert out[0, :8, 8:].isnan().all()
    assert torch.equal(out[0, 8:], image[0, 8:])


def test_denoise_image_removes_noise():
    clean = smooth_image()
    noisy = (clean + np.random.default_rng(0).normal(0, 20 / 255, clean.shape)).astype(np.float32)
    out = denoise_image(noisy, dct_dictionary(), 20, stride=2)
    assert out.shape == clean.shape
    assert psnr(out, clean) > psnr(noisy, clean) + 5


def test_fill_image_keeps_known_pixels_and_fills():
    image = smooth_image()
    known = np.random.default_rng(1).random(image.shape) > 0.5
    known[20:36, 30:46] = False  # a 16×16 hole: its centre is in no patch with a known pixel
    out = fill_image(image, known, dct_dictionary())
    assert np.isfinite(out).all()
    assert np.array_equal(out[known], image[known])
    assert psnr(out, image) > psnr(image * known, image) + 10
