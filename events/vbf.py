"""Weak-boson-fusion Higgs events at the LHC from PYTHIA 8, with CP-odd reweighting.

PYTHIA generates p p -> H j j at sqrt(s) = 13 TeV through ``HiggsSM:ff2Hff(t:WW)`` (code 907)
and ``HiggsSM:ff2Hff(t:ZZ)`` (code 906), with its default PDF (NNPDF2.3 QCD+QED LO), parton
shower, multiparton interactions and hadronisation. The Higgs boson is kept stable: it stands
for a reconstructed H -> gamma gamma candidate (the branching fraction enters only the
luminosity bookkeeping), so the jets are built from everything else.

Each event carries weights computed from its hard process (event-record rows 3, 4 -> 5 (H),
6, 7 with 6 the partner of 3) with :class:`~obsforge.events.vbf_amplitude.VBFAmplitudes`:

- ``sm_correction`` = |A_SM|^2 / (kappa |M_PYTHIA|^2): PYTHIA's VBF matrix element uses the
  quark-quark numerator for antiquark lines too; this weight turns its events into the exact LO
  SM distribution (kappa is fixed on quark-quark events, where the two agree exactly).
- ``r1``, ``r2``: w(c) = 1 + c R1 + c^2 R2 for c = c_HWtilde (Lambda = 1 TeV).

Jets: anti-kt R = 0.4 (FastJet, pp algorithm with pT and rapidity) on all visible final-state
particles with |eta| < 4.9. Detector: jet pT smeared by sigma/pT = a/sqrt(pT/GeV) (+) b,
jet eta and phi by a fixed resolution; the Higgs (photon pair) pT by a relative resolution.
VBF selection on the smeared objects: the two highest-pT jets with pT > 30 GeV and
|eta| < 4.5 are the tagging jets, m_jj > 500 GeV, |Delta eta_jj| > 3.6, eta_j1 eta_j2 < 0.
"""

from __future__ import annotations

from typing import Any

import awkward as ak
import numpy as np
from pydantic import Field, PositiveFloat, model_validator

from obsforge.config import Config, check_names
from obsforge.events.pythia import NEUTRINOS, run_pythia, seed_settings
from obsforge.events.vbf_amplitude import VBFAmplitudes, pythia_matrix_element
from obsforge.events.ww_amplitude import ElectroweakInputs

__all__ = [
    "expected_events",
    "fusion_ratio",
    "event_weights",
    "VBFConfig",
    "VBFCuts",
    "VBFDetector",
    "generate_vbf",
    "hard_process",
    "pythia_vbf_settings",
    "sm_correction_scale",
]

CHANNELS = {"WW": ("HiggsSM:ff2Hff(t:WW)", 907), "ZZ": ("HiggsSM:ff2Hff(t:ZZ)", 906)}
HARD_ROWS = (3, 4, 6, 7)  # incoming 1, 2 and outgoing partners 3 (of 1), 4 (of 2)
HIGGS_ROW = 5
N_JETS_KEPT = 3  # the hardest jets smeared before the selection re-orders them


class VBFCuts(Config):
    """VBF selection on reco-level tagging jets (the two highest-pT jets)."""

    jet_pt_min: PositiveFloat = Field(30.0, description="GeV, both tagging jets")
    jet_eta_max: PositiveFloat = Field(4.5, description="|eta| of jets")
    mjj_min: float = Field(500.0, ge=0, description="GeV, tagging-jet invariant mass")
    deta_min: float = Field(3.6, ge=0, description="|eta_j1 - eta_j2|")
    opposite_hemispheres: bool = Field(True, description="eta_j1 * eta_j2 < 0")


class VBFDetector(Config):
    """Gaussian smearing of jets and of the Higgs (diphoton) candidate."""

    jet_stochastic: float = Field(0.8, ge=0, description="a in sigma/pT = a/sqrt(pT) (+) b")
    jet_constant: float = Field(0.05, ge=0, description="b")
    jet_angle: float = Field(0.02, ge=0, description="sigma of jet eta and phi")
    higgs_pt: float = Field(0.02, ge=0, description="relative pT resolution of the H candidate")
    higgs_angle: float = Field(0.005, ge=0, description="sigma of H eta and phi")


class VBFConfig(Config):
    """p p -> H j j (WW and ZZ fusion) with PYTHIA 8, jets, cuts and detector."""

    ecm: PositiveFloat = Field(13000.0, description="proton-proton energy in GeV")
    m_h: float = Field(125.0, gt=0, le=1000, description="Higgs mass in GeV")
    channels: list[str] = Field(["WW", "ZZ"], min_length=1, description="fusion channels")
    multiparton_interactions: bool = True
    hadronisation: bool = True
    jet_r: float = Field(0.4, gt=0, le=1.5)
    particle_eta_max: PositiveFloat = Field(4.9, description="calorimeter acceptance")
    jet_pt_min_truth: PositiveFloat = Field(20.0, description="GeV, jets kept before smearing")
    scale_tev: PositiveFloat = Field(1.0, description="EFT scale Lambda of c_HWtilde in TeV")
    cuts: VBFCuts = VBFCuts()
    detector: VBFDetector = VBFDetector()
    inputs: ElectroweakInputs = ElectroweakInputs()

    @model_validator(mode="after")
    def _known_channels(self) -> VBFConfig:
        check_names("channels", self.channels, CHANNELS)
        return self


def pythia_vbf_settings(config: VBFConfig, seed: int) -> list[str]:
    """PYTHIA 8 settings for VBF Higgs production with a stable Higgs."""
    settings = [
        "Beams:idA = 2212",
        "Beams:idB = 2212",
        f"Beams:eCM = {config.ecm!r}",
        *(f"{CHANNELS[c][0]} = on" for c in config.channels),
        f"25:m0 = {config.m_h!r}",
        "25:mayDecay = off",
        f"PartonLevel:MPI = {'on' if config.multiparton_interactions else 'off'}",
        f"HadronLevel:all = {'on' if config.hadronisation else 'off'}",
    ]
    return settings + seed_settings(seed)


def hard_process(prt: ak.Array) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    """Momenta (E, px, py, pz) and PDG codes of partons 1, 2 -> 3, 4 from the event records."""
    rows = prt[:, list(HARD_ROWS)]
    momenta = tuple(
        np.stack([ak.to_numpy(rows.p[name][:, k]) for name in ("e", "px", "py", "pz")], axis=1)
        for k in range(4)
    )
    pids = tuple(ak.to_numpy(rows.id[:, k]).astype(np.int64) for k in range(4))
    return momenta, pids


def sm_correction_scale(amplitudes: VBFAmplitudes) -> dict[bool, float]:
    """kappa per channel (charged: True/False): |A_SM|^2 / |M_PYTHIA|^2 at a quark-quark
    configuration, where the two agree exactly (up to this constant)."""
    p1 = np.array([[500.0, 0, 0, 500.0]])
    p2 = np.array([[400.0, 0, 0, -400.0]])
    p3 = np.array([[300.0, 40.0, -30.0, 300.0 * 0.9]])
    p3[0, 0] = np.linalg.norm(p3[0, 1:])
    p4 = np.array([[250.0, -35.0, 20.0, -240.0]])
    p4[0, 0] = np.linalg.norm(p4[0, 1:])
    out = {}
    for charged, pids in ((True, (2, 1, 1, 2)), (False, (2, 1, 2, 1))):
        ids = tuple(np.array([i]) for i in pids)
        exact = amplitudes.squared((p1, p2, p3, p4), ids)["sm"]
        out[charged] = float(exact[0] / pythia_matrix_element((p1, p2, p3, p4), ids)[0])
    return out


def _four_vectors(pt, eta, phi, mass) -> np.ndarray:
    """(..., 4) array (E, px, py, pz) from pT, eta, phi and mass."""
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    energy = np.sqrt(px**2 + py**2 + pz**2 + mass**2)
    return np.stack([energy, px, py, pz], axis=-1)


def _jets(prt: ak.Array, config: VBFConfig) -> ak.Array:
    """Anti-kt jets (pt, eta, phi, mass) of the visible final state without the Higgs, the
    ``N_JETS_KEPT`` hardest above ``jet_pt_min_truth`` per event, sorted by pT."""
    import fastjet
    import fastjet._swig

    # No banner from every Dask worker; the obsforge command prints it once per run.
    fastjet._swig.ClusterSequence.set_fastjet_banner_stream(None)

    final = prt[prt.status > 0]
    keep = final.id != 25
    for pid in NEUTRINOS:
        keep = keep & (abs(final.id) != pid)
    final = final[keep]
    p = final.p
    pt = np.hypot(p.px, p.py)
    eta = np.arcsinh(p.pz / np.maximum(pt, 1e-12))
    final = final[np.abs(eta) < config.particle_eta_max]
    vectors = ak.zip(
        {
            "px": final.p.px,
            "py": final.p.py,
            "pz": final.p.pz,
            "E": final.p.e,
        }
    )
    definition = fastjet.JetDefinition(fastjet.antikt_algorithm, config.jet_r)
    jets = fastjet.ClusterSequence(vectors, definition).inclusive_jets(config.jet_pt_min_truth)
    pt = np.hypot(jets.px, jets.py)
    order = ak.argsort(pt, axis=1, ascending=False)[:, :N_JETS_KEPT]
    jets, pt = jets[order], pt[order]
    mass2 = jets.E**2 - jets.px**2 - jets.py**2 - jets.pz**2
    return ak.zip(
        {
            "pt": pt,
            "eta": np.arcsinh(jets.pz / pt),
            "phi": np.arctan2(jets.py, jets.px),
            "mass": np.sqrt(np.maximum(mass2, 0.0)),
        }
    )


def _smear_jets(jets: ak.Array, detector: VBFDetector, rng) -> dict[str, np.ndarray]:
    """Pad to ``N_JETS_KEPT`` jets (missing: pT = 0), smear, re-sort by reco pT."""
    fields = {}
    for name in ("pt", "eta", "phi", "mass"):
        padded = ak.fill_none(ak.pad_none(jets[name], N_JETS_KEPT, clip=True), 0.0)
        fields[name] = ak.to_numpy(padded).astype(np.float64)
    pt = fields["pt"]
    stochastic = detector.jet_stochastic / np.sqrt(np.maximum(pt, 1.0))
    resolution = np.hypot(stochastic, detector.jet_constant)
    pt = pt * np.clip(1.0 + resolution * rng.standard_normal(pt.shape), 0.0, None)
    eta = fields["eta"] + detector.jet_angle * rng.standard_normal(pt.shape)
    phi = fields["phi"] + detector.jet_angle * rng.standard_normal(pt.shape)
    order = np.argsort(-pt, axis=1)
    take = lambda a: np.take_along_axis(a, order, axis=1)  # noqa: E731
    return {"pt": take(pt), "eta": take(eta), "phi": take(phi), "mass": take(fields["mass"])}


def _selection(jets: dict[str, np.ndarray], cuts: VBFCuts) -> np.ndarray:
    pt, eta = jets["pt"][:, :2], jets["eta"][:, :2]
    p = _four_vectors(pt, eta, jets["phi"][:, :2], jets["mass"][:, :2]).sum(axis=1)
    mjj = np.sqrt(np.maximum(p[:, 0] ** 2 - np.sum(p[:, 1:] ** 2, axis=1), 0.0))
    passed = (pt > cuts.jet_pt_min).all(axis=1) & (np.abs(eta) < cuts.jet_eta_max).all(axis=1)
    passed &= (mjj > cuts.mjj_min) & (np.abs(eta[:, 0] - eta[:, 1]) > cuts.deta_min)
    if cuts.opposite_hemispheres:
        passed &= eta[:, 0] * eta[:, 1] < 0
    return passed


def generate_vbf(config: VBFConfig, n_events: int, seed: int) -> dict[str, Any]:
    """Generate ``n_events`` VBF Higgs events; return the selected ones.

    Returns a dict of arrays over selected events: ``jets`` (B, 2, 4) and ``higgs`` (B, 4) as
    (pT, eta, phi, mass) at reco level, ``r1``, ``r2``, ``sm_correction``, ``charged``
    (WW fusion), and the bookkeeping scalars ``n_generated``, ``sigma_pb`` (PYTHIA's total
    for the chosen channels), ``sigma_by_code_pb`` and ``sm_correction_mean_all`` (the mean
    correction over all generated events: exact / PYTHIA cross section).
    """
    batch, info = run_pythia(pythia_vbf_settings(config, seed), n_events)
    prt = batch.prt
    momenta, pids = hard_process(prt)
    amplitudes = VBFAmplitudes(config.inputs, config.scale_tev)
    parts = amplitudes.squared(momenta, pids)
    charged = pids[0] != pids[2]
    kappa = sm_correction_scale(amplitudes)
    pythia_me = pythia_matrix_element(momenta, pids, config.inputs)
    correction = parts["sm"] / (np.where(charged, kappa[True], kappa[False]) * pythia_me)

    rng = np.random.default_rng(np.random.SeedSequence([seed, 7]))
    jets = _smear_jets(_jets(prt, config), config.detector, rng)
    higgs = prt[:, HIGGS_ROW].p
    h_px, h_py, h_pz = (ak.to_numpy(higgs[k]) for k in ("px", "py", "pz"))
    h_pt = np.hypot(h_px, h_py)
    det = config.detector
    higgs_reco = np.stack(
        [
            h_pt * np.clip(1 + det.higgs_pt * rng.standard_normal(len(h_pt)), 0.0, None),
            np.arcsinh(h_pz / h_pt) + det.higgs_angle * rng.standard_normal(len(h_pt)),
            np.arctan2(h_py, h_px) + det.higgs_angle * rng.standard_normal(len(h_pt)),
            np.full(len(h_pt), config.m_h),
        ],
        axis=1,
    )
    selected = _selection(jets, config.cuts)
    jet_array = np.stack([jets[k][:, :2] for k in ("pt", "eta", "phi", "mass")], axis=2)
    return {
        "jets": jet_array[selected],
        "higgs": higgs_reco[selected],
        "r1": parts["interference"][selected] / parts["sm"][selected],
        "r2": parts["odd2"][selected] / parts["sm"][selected],
        "sm_correction": correction[selected],
        "charged": charged[selected],
        "n_generated": n_events,
        "sigma_pb": info["sigma_pb"],
        "sigma_by_code_pb": info["sigma_by_code_pb"],
        "sm_correction_mean_all": {
            "WW": float(correction[charged].mean()) if charged.any() else float("nan"),
            "ZZ": float(correction[~charged].mean()) if (~charged).any() else float("nan"),
        },
    }


def event_weights(events: dict[str, np.ndarray], c: float) -> np.ndarray:
    """w(c) = w_SM (1 + c R1 + c^2 R2) per event (w_SM: PYTHIA -> exact LO SM correction)."""
    return events["sm_correction"] * (1.0 + c * events["r1"] + c**2 * events["r2"])


def expected_events(
    sm_correction: np.ndarray,
    n_generated: int,
    sigma_pythia_pb: float,
    luminosity_fb: float,
    branching_ratio: float,
) -> float:
    """Expected SM events after the selection: L x BR x sigma_PYTHIA x (the selected events'
    exact-over-PYTHIA weights summed, per generated event)."""
    return (
        luminosity_fb * 1e3 * branching_ratio * sigma_pythia_pb * sm_correction.sum() / n_generated
    )


def fusion_ratio(
    sigma_by_code_pb: dict[str, float], correction: dict[str, float]
) -> dict[str, float]:
    """sigma(ZZ fusion) / sigma(WW fusion), PYTHIA's (process codes 906, 907) and with the exact
    LO matrix element (PYTHIA's times the mean exact/PYTHIA weight of each channel); empty if
    either process is missing."""
    if "906" not in sigma_by_code_pb or "907" not in sigma_by_code_pb:
        return {}
    pythia = sigma_by_code_pb["906"] / sigma_by_code_pb["907"]
    return {
        "zz_over_ww_pythia": pythia,
        "zz_over_ww_exact": pythia * correction["ZZ"] / correction["WW"],
        "exact_over_pythia_ww": correction["WW"],
        "exact_over_pythia_zz": correction["ZZ"],
    }
