"""Semileptonic W-pair reconstruction at a lepton collider: e+e- -> W+W- -> l nu q q'.

From the visible final state (hadron level, e.g. PYTHIA 8):

1. particles inside the detector, |cos theta| < ``acceptance`` (the ISR photons go down the
   beam pipe);
2. isolated leptons: e or mu with E > ``lepton_energy_min`` and less than
   ``isolation_fraction`` x E_l of other energy within ``isolation_cone`` radians;
3. the rest clustered into exactly two jets with the Durham algorithm (FastJet's
   ``ee_kt_algorithm``, exclusive),

    y_ij = 2 min(E_i^2, E_j^2) (1 - cos theta_ij) / E_vis^2

   (Catani, Dokshitzer, Olsson, Turnock, Webber, Phys. Lett. B269 (1991) 432);
4. lepton and jets smeared by the detector (:class:`obsforge.observables.sally.DetectorConfig`),
   the neutrino taken as the missing three-momentum;
5. the selection: exactly one isolated lepton, lepton and jets in the central detector, the
   missing momentum away from the beam, m_jj and m_l nu in the W window.

Parton-level events (quarks as jets) enter at step 4 through the same functions, so the signal
of the analytic generator and the PYTHIA backgrounds see one detector and one selection.
Objects are dicts of arrays: ``charge`` (B,), ``lepton`` (B, 4), ``jets`` (B, 2, 4), ``ok``
(B,) bool (exactly one isolated lepton and two jets found); momenta (E, px, py, pz) in GeV.
"""

from __future__ import annotations

import warnings

import awkward as ak
import numpy as np
from pydantic import Field, model_validator

from obsforge.config import Config

__all__ = [
    "SelectionConfig",
    "cut_flow",
    "hadron_objects",
    "invariant_mass",
    "object_features",
    "parton_objects",
    "selected",
    "smear_objects",
]

LEPTONS = (11, 13)


class SelectionConfig(Config):
    """The semileptonic selection (step 5) and the object definitions (steps 1-3)."""

    acceptance: float = Field(0.99, gt=0, le=1, description="|cos theta| of visible particles")
    lepton_energy_min: float = Field(15.0, ge=0, description="GeV")
    isolation_cone: float = Field(0.2, gt=0, lt=3.14, description="half-angle, rad")
    isolation_fraction: float = Field(0.2, ge=0, description="cone energy / lepton energy")
    central: float = Field(0.95, gt=0, le=1, description="|cos theta| of lepton and jets")
    missing_cos_max: float = Field(0.95, gt=0, le=1, description="|cos theta| of p_miss")
    missing_min: float = Field(10.0, ge=0, description="|p_miss| in GeV")
    m_jj: tuple[float, float] = Field((60.0, 100.0), description="GeV")
    m_lnu: tuple[float, float] = Field((60.0, 100.0), description="GeV")

    @model_validator(mode="after")
    def _ordered_windows(self) -> SelectionConfig:
        for name in ("m_jj", "m_lnu"):
            low, high = getattr(self, name)
            if not 0 <= low < high:
                raise ValueError(f"{name} = {[low, high]}: need 0 <= low < high (GeV)")
        return self


def invariant_mass(p: np.ndarray) -> np.ndarray:
    """sqrt(max(E^2 - |p|^2, 0)) of four-momenta (..., 4)."""
    m_sq = p[..., 0] ** 2 - (p[..., 1:] ** 2).sum(-1)
    return np.sqrt(np.maximum(m_sq, 0.0))


def _four(particles: ak.Array) -> np.ndarray:
    return np.stack(
        [np.asarray(particles[k], dtype=np.float64) for k in ("E", "px", "py", "pz")], -1
    )


def _cos_theta(px, py, pz):
    return pz / np.sqrt(px**2 + py**2 + pz**2 + 1e-300)


def hadron_objects(particles: ak.Array, selection: SelectionConfig) -> dict[str, np.ndarray]:
    """Steps 1-3 on a visible final state ``[event][particle]`` (fields px, py, pz, E, pid):
    the hardest isolated lepton, its charge, the Durham 2-jet momenta of everything else, and
    ``n_isolated`` (B,), the number of isolated leptons. ``ok`` requires exactly one and at
    least two particles left to cluster."""
    import fastjet

    from obsforge.observables.jets import quiet_fastjet

    inside = abs(_cos_theta(particles.px, particles.py, particles.pz)) < selection.acceptance
    particles = particles[inside]
    candidate = ((abs(particles.pid) == LEPTONS[0]) | (abs(particles.pid) == LEPTONS[1])) & (
        particles.E > selection.lepton_energy_min
    )
    index = ak.local_index(particles.E)
    leptons = particles[candidate]
    pairs = ak.cartesian([leptons, particles], nested=True)
    lep, other = ak.unzip(pairs)
    dot = lep.px * other.px + lep.py * other.py + lep.pz * other.pz
    norm = np.sqrt((lep.px**2 + lep.py**2 + lep.pz**2) * (other.px**2 + other.py**2 + other.pz**2))
    near = dot > np.cos(selection.isolation_cone) * norm
    cone = ak.sum(other.E * near, axis=-1) - leptons.E  # the lepton itself is in its cone
    isolated = cone < selection.isolation_fraction * leptons.E
    iso_index = index[candidate][isolated]
    iso_energy = leptons.E[isolated]
    n_isolated = np.asarray(ak.num(iso_index), dtype=np.int64)
    best = ak.firsts(iso_index[ak.argmax(iso_energy, axis=-1, keepdims=True)])
    best = ak.fill_none(best, -1)
    is_lepton = index == best
    rest = particles[~is_lepton]
    ok = (n_isolated == 1) & (np.asarray(ak.num(rest)) >= 2)
    n = len(particles)
    lepton = np.zeros((n, 4))
    charge = np.zeros(n)
    jets = np.zeros((n, 2, 4))
    if ok.any():
        chosen = particles[is_lepton][ok]
        lepton[ok] = _four(ak.firsts(chosen))
        charge[ok] = -np.sign(np.asarray(ak.firsts(chosen.pid), dtype=np.float64))
        quiet_fastjet()
        momenta = ak.zip(
            {k: ak.values_astype(rest[ok][k], np.float64) for k in ("px", "py", "pz", "E")}
        )
        # Durham takes no radius: the full constructor with nparameters = 0 (R is ignored)
        durham = fastjet.JetDefinition(
            fastjet.ee_kt_algorithm, 1.0, fastjet.E_scheme, fastjet.Best, 0
        )
        sequence = fastjet.ClusterSequence(momenta, durham)
        with warnings.catch_warnings():  # FastJet's caution on dcut for ee_kt: we use n_jets
            warnings.filterwarnings("ignore", "dcut and exclusive jets", UserWarning)
            dijets = sequence.exclusive_jets(n_jets=2)
        jets[ok] = np.stack([_four(dijets[:, i]) for i in range(2)], axis=1)
    return {"charge": charge, "lepton": lepton, "jets": jets, "ok": ok, "n_isolated": n_isolated}


def parton_objects(events: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The objects of an analytic l nu q q' event (``f1, fbar2, f3, fbar4``): half of the events
    (even index) read as W- -> l- nubar, W+ -> q qbar', half as the charge conjugate, as in
    :func:`obsforge.observables.sally.reco_features`; the quarks are the jets."""
    n = len(events["f1"])
    negative = np.arange(n) % 2 == 0
    lepton = np.where(negative[:, None], events["f1"], events["fbar4"])
    quark_a = np.where(negative[:, None], events["f3"], events["f1"])
    quark_b = np.where(negative[:, None], events["fbar4"], events["fbar2"])
    return {
        "charge": np.where(negative, -1.0, 1.0),
        "lepton": lepton,
        "jets": np.stack([quark_a, quark_b], axis=1),
        "ok": np.ones(n, dtype=bool),
        "n_isolated": np.ones(n, dtype=np.int64),
    }


def smear(p: np.ndarray, sigma_e: np.ndarray, sigma_angle: float, rng) -> np.ndarray:
    """Momenta (B, 4) scaled by (1 + sigma_e N) (mass / energy kept), the direction tilted by
    sigma_angle in two random transverse directions."""
    scale = np.clip(1 + sigma_e * rng.standard_normal(len(p)), 0.05, None)
    size = np.linalg.norm(p[:, 1:], axis=1, keepdims=True)
    n = p[:, 1:] / np.maximum(size, 1e-300)
    n = n + sigma_angle * rng.standard_normal(n.shape)
    n /= np.linalg.norm(n, axis=1, keepdims=True)
    return np.concatenate([(p[:, 0] * scale)[:, None], (size[:, 0] * scale)[:, None] * n], axis=1)


def smear_objects(objects: dict[str, np.ndarray], detector) -> dict[str, np.ndarray]:
    """Step 4: the lepton and both jets smeared with ``detector`` (a
    :class:`obsforge.observables.sally.DetectorConfig`; its seed fixes the draws); jets
    sigma_E / E = a / sqrt(E) (+) b. Returns new objects."""
    rng = np.random.default_rng(detector.seed)
    lepton = objects["lepton"]
    n = len(lepton)
    out = dict(objects)
    out["lepton"] = smear(
        lepton, np.full(n, detector.lepton_resolution), detector.lepton_angle, rng
    )
    jets = []
    for i in range(2):
        jet = objects["jets"][:, i]
        energy = np.maximum(jet[:, 0], 1e-3)
        sigma = np.hypot(detector.jet_stochastic / np.sqrt(energy), detector.jet_constant)
        jets.append(smear(jet, sigma, detector.jet_angle, rng))
    out["jets"] = np.stack(jets, axis=1)
    return out


def _helicity_angles(daughter: np.ndarray, parent: np.ndarray) -> tuple[np.ndarray, ...]:
    """(cos theta, cos phi, sin phi) of a daughter in the parent's rest frame: z along the parent,
    x in the plane of the parent and the e- beam (+z), pointing away from the beam (the
    convention of :func:`obsforge.events.ww.ww_kinematics`)."""
    n = parent[:, 1:] / np.linalg.norm(parent[:, 1:], axis=1, keepdims=True)
    beta = np.linalg.norm(parent[:, 1:], axis=1) / parent[:, 0]
    gamma = 1 / np.sqrt(1 - np.minimum(beta, 1 - 1e-12) ** 2)
    along = np.einsum("bi,bi->b", daughter[:, 1:], n)
    rest = daughter[:, 1:] + ((gamma - 1) * along - gamma * beta * daughter[:, 0])[:, None] * n
    beam = np.array([0.0, 0.0, 1.0])
    x = n[:, 2:3] * n - beam[None]
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    y = np.cross(n, x)
    size = np.linalg.norm(rest, axis=1) + 1e-300
    cos_t = np.einsum("bi,bi->b", rest, n) / size
    phi = np.arctan2(np.einsum("bi,bi->b", rest, y), np.einsum("bi,bi->b", rest, x))
    return cos_t, np.cos(phi), np.sin(phi)


def object_features(objects: dict[str, np.ndarray]) -> np.ndarray:
    """Reco-level features (B, 23): lepton charge, lepton (E, p), the two jets ordered by
    energy (E, p each), the missing momentum (p); and, as physics-informed inputs, cos Theta
    of the W- (from the leptonic W and the charge), the lepton's helicity angles in its W's
    frame (cos theta, cos phi, sin phi), and the leading jet's folded ones (|cos theta|,
    cos 2 phi, sin 2 phi: quark and antiquark are not told apart)."""
    lepton, jets = objects["lepton"], objects["jets"]
    swap = jets[:, 1, 0] > jets[:, 0, 0]
    lead = np.where(swap[:, None], jets[:, 1], jets[:, 0])
    sub = np.where(swap[:, None], jets[:, 0], jets[:, 1])
    missing = _missing(objects)
    negative = objects["charge"] < 0
    neutrino = np.concatenate([np.linalg.norm(missing, axis=1, keepdims=True), missing], axis=1)
    leptonic = lepton + neutrino
    hadronic = lead + sub
    w_minus = np.where(negative[:, None], leptonic, hadronic)
    cos_big = w_minus[:, 3] / np.linalg.norm(w_minus[:, 1:], axis=1)
    lepton_angles = _helicity_angles(lepton, leptonic)
    jet_cos, jet_c, jet_s = _helicity_angles(lead, hadronic)
    derived = np.stack(
        [cos_big, *lepton_angles, np.abs(jet_cos), jet_c**2 - jet_s**2, 2 * jet_c * jet_s], 1
    )
    return np.concatenate([objects["charge"][:, None], lepton, lead, sub, missing, derived], 1)


def _missing(objects: dict[str, np.ndarray]) -> np.ndarray:
    return -(objects["lepton"] + objects["jets"].sum(1))[:, 1:]


def cut_flow(objects: dict[str, np.ndarray], selection: SelectionConfig) -> dict[str, np.ndarray]:
    """Step 5, cut by cut: boolean masks (B,) in order, each including the ones before."""
    lepton, jets = objects["lepton"], objects["jets"]
    missing = _missing(objects)
    p_miss = np.linalg.norm(missing, axis=1)
    neutrino = np.concatenate([p_miss[:, None], missing], axis=1)
    cos = _cos_theta(*(jets[..., k] for k in (1, 2, 3)))
    steps = {
        "one isolated lepton": objects["ok"],
        "lepton, jets central": (abs(_cos_theta(*lepton[:, 1:].T)) < selection.central)
        & (abs(cos) < selection.central).all(1),
        "missing momentum": (p_miss > selection.missing_min)
        & (abs(missing[:, 2]) < selection.missing_cos_max * np.maximum(p_miss, 1e-300)),
        "m_jj": _inside(invariant_mass(jets.sum(1)), selection.m_jj),
        "m_lnu": _inside(invariant_mass(lepton + neutrino), selection.m_lnu),
    }
    flow, passed = {}, np.ones(len(lepton), dtype=bool)
    for name, mask in steps.items():
        passed = passed & mask
        flow[name] = passed
    return flow


def _inside(x: np.ndarray, window: tuple[float, float]) -> np.ndarray:
    return (x > window[0]) & (x < window[1])


def selected(objects: dict[str, np.ndarray], selection: SelectionConfig) -> np.ndarray:
    """The events (B,) bool that pass the whole semileptonic selection."""
    return list(cut_flow(objects, selection).values())[-1]
