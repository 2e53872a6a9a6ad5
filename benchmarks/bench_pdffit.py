"""Replica fits: all replicas in one batched model vs one replica at a time.

Same data (every dataset of pdffit.data with its shipped FK table), same epochs: time per
epoch of one batched model of R replicas, against R times the time per epoch of a single-
replica model (what fitting replicas one by one costs). Also the projected time of a full
100-replica fit at ``--epochs`` epochs. Result: benchmarks/results/pdffit.json.

With ``--drell-yan``: the cost of the Drell-Yan sets of the pdffit-dy runcard, the time per
epoch of one batched model with the DIS sets alone and with DIS + Drell-Yan, and of the
Drell-Yan bilinear forms alone (forward and backward). Result: results/pdffit_dy.json.

    python benchmarks/bench_pdffit.py [--replicas 100] [--epochs 60]
    python benchmarks/bench_pdffit.py --drell-yan --replicas 100 --epochs 60
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from obsforge.atomic import atomic_write_json
from obsforge.pdffit.data import DATASETS, apply_cuts, load_dataset
from obsforge.pdffit.fit import fit_replicas, prepare_fit_data
from obsforge.pdffit.fktables import load_fk_table

RESULTS = Path(__file__).parent / "results"


def seconds_per_epoch(datasets, tables, replicas: int, epochs: int) -> float:
    data = prepare_fit_data(datasets, tables, replicas, seed=1)
    start = time.perf_counter()
    fit_replicas(data, replicas, seed=1, max_epochs=epochs, patience=10 * epochs)
    return (time.perf_counter() - start) / epochs


def dask_seconds_per_epoch(datasets, tables, replicas: int, epochs: int, workers: int) -> float:
    """The same replicas in ``workers`` batches, one single-threaded Dask worker each (the
    stage's ``batch_replicas`` path: every worker builds its own batch's fit data)."""
    from obsforge.config import validate_config
    from obsforge.parallel import Execution
    from obsforge.pdf_fit import PDFRunCard, replica_fitter

    card = validate_config(
        PDFRunCard,
        {"datasets": [d.name for d in datasets], "replicas": replicas, "seed": 1,
         "batch_replicas": -(-replicas // workers), "max_epochs": epochs,
         "patience": 10 * epochs},
    )  # fmt: skip
    recipe = {"datasets": datasets, "tables": tables, "replicas": replicas, "seed": 1}
    data = prepare_fit_data(**recipe)
    start = time.perf_counter()
    replica_fitter(card, Execution(workers=workers))(data, recipe)
    return (time.perf_counter() - start) / epochs


def drell_yan(replicas: int, epochs: int) -> dict:
    """Seconds per epoch, DIS alone vs DIS + Drell-Yan (pdffit-dy), and the Drell-Yan forms."""
    from obsforge.config_files import load_config
    from obsforge.pdffit.data import DATASETS as DIS
    from obsforge.pdffit.runcard import PDFRunCard, load_data

    card = load_config(PDFRunCard, "pdffit-dy", [])
    datasets, tables = load_data(card)
    dis = [i for i, d in enumerate(datasets) if d.name in DIS]
    alone = seconds_per_epoch([datasets[i] for i in dis], [tables[i] for i in dis], replicas,
                              epochs)  # fmt: skip
    both = seconds_per_epoch(datasets, tables, replicas, epochs)
    kernels = [t.kernel() for i, t in enumerate(tables) if i not in dis]
    f = torch.rand(replicas, len(tables[0].x), 8, dtype=torch.float64, requires_grad=True)
    start = time.perf_counter()
    for _ in range(epochs):
        sum(k(f).sum() for k in kernels).backward()
    forms = (time.perf_counter() - start) / epochs
    return {
        "replicas": replicas,
        "points_dis": sum(len(datasets[i]) for i in dis),
        "points_dy": sum(len(d) for i, d in enumerate(datasets) if i not in dis),
        "threads": torch.get_num_threads(),
        "dis_s_per_epoch": alone,
        "dis_dy_s_per_epoch": both,
        "dy_forms_forward_backward_s": forms,
        "dis_dy_over_dis": both / alone,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--drell-yan", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(2)
    if args.drell_yan:
        result = drell_yan(args.replicas, args.epochs)
        print(result)
        atomic_write_json(RESULTS / "pdffit_dy.json", result)
        return
    names = sorted(DATASETS)
    datasets = [apply_cuts(load_dataset(n)) for n in names]
    tables = [load_fk_table(n) for n in names]
    batched = seconds_per_epoch(datasets, tables, args.replicas, args.epochs)
    single = seconds_per_epoch(datasets, tables, 1, args.epochs)
    dask = dask_seconds_per_epoch(datasets, tables, args.replicas, 10 * args.epochs, workers=2)
    result = {
        "replicas": args.replicas,
        "points": sum(len(d) for d in datasets),
        "threads": torch.get_num_threads(),
        "batched_s_per_epoch": batched,
        "single_s_per_epoch": single,
        "one_by_one_over_batched": args.replicas * single / batched,
        "dask_2_workers_s_per_epoch": dask,
        "batched_over_dask_2_workers": batched / dask,
        "batched_4000_epochs_min": 4000 * batched / 60,
    }
    print(result)
    atomic_write_json(RESULTS / "pdffit.json", result)


if __name__ == "__main__":
    main()
