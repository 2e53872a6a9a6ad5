"""pdffit/: real DIS data and covariances, the batched NN PDF with exact sum rules, LHAPDF I/O."""

import numpy as np
import pytest

from obsforge.pdffit.lhapdf import PIDS, pythia_pdf, read_member, write_lhapdf_set


def test_lhapdf_round_trip_through_pythia(tmp_path):
    """Write a set, read it back ourselves and with PYTHIA's LHAGrid1 reader."""
    x = np.geomspace(1e-6, 1, 60)
    q = np.geomspace(1.65, 1e4, 30)
    grid_x, grid_q = np.meshgrid(x, q, indexing="ij")
    base = np.stack(
        [(1 + 0.1 * i) * grid_x**0.3 * (1 - grid_x) ** 3 * (1 + 0.05 * np.log(grid_q))
         for i in range(len(PIDS))]
    )  # fmt: skip
    replicas = np.stack([base * (1 + 0.01 * r) for r in range(3)])
    folder = write_lhapdf_set(tmp_path, "toy", x, q, replicas, {"AlphaS_MZ": 0.118})
    assert sorted(p.name for p in folder.iterdir()) == [
        "toy.info", "toy_0000.dat", "toy_0001.dat", "toy_0002.dat", "toy_0003.dat",
    ]  # fmt: skip
    x_read, q_read, pids, xf = read_member(folder / "toy_0002.dat")
    np.testing.assert_allclose(xf, replicas[1], rtol=1e-7)
    assert pids == list(PIDS)
    pdf = pythia_pdf(folder / "toy_0000.dat")
    for pid in (2, 21, -1, 4):
        i = PIDS.index(pid)
        exact = (1 + 0.1 * i) * 0.05**0.3 * 0.95**3 * (1 + 0.05 * np.log(50.0)) * 1.01
        assert pdf.xf(pid, 0.05, 50.0**2) == pytest.approx(exact, rel=1e-4)
    with pytest.raises(ValueError, match="replicas_xf: shape"):
        write_lhapdf_set(tmp_path, "bad", x, q, replicas[:, :3], {})
