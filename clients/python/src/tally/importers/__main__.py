"""`python -m tally.importers`: imports from MLflow or TensorBoard and prints the report.

    python -m tally.importers mlflow SOURCE [--prefix P] [--text-params] [--socket PATH | --url URL] [--json]
    python -m tally.importers tensorboard LOGDIR --experiment NAME [--socket PATH | --url URL] [--json]

Exit status: 0 when the import finished, 1 when it failed (`Error: ...` on standard error, as the
`tally` command prints it), 64 for a usage error. docs/imports.md describes the output.
"""

import argparse
import json
import sys
from typing import List, NoReturn, Optional

import tally
from tally.importers._common import ImportReport


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        print(f"Error: {message}", file=sys.stderr)
        sys.exit(64)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m tally.importers",
                     description="Import experiments from MLflow or TensorBoard into Tally.")
    commands = parser.add_subparsers(dest="command", metavar="{mlflow,tensorboard}", parser_class=_Parser)
    commands.required = True
    mlflow = commands.add_parser("mlflow", help="an MLflow store: a local mlruns folder or an sqlite:/// URI")
    mlflow.add_argument("source", metavar="SOURCE", help="a local mlruns folder, an MLflow database file or a tracking URI")
    mlflow.add_argument("--prefix", default="", help="put before every experiment's name (default: none)")
    mlflow.add_argument("--text-params", action="store_true",
                        help="keep every param as text (default: text that is a bool, int or float is stored typed)")
    tensorboard = commands.add_parser("tensorboard", help="TensorBoard logs: one run per folder of event files")
    tensorboard.add_argument("logdir", metavar="LOGDIR", help="the folder holding the runs' event files")
    tensorboard.add_argument("--experiment", required=True, help="the Tally experiment (created when missing)")
    for sub in (mlflow, tensorboard):
        sub.add_argument("--socket", default=None, help="the daemon's socket (default: $TALLY_SOCKET, else the default)")
        sub.add_argument("--url", default=None,
                         help="the daemon's URL instead: unix:///PATH, tally+tls://HOST:PORT or tally+tcp://HOST:PORT "
                              "(default: $TALLY_URL; the token from $TALLY_TOKEN, a private CA from $TALLY_CA)")
        sub.add_argument("--json", action="store_true", help="print the report as JSON")
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = _parser().parse_args(argv)
    try:
        client = tally.connect(args.socket, url=args.url)
    except ValueError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 64
    try:
        report: ImportReport
        if args.command == "mlflow":
            from tally.importers.mlflow import import_mlflow

            report = import_mlflow(args.source, client=client, experiment_prefix=args.prefix,
                                   typed_params=not args.text_params)
        else:
            from tally.importers.tensorboard import import_tensorboard

            report = import_tensorboard(args.logdir, experiment=args.experiment, client=client)
    except tally.RPCError as exc:
        print(f"Error: {exc.code_name}: {exc.message}", file=sys.stderr)
        return 1
    except (ImportError, OSError) as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # the source's reader refused it (an MLflow database of another schema, ...)
        print(f"Error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        client.close()
    print(json.dumps(report.to_dict(), indent=2) if args.json else str(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
