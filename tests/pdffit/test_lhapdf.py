"""pdffit/lhapdf.py: LHAPDF6 sets written with subgrids, read with LHAPDF's interpolation."""

import numpy as np
import pytest

from obsforge.pdffit.lhapdf import PIDS, LHAPDFGrid, Subgrid, pythia_pdf, write_lhapdf_set

X = np.geomspace(1e-6, 1, 60)
Q_LOW, Q_HIGH = np.geomspace(1.65, 4.92, 6), np.geomspace(4.92, 1e4, 20)


def _toy(q: np.ndarray, bottom: bool) -> np.ndarray:
    """x f (1, 11, n_x, n_q): smooth light flavours; b = 0 below 4.92 GeV, log-growing above."""
    grid_x, grid_q = np.meshgrid(X, q, indexing="ij")
    base = np.stack(
        [(1 + 0.1 * i) * grid_x**0.3 * (1 - grid_x) ** 3 * (1 + 0.05 * np.log(grid_q))
         for i in range(len(PIDS))]
    )  # fmt: skip
    heavy = [PIDS.index(5), PIDS.index(-5)]
    base[heavy] = base[heavy] * np.log(grid_q / 4.92) if bottom else 0.0
    return base[None]


def test_round_trip_with_subgrids_through_pythia(tmp_path):
    """Two Q subgrids meeting at m_b: the files, the knots read back exactly, and x b = 0 just
    below the threshold in PYTHIA's reader and ours (no interpolation across it)."""
    replicas = [np.concatenate([_toy(q, b) * (1 + 0.01 * r) for r in range(3)])
                for q, b in ((Q_LOW, False), (Q_HIGH, True))]  # fmt: skip
    folder = write_lhapdf_set(tmp_path, "toy", X, [Q_LOW, Q_HIGH], replicas, {"MBottom": 4.92})
    assert sorted(p.name for p in folder.iterdir()) == [
        "toy.info", "toy_0000.dat", "toy_0001.dat", "toy_0002.dat", "toy_0003.dat",
    ]  # fmt: skip
    info = (folder / "toy.info").read_text()
    assert "NumMembers: 4" in info and "QMin: 1.65" in info and "QMax: 10000" in info
    grid = LHAPDFGrid.read(folder / "toy_0002.dat")
    assert len(grid.subgrids) == 2 and grid.pids == list(PIDS)
    np.testing.assert_allclose(grid.subgrids[1].xf, replicas[1][1], rtol=1e-7)
    central = LHAPDFGrid.read(folder / "toy_0000.dat")
    pythia = pythia_pdf(folder / "toy_0000.dat")
    for q in (4.5, 4.9, 4.92):
        assert pythia.xf(5, 0.01, q * q) == 0.0 and central.xf(5, 0.01, q * q) == 0.0
    for q in (2.0, 7.0, 50.0, 3000.0):
        for pid in (2, 21, -1, 5):
            ours, theirs = central.xf(pid, 0.05, q * q), pythia.xf(pid, 0.05, q * q)
            assert ours == pytest.approx(theirs, rel=2e-2)  # PYTHIA's own interpolation
    with pytest.raises(ValueError, match="replicas_xf: shape"):
        write_lhapdf_set(tmp_path, "bad", X, Q_HIGH, replicas[1][:, :3], {})
    with pytest.raises(ValueError, match="subgrid 1 starts at"):
        write_lhapdf_set(tmp_path, "bad", X, [Q_LOW, Q_HIGH * 1.1], replicas, {})


def test_log_bicubic_is_exact_for_linear_functions():
    """Slopes from finite differences are exact for a + b ln x + c ln Q^2, and so is the
    Hermite interpolation: the reader reproduces it at any point, to rounding."""
    x, q = np.geomspace(1e-7, 0.9, 37), np.geomspace(1.65, 1e3, 9)
    log_x, log_q2 = np.meshgrid(np.log(x), np.log(q * q), indexing="ij")
    grid = LHAPDFGrid([Subgrid(x, q, (0.3 - 0.1 * log_x + 0.7 * log_q2)[None])], [21])
    points = np.geomspace(1e-7, 0.9, 101)
    for scale in (1.65, 2.0, 17.3, 999.0):
        exact = 0.3 - 0.1 * np.log(points) + 0.7 * np.log(scale**2)
        np.testing.assert_allclose(grid.xfxq(21, points, scale), exact, rtol=1e-12)
    assert np.all(grid.xfxq(2, points, 5.0) == 0.0)  # a flavour the set does not carry
    with pytest.raises(ValueError, match=r"outside the grid.*allowed x in \[1e-07, 0.9\]"):
        grid.xfxq(21, np.array([0.95]), 5.0)


def test_flavours_interpolated_together_equal_each_flavour_alone():
    """The reader interpolates all flavours at once and keeps the last few (x, Q): every
    flavour equals a grid of that flavour alone, bit for bit, in any order of calls, and a
    caller who edits the returned array does not change the next answer."""
    x, q = X, np.geomspace(1.65, 1e3, 12)
    xf = _toy(q, True)[0, :3]
    pids = PIDS[:3]
    together = LHAPDFGrid([Subgrid(x, q, xf)], pids)
    alone = [LHAPDFGrid([Subgrid(x, q, xf[i : i + 1])], [pid]) for i, pid in enumerate(pids)]
    points = [np.geomspace(2e-6, 0.7, 9), np.geomspace(1e-3, 0.2, 5)]
    for scale in (1.65, 91.2, 91.2, 7.0):
        for i in (2, 0, 1, 0):
            for xs in points:
                expected = alone[i].xfxq(pids[i], xs, scale)
                first = together.xfxq(pids[i], xs, scale)
                np.testing.assert_array_equal(first, expected)
                first[:] = 7.0
                np.testing.assert_array_equal(together.xfxq(pids[i], xs, scale), expected)


def test_reference_read_exactly_and_its_sum_rules():
    """NNPDF3.1 NLO through our reader: equal to PYTHIA's reader where the PDF is positive
    (to its interpolation, 3e-3), negative values kept, and momentum 1.0004 at Q0 over the
    grid [1e-9, 1], the photon of this QED set included (zeroing the negatives, as PYTHIA
    does, makes it 1.0070)."""
    from obsforge.pdffit.reference import reference_file, reference_grid

    grid, pythia = reference_grid(), pythia_pdf(reference_file())
    x = np.array([1.3e-5, 3.3e-3, 0.0531, 0.2718, 0.555])
    for q in (1.65, 4.0, 7.7, 100.0):
        for pid in (21, 2, -1, 3):
            ours = grid.xfxq(pid, x, q)
            theirs = np.array([pythia.xf(pid, v, q * q) for v in x])
            np.testing.assert_allclose(ours, theirs, rtol=3e-3)
    nodes, weights = np.polynomial.legendre.leggauss(400)
    log_x = 0.5 * np.log(1e-9) * (1 - nodes)  # Gauss-Legendre in ln x on [1e-9, 1]
    w = -0.5 * np.log(1e-9) * weights
    points = np.exp(log_x)
    values = np.stack([grid.xfxq(p, points, 1.65) for p in grid.pids])
    assert float(np.sum(w * points * values.sum(0))) == pytest.approx(1.0004, abs=1e-4)
    zeroed = np.maximum(values, 0.0).sum(0)
    assert float(np.sum(w * points * zeroed)) == pytest.approx(1.0070, abs=1e-4)
