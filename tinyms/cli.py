"""The ``tinyms`` command line.

Commands:
    tinyms quickstart [--data DIR] [--epochs N] [--out DIR]
    tinyms serve [PATH] [--host HOST] [--port PORT] [--workers N]   (--port 0: any free port)
    tinyms download NAME [--dir DIR] [--mirror URL]
    tinyms models

Errors TinyMS raises on purpose are printed as one line (``error: ...``) with exit status 1.
"""

import argparse
import sys

__all__ = ["main"]


def _build_parser():
    parser = argparse.ArgumentParser(prog="tinyms", description="TinyMS: data to trained model to HTTP service.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    qs = sub.add_parser("quickstart", help="train LeNet5 on MNIST, evaluate, save, reload and predict")
    qs.add_argument("--data", metavar="DIR", help="folder with the MNIST files (.gz or not); "
                    "default: download, or the bundled sample when offline")
    qs.add_argument("--epochs", type=_positive_int, default=None, metavar="N",
                    help="training epochs (default: 60,000 images' worth: 1 on full MNIST, 10 on the sample)")
    qs.add_argument("--out", metavar="DIR", help="serving folder to write the model to "
                    "(default: the serving path under TINYMS_HOME)")
    qs.add_argument("--quiet", action="store_true", help="no progress bar")

    serve = sub.add_parser("serve", help="serve the models of a serving folder over HTTP (foreground)")
    serve.add_argument("path", nargs="?", default=None, help="serving folder (default: under TINYMS_HOME)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=_port, default=5000, help="port (default 5000; 0 picks a free one)")
    serve.add_argument("--workers", type=_positive_int, default=1, help="worker processes per model (default 1)")

    dl = sub.add_parser("download", help="download a dataset into the TinyMS cache (or --dir)")
    dl.add_argument("name", help="dataset name, e.g. mnist")
    dl.add_argument("--dir", default=None, help="destination folder")
    dl.add_argument("--mirror", default=None, help="base URL replacing the official hosts")

    sub.add_parser("models", help="list the model zoo")
    return parser


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _port(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a port is from 0 (any free port) to 65535, got {value}")
    return value


def main(argv=None):
    """Run the command line; return the process exit status."""
    args = _build_parser().parse_args(argv)
    from .errors import TinyMSError
    try:
        if args.command == "quickstart":
            from . import _quickstart
            _quickstart.run(data=args.data, epochs=args.epochs, out=args.out, verbose=0 if args.quiet else 1)
        elif args.command == "serve":
            from .serving import run_server
            run_server(args.path, host=args.host, port=args.port, workers=args.workers)
        elif args.command == "download":
            from .data import download_dataset
            print(download_dataset(args.name, local_path=args.dir, mirror=args.mirror))
        elif args.command == "models":
            from .model import list_models, model_config
            for name in list_models():
                cfg = model_config(name)
                print(f"{name}\tinput {cfg.input_shape}\t{len(cfg.labels)} classes\tdataset {cfg.dataset}")
    except (TinyMSError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
