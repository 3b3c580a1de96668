"""The ``tinyms`` command line.

Commands:
    tinyms quickstart [--task classification|detection] [--data DIR] [--epochs N] [--out DIR]
    tinyms serve [PATH] [--model UID] [--host HOST] [--port PORT] [--workers N]   (--port 0: any free port)
    tinyms predict IMAGE [--model UID] [--top 5]
    tinyms predict TEXT --run RUN_DIR [--top N]        (a run trained on text)
    tinyms predict ROWS.csv --run RUN_DIR [--out FILE] (a run trained on a table: writes ROWS_predictions.csv)
    tinyms predict IMAGE --run RUN_DIR|--servable DIR [--out PATH] [--output-size network|original]
                                                       (image_to_image: writes NAME_translated.png)
    tinyms download NAME [--dir DIR] [--mirror URL]
    tinyms models
    tinyms train [CONFIG.yaml] [--model NAME] [--data NAME_OR_FOLDER] [--epochs N] ... [--nproc N]
    tinyms train --data TABLE.csv --label COLUMN [--model deepfm|wide_deep|tabular_mlp]   (or --data criteo)
    tinyms eval RUN_DIR_OR_CHECKPOINT [--data OTHER_TEXT_DATA_OR_TABLE]
    tinyms detect INPUT|--camera N --run RUN_DIR|--servable DIR|--model NAME [--out PATH]
    tinyms export RUN_DIR_OR_SERVABLE --quantize int8 [--method auto|dynamic|static] [--calibration-data DIR]
    tinyms export RUN_DIR_OR_SERVABLE --web OUT_DIR [--servable NAME]

Errors TinyMS raises on purpose are printed as one line (``error: ...``) with exit status 1.
"""

import argparse
import os
import sys

from . import _translate_cli

__all__ = ["main"]


def _build_parser():
    parser = argparse.ArgumentParser(prog="tinyms", description="TinyMS: data to trained model to HTTP service.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    qs = sub.add_parser("quickstart", help="train LeNet5 on MNIST (or, --task detection, SSD on the bundled "
                                           "shapes sample), evaluate, save, reload and predict")
    qs.add_argument("--task", choices=("classification", "detection"), default="classification",
                    help="classification: LeNet5 on MNIST (default); detection: ssd_tiny on the "
                         "bundled shapes sample, boxes drawn on test photos, offline")
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
    serve.add_argument("--model", metavar="UID", default=None,
                       help="first add this pretrained hub model to the serving folder, e.g. lenet5_mnist "
                            "(ships with TinyMS: serves out of the box)")

    pr = sub.add_parser("predict", help="classify an image with a pretrained hub model (top-5 labels), a text "
                                        "with a run trained on text (--run), or the rows of a table with a run "
                                        "trained on a table (--run: writes ROWS_predictions.csv)")
    pr.add_argument("image", metavar="IMAGE_TEXT_OR_ROWS", help="image file (JPEG, PNG, BMP...); with --run: the "
                    "text, or for a table run a .csv/.tsv/.parquet file of rows")
    pr.add_argument("--model", metavar="UID", default=None,
                    help="hub model: resnet50 (ImageNet, default), lenet5_mnist, any name.tag of `tinyms models`")
    pr.add_argument("--run", metavar="RUN_DIR", default=None,
                    help="a tinyms train run on text (or a checkpoint inside one): classify the text given")
    pr.add_argument("--top", type=int, default=None,
                    help="how many labels to print (1 or 5 for images, default 5; text: default 1)")
    pr.add_argument("--servable", metavar="DIR", default=None,
                    help="a serving folder or one servable's folder: answer as that servable does (an "
                         "image_to_image servable writes the translated picture)")
    pr.add_argument("--out", metavar="PATH", default=None,
                    help="image_to_image: where to write the picture (a file, or a folder); default "
                         "IMAGE_NAME_translated.png next to the image. Table runs: the predictions CSV; default "
                         "ROWS_predictions.csv next to the rows")
    pr.add_argument("--output-size", choices=("network", "original"), default=None,
                    help="image_to_image: the picture at the network's size (default) or the photo's own")

    dl = sub.add_parser("download", help="download a dataset into the TinyMS cache (or --dir)")
    dl.add_argument("name", help="dataset name, e.g. mnist")
    dl.add_argument("--dir", default=None, help="destination folder")
    dl.add_argument("--mirror", default=None, help="base URL replacing the official hosts")

    models = sub.add_parser("models", help="list the model zoo: TinyMS's networks, then mindcv's")
    models.add_argument("--source", choices=("tinyms", "mindcv"), default=None,
                        help="only TinyMS's own networks, or only mindcv's")

    _add_train_parsers(sub)
    from ._detect_cli import add_parser as _add_detect_parser
    _add_detect_parser(sub)
    from ._export_cli import add_parser as _add_export_parser
    _add_export_parser(sub)
    return parser


def _add_train_parsers(sub):
    """``tinyms train`` (flags generated from the run keys, so file and flags never drift) and ``tinyms eval``."""
    from ._train_cli import KEYS

    tr = sub.add_parser("train", help="train a zoo model on a dataset; flags or a YAML file (flags win)",
                        # (argparse 3.11 repeats parts of a long generated usage line that holds nested brackets)
                        usage="%(prog)s [-h] [CONFIG] [--model MODEL] [--data DATA] [--epochs EPOCHS] "
                              "[--KEY VALUE ...] (the keys below)",
                        description="Train a zoo network on a dataset (images, documents, or a table: --data "
                                    "criteo, or --data TABLE.csv --label COLUMN) and write a run directory: "
                                    "config.yaml, history.csv, curves.png, best.ckpt, last.ckpt and a servable "
                                    "(tables: also feature_spec.json). Every flag overrides the same key of CONFIG.")
    tr.add_argument("config", nargs="?", default=None, help="YAML file of the run's keys (see examples/train/)")
    types = {"int": int, "float": float, "str": str, "path": str}
    for name, key in KEYS.items():
        flag = "--" + name.replace("_", "-")
        if key.kind == "size":
            tr.add_argument(flag, dest=name, type=int, nargs="+", metavar="PIXELS", default=None, help=key.help)
        elif key.kind == "bool":
            tr.add_argument(flag, dest=name, action="store_const", const=True, default=None, help=key.help)
        else:
            tr.add_argument(flag, dest=name, type=types[key.kind], default=None, metavar=name.upper(),
                            help=key.help + (f" (default {key.default})" if key.default is not None else ""))

    ev = sub.add_parser("eval", help="print the test metrics of a tinyms train run (or one of its checkpoints)")
    ev.add_argument("target", metavar="RUN_DIR_OR_CHECKPOINT", help="run directory (best.ckpt, else last.ckpt) "
                    "or a .ckpt file inside one")
    ev.add_argument("--data-dir", dest="data_dir", default=None, help="where the dataset's files are now")
    ev.add_argument("--batch-size", dest="batch_size", type=int, default=None, help="evaluation batch size")
    ev.add_argument("--data", dest="data", default=None, metavar="NAME_FOLDER_OR_CSV",
                    help="a run trained on text: evaluate on these documents instead of its test ones (their test "
                         "split if they have one, else every document); a run trained on a table: score every row "
                         "of this .csv/.tsv/.parquet file (it needs the label column; other columns are ignored)")
    ev.add_argument("--text-column", dest="text_column", default=None,
                    help="with --data FILE.csv: the column holding the documents (default: the run's, or text)")
    ev.add_argument("--label-column", dest="label_column", default=None,
                    help="with --data FILE.csv: the column holding the labels (default: the run's, or label)")


def _add_hub_servable(uid, path):
    """Write hub model ``uid`` (weights verified) as a servable of ``path``; return its servable name.

    A servable of that name already written from the same weights file is kept as it is.
    """
    from . import hub
    from .serving import default_serving_path, write_servable
    from .serving._config import read_entries

    cfg = hub.info(uid)
    name = cfg.uid.replace(".", "_")
    folder = path or default_serving_path()
    try:
        entries = read_entries(folder)  # bounded; a broken file is reported by write_servable below
        if any(isinstance(e, dict) and e.get("name") == name and e.get("hub_weights") == cfg.file for e in entries):
            return name
    except (OSError, ValueError):
        pass
    accuracy = f", top-1 {cfg.accuracy:.2%} on the {cfg.evaluated_on}" if cfg.accuracy is not None else ""
    write_servable(folder, name, hub.load(cfg.uid), description=f"{cfg.uid} from tinyms.hub{accuracy}",
                   formats=("onnx", "ckpt"))
    _mark_hub_weights(folder, name, cfg.file)
    return name


def _mark_hub_weights(folder, name, file):
    """Record in ``servable.json`` which hub weights file servable ``name`` was written from."""
    from ._fileio import locked, write_json_atomic
    from .serving._config import SERVABLE_FILE, read_entries

    root = os.path.abspath(os.path.expanduser(os.fspath(folder)))
    with locked(os.path.join(root, f".{SERVABLE_FILE}.lock")):
        entries = read_entries(root)
        for entry in entries:
            if isinstance(entry, dict) and entry.get("name") == name:
                entry["hub_weights"] = file
        write_json_atomic(os.path.join(root, SERVABLE_FILE), entries)


def _is_table_run(run):
    from ._train_cli import is_table_run
    return is_table_run(run)


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
    from ._text import first_sentence, has_framework_detail
    from .errors import TinyMSError
    try:
        if args.command == "quickstart" and args.task == "detection":
            if args.data is not None:
                raise FileNotFoundError("--data is for the MNIST walkthrough; the detection walkthrough trains on "
                                        "the bundled shapes sample (your own folder: tinyms train --data FOLDER)")
            from . import _quickstart_detection
            _quickstart_detection.run(epochs=args.epochs, out=args.out, verbose=0 if args.quiet else 1)
        elif args.command == "quickstart":
            from . import _quickstart
            _quickstart.run(data=args.data, epochs=args.epochs, out=args.out, verbose=0 if args.quiet else 1)
        elif args.command == "serve":
            from .serving import run_server
            if args.model:
                print(f"serving {_add_hub_servable(args.model, args.path)}", file=sys.stderr)
            run_server(args.path, host=args.host, port=args.port, workers=args.workers)
        elif args.command == "predict" and (args.servable is not None or (
                args.run is not None and _translate_cli.is_picture_run(args.run))):
            from .errors import ConfigError
            if args.model is not None or (args.run is not None and args.servable is not None):
                raise ConfigError("give one of --run RUN_DIR, --servable DIR or --model UID")
            _translate_cli.run(args.image, args.servable or args.run, args.out, args.output_size)
        elif args.command == "predict" and args.run is not None and _is_table_run(args.run):
            from . import _train_cli
            from .errors import ConfigError
            if args.model is not None or args.top is not None or args.output_size is not None:
                raise ConfigError("a table run's predictions take the rows file, --run and --out only")
            _train_cli.predict_table(args.run, args.image, args.out)
        elif args.command == "predict" and (args.out is not None or args.output_size is not None):
            from .errors import ConfigError
            raise ConfigError("--out and --output-size are for image_to_image servables (--run RUN_DIR or "
                              "--servable DIR of a CycleGAN or pix2pix model)")
        elif args.command == "predict" and args.run is not None:
            from . import _train_cli
            from .errors import ConfigError
            if args.model is not None:
                raise ConfigError("give --run RUN_DIR or --model UID, not both")
            top = args.top or 1
            if top < 1:
                raise ConfigError(f"--top must be at least 1, got {top}")
            prediction = _train_cli.predict(args.run, [args.image], top=top)[0]
            for label, score in zip(prediction.labels, prediction.scores):
                print(f"{label}\t{score:.4f}")
        elif args.command == "predict":
            from . import hub
            args.model = args.model or "resnet50"
            args.top = args.top or 5
            if args.top not in (1, 5):
                from .errors import ConfigError
                raise ConfigError(f"--top is 1 or 5 for images, got {args.top}")
            if not os.path.isfile(args.image):
                raise FileNotFoundError(f"no image file {args.image!r}; give the path of a JPEG/PNG/BMP file")
            prediction = hub.predict(args.image, args.model, top=args.top)
            print(f"{args.image}: {hub.info(args.model).uid}")
            for rank, (label, score) in enumerate(zip(prediction.labels, prediction.scores), 1):
                print(f"  {rank}. {label:<40} {score * 100:6.2f}%")
        elif args.command == "download":
            from .data import download_dataset
            print(download_dataset(args.name, local_path=args.dir, mirror=args.mirror))
        elif args.command == "train":
            from . import _train_cli
            from ._train_cli import KEYS
            flags = {name: getattr(args, name) for name in KEYS}
            if flags.get("image_size") is not None and len(flags["image_size"]) == 1:
                flags["image_size"] = flags["image_size"][0]
            return _train_cli.train(args.config, flags)
        elif args.command == "eval":
            from . import _train_cli
            _train_cli.evaluate(args.target, {"data_dir": args.data_dir, "batch_size": args.batch_size},
                                data=args.data, columns=(args.text_column, args.label_column))
        elif args.command == "detect":
            from . import _detect_cli
            return _detect_cli.run(args)
        elif args.command == "export":
            from . import _export_cli
            return _export_cli.run(args)
        elif args.command == "models":
            from .model import list_models, model_config
            from .model.registry import weights_tags
            sources = [args.source] if args.source else ["tinyms", "mindcv"]
            for name in [n for source in sources for n in list_models(source=source)]:
                cfg = model_config(name)
                tags = ",".join(weights_tags(name)) or "-"
                print(f"{name}\tinput {cfg.input_shape}\t{len(cfg.labels)} classes\tdataset {cfg.dataset}"
                      f"\tweights {tags}\t{cfg.source}")
    except (TinyMSError, FileNotFoundError) as err:
        print(f"error: {first_sentence(err) if has_framework_detail(err) else err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except ModuleNotFoundError as err:  # the TinyMS runtime (no MindSpore) has only what serving needs
        from .serving._edge import mindspore_installed
        if mindspore_installed():
            raise
        print(f"error: tinyms {args.command} needs the full TinyMS install (it uses {err.name}, which this "
              "environment lacks); this is the TinyMS runtime, which serves and predicts with ONNX servables: "
              "tinyms serve SERVING_FOLDER, tinyms.serving.Predictor", file=sys.stderr)
        return 1
    except BrokenPipeError:  # e.g. `tinyms models | head`: the reader left; not an error of ours
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # keep Python's exit flush from failing again
        return 0
    except Exception as err:  # MindSpore's own errors: their first sentence, not its C++ stack
        if not has_framework_detail(err):
            raise
        print(f"error: {type(err).__name__}: {first_sentence(err)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
