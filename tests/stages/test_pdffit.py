"""pdffit/: real DIS data and covariances, the batched NN PDF with exact sum rules, LHAPDF I/O."""

import numpy as np
import pytest

from obsforge.pdffit.lhapdf import pythia_pdf, read_member


def test_bad_runcards(tmp_path):
    from obsforge.config import ConfigError, validate_config
    from obsforge.pdf_fit import PDFRunCard, run_pdffit

    with pytest.raises(ConfigError, match="datasets.*unknown.*HERA_FOO"):
        validate_config(PDFRunCard, {"datasets": ["HERA_FOO"]})
    with pytest.raises(ConfigError, match="replicas = -3"):
        validate_config(PDFRunCard, {"datasets": ["SLAC_NC_NOTFIXED_P_F2"], "replicas": -3})
    with pytest.raises(ConfigError, match="datasets"):
        validate_config(PDFRunCard, {"datasets": []})
    with pytest.raises(ConfigError, match="scheme.*FONLL-C.*allowed.*FONLL-A"):
        validate_config(PDFRunCard, {"datasets": ["SLAC_NC_NOTFIXED_P_F2"], "scheme": "FONLL-C"})
    with pytest.raises(ConfigError, match="t0_pdf = .*nowhere.dat.*not point to a file"):
        validate_config(PDFRunCard, {"t0_pdf": str(tmp_path / "nowhere.dat")})
    card = validate_config(
        PDFRunCard,
        {"datasets": ["SLAC_NC_NOTFIXED_P_F2"], "q2_min": 1e5, "runs_dir": str(tmp_path)},
    )
    with pytest.raises(ValueError, match="SLAC_NC_NOTFIXED_P_F2.*no point passes the cuts"):
        run_pdffit(card)


@pytest.mark.integration
def test_pdffit_stage_end_to_end(tmp_path):
    """A short fit with the shipped FK tables: chi2 table, sum rules, and an LHAPDF set whose
    central member PYTHIA reads back equal to our own evolution of the replica average."""
    from obsforge.config import validate_config
    from obsforge.pdf_fit import PDFRunCard, run_pdffit

    card = validate_config(
        PDFRunCard,
        {
            "name": "tiny",
            "runs_dir": str(tmp_path),
            "datasets": ["SLAC_NC_NOTFIXED_P_F2", "NMC_NC_NOTFIXED_P_F2"],
            "replicas": 3,
            "max_epochs": 400,
            "patience": 400,
        },
    )
    result = run_pdffit(card)
    summary = result.numbers
    assert summary["sum_rules_max_deviation"] < 1e-6
    total = summary["chi2"][-1]
    assert total["dataset"] == "total" and total["points"] == 37 + 115
    assert np.isfinite(total["chi2_central"]) and total["chi2_central"] < 50
    members = sorted((result.path / "tiny").glob("tiny_*.dat"))
    assert len(members) == summary["replicas_kept"] + 1  # central + the kept replicas
    grid = read_member(members[0])
    assert [len(b.q) for b in grid.subgrids] == [8, 28] and grid.x_range == (1e-9, 1.0)
    block = grid.subgrids[1]
    pdf = pythia_pdf(members[0])
    i, j, k = grid.pids.index(2), int(np.searchsorted(block.x, 0.1)), 5
    assert pdf.xf(2, block.x[j], block.q[k] ** 2) == pytest.approx(block.xf[i, j, k], rel=1e-6)
    assert pdf.xf(5, 0.01, 4.9**2) == 0.0  # no b below its threshold
    export = summary["export"]
    assert export["min_xf_above_q2_5"] > -1e-3  # positivity is on by default
    q0 = export["sum_rules"][0]
    assert q0["u_v"] == pytest.approx(2, abs=0.05) and q0["d_v"] == pytest.approx(1, abs=0.05)
    assert run_pdffit(card).path == result.path  # cached

    # the same runcard in replica batches (Dask tasks, here run inline), no constraints
    from obsforge.parallel import Execution

    batched = card.model_copy(
        update={"batch_replicas": 2, "positivity": False, "integrability": False}
    )
    summary = run_pdffit(batched, Execution(workers=0)).numbers
    assert summary["replicas"] == 3 and summary["sum_rules_max_deviation"] < 1e-6
    assert "positivity" not in summary and "integrability" not in summary
