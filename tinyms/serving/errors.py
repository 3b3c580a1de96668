"""Typed errors of TinyMS serving.

Every class derives from :class:`tinyms.errors.TinyMSError` and from the built-in exception a
Python user would naturally catch (``ConnectionError``, ``ValueError``, ``OSError``...).
Messages say what went wrong and what to do about it.
"""

from ..errors import TinyMSError

__all__ = [
    "ServingError",
    "ServableConfigError",
    "MindSporeRequiredError",
    "ServerStartError",
    "PortInUseError",
    "ServerNotRunning",
    "ClientError",
    "ServerError",
    "UnseenValueWarning",
]


class ServingError(TinyMSError, RuntimeError):
    """Base class of every error raised by ``tinyms.serving``."""


class ServableConfigError(ServingError, ValueError):
    """A serving directory, its ``servable.json`` or a servable's weights are missing or invalid.

    Fix: write the servable again with ``write_servable`` (or ``tinyms train``), which writes
    ``servable.json`` and its weights together; the message names the field at fault.
    """


class MindSporeRequiredError(ServableConfigError):
    """A servable has only MindSpore weights (checkpoint or MindIR) and MindSpore is not installed.

    The TinyMS runtime (``tinyms-runtime``, no MindSpore) serves ONNX models; the message names
    the export that gives the servable one.

    Fix: write the servable with an ONNX model (``write_servable(..., formats=("onnx",))``), or
    install the full TinyMS.
    """


class ServerStartError(ServingError):
    """The server process could not start or did not become ready (the message points at its log).

    Fix: read the server log the message points at; it names the servable or setting that failed.
    """


class PortInUseError(ServerStartError, OSError):
    """The host/port the server should listen on is already taken by another process.

    Fix: stop the other process, or choose another port (``--port 0`` picks a free one).
    """


class ServerNotRunning(ServingError, ConnectionError):
    """Nothing answers at the server's address, or no server was started by this process.

    Fix: start the server (``tinyms serve`` or ``start_server()``), or check the host and port.
    """


class _HTTPStatusError(ServingError):
    """An HTTP answer with an error status.

    Attributes:
        status (int): the HTTP status code.
        message (str): the server's explanation (the ``error`` field of its JSON body).
        url (str): the URL that was requested.
    """

    def __init__(self, status, message, url=""):
        self.status = int(status)
        self.message = str(message)
        self.url = url
        where = f" from {url}" if url else ""
        super().__init__(f"HTTP {self.status}{where}: {self.message}")


class ClientError(_HTTPStatusError, ValueError):
    """The server rejected the request (HTTP 4xx): bad input, unknown servable, too large...

    Fix: change the request as ``.message`` says (input, servable name, size).

    Attributes:
        status (int): the HTTP status code, e.g. 400, 404, 413.
        message (str): the server's explanation of what is wrong with the request.
        url (str): the URL that was requested.
    """


class ServerError(_HTTPStatusError):
    """The server failed to answer a valid request (HTTP 5xx, or no answer in time).

    Fix: retry; a 503 means the model is not ready or is being restarted (``GET /v2/health/ready``
    names it), a 504 that it did not answer within ``request_timeout``.

    Attributes:
        status (int): the HTTP status code (504 when the client gave up waiting).
        message (str): the server's explanation.
        url (str): the URL that was requested.
    """


class UnseenValueWarning(UserWarning):
    """A tabular servable read a categorical value never seen in training as the unknown value.

    The answer is still given (the feature spec encodes such a value as the column's
    out-of-vocabulary id, as training did for rare values); the warning names the row, the column
    and the value, so that a typo ("Lyonn") does not go unnoticed.
    """
