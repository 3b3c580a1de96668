"""Private: ``tinyms export RUN_DIR_OR_SERVABLE --quantize int8``, an int8 servable beside the float one
(or ``--web OUT_DIR``: a static page predicting in the browser, :func:`tinyms.serving.export_web`).

The work is :func:`tinyms.serving.quantize_servable`; this module holds the command's flags and
prints what was written (file sizes, method, calibration, agreement with the float model).
"""

import os

__all__ = ["add_parser", "run"]


def add_parser(sub):
    """Add the ``export`` command to the ``tinyms`` sub-parsers ``sub``; return its parser."""
    ex = sub.add_parser("export", help="write another form of a trained model: --quantize int8 (a new, smaller "
                                       "servable beside the float one)",
                        description="Export a tinyms train run (or a servable) in another form. --quantize int8 "
                                    "writes <name>_int8 into the same serving folder, made by ONNX Runtime's "
                                    "quantization; the float servable is left as it is. --web OUT_DIR writes a folder "
                                    "whose index.html predicts in the browser, from disk or any static web server.")
    ex.add_argument("target", metavar="RUN_DIR_OR_SERVABLE", help="a tinyms train run directory, a serving folder "
                    "(holding servable.json) or one servable's folder in it")
    ex.add_argument("--quantize", choices=("int8",), default=None, help="write an int8 servable")
    ex.add_argument("--web", metavar="OUT_DIR", default=None,
                    help="write a static web page that predicts in the browser, no server: HTML, JavaScript, the "
                         "ONNX model and ONNX Runtime Web (from the npm registry, once); open OUT_DIR/index.html")
    ex.add_argument("--method", choices=("auto", "dynamic", "static"), default="auto",
                    help="auto (default): static for networks with wide convolutions, else dynamic; dynamic: dense "
                         "and recurrent layers, no calibration; static: convolutions and dense layers, calibrated")
    ex.add_argument("--format", dest="quant_format", choices=("qdq", "qoperator"), default="qdq",
                    help="static quantization's ONNX form (default qdq)")
    ex.add_argument("--calibration-data", dest="calibration_data", metavar="FOLDER", default=None,
                    help="a folder of images to calibrate with (default for a run: its training data)")
    ex.add_argument("--calibration-count", dest="calibration_count", type=int, default=None, metavar="N",
                    help="calibration images to use (default 256)")
    ex.add_argument("--servable", default=None, metavar="NAME",
                    help="which servable of the folder to export (default: the run's, or the only one)")
    ex.add_argument("--name", default=None, metavar="NAME", help="the new servable's name (default <name>_int8)")
    return ex


def run(args, say=print):
    """Run ``tinyms export`` with parsed ``args``; return the exit status."""
    from .errors import UnknownNameError

    if args.web is not None:
        if args.quantize is not None:
            raise UnknownNameError("tinyms export writes one thing at a time: give --quantize int8 or --web OUT_DIR")
        return _run_web(args, say)
    if args.quantize is None:
        raise UnknownNameError("tinyms export needs what to write: --quantize int8 or --web OUT_DIR")
    from .serving._quantize import DEFAULT_CALIBRATION_COUNT, quantize_servable

    count = DEFAULT_CALIBRATION_COUNT if args.calibration_count is None else args.calibration_count
    entry = quantize_servable(args.target, args.servable, out_name=args.name, dtype=args.quantize,
                              method=args.method, quant_format=args.quant_format,
                              calibration=args.calibration_data, calibration_count=count)
    record = entry["model"]["quantization"]
    root = _serving_root(args.target)
    size = os.path.getsize(os.path.join(root, entry["name"], entry["model"]["files"]["onnx"]))
    calibration = record.get("calibration")
    how = f"{record['method']}" + (f" {record['format']}, calibrated on {calibration['images']}" if calibration
                                   else " (no calibration)")
    agreement = record.get("agreement")
    said = f"; same top class as the float model on {agreement:.1%} of them" if agreement is not None else ""
    say(f"int8 servable {entry['name']!r} written to {os.path.join(root, entry['name'])}: {size:,} bytes, "
        f"{record['size_ratio']:.2f}x the float ONNX model; {how}{said}")
    say(f"serve it: tinyms serve {root}")
    return 0


def _run_web(args, say):
    """``tinyms export ... --web OUT_DIR``: the page, what it holds and how to open it."""
    from .serving import export_web

    result = export_web(args.target, args.web, [args.servable] if args.servable else None,
                        progress=os.isatty(2))
    for name, reason in result["skipped"].items():
        say(f"skipped {name}: {reason}")
    say(f"web page written to {result['path']} ({', '.join(result['servables'])}; {result['bytes'] / 1e6:.1f} MB "
        f"with ONNX Runtime Web {result['onnxruntime_web']}): open {os.path.join(result['path'], 'index.html')} in a "
        "browser, or put the folder on any static web server")
    return 0


def _serving_root(target):
    from .serving._config import SERVABLE_FILE

    path = os.path.abspath(os.path.expanduser(target))
    if os.path.isfile(os.path.join(path, "servable", SERVABLE_FILE)) and \
            not os.path.isfile(os.path.join(path, SERVABLE_FILE)):
        return os.path.join(path, "servable")
    if os.path.isfile(os.path.join(path, SERVABLE_FILE)):
        return path
    return os.path.dirname(path)
