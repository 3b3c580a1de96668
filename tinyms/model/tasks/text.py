"""Text classification: token ids in, one class distribution out."""

from ...errors import DatasetError, InputShapeError
from .classification import ClassificationTask

__all__ = ["TextClassificationTask"]

_INTEGER = ("Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32")


def _max_length(model):
    """The longest sequence the network takes (its ``max_positions``), or None for any length."""
    return getattr(model.network, "max_positions", None)


class TextClassificationTask(ClassificationTask):
    """``(input_ids, label)`` batches: int32 token ids (N, L) padded with 0, class indices (N,).

    Everything else is classification's: the loss over the network's scores, accuracy, the
    confusion matrix, top-k labels and scores when predicting. A text network takes sequences
    of any length up to its ``max_positions`` (None: any length); ``tinyms.text`` transforms
    truncate longer texts with a warning before they get here.

    Example:
        >>> from tinyms.model.tasks import get_task
        >>> task = get_task("text_classification")
        >>> task.columns, task.output, task.default_metrics
        (('input_ids', 'label'), 'classes', ('accuracy',))
    """

    name = "text_classification"
    columns = ("input_ids", "label")
    output = "classes"

    def check_input(self, model, shape, dtype, what):
        """Raise InputShapeError unless ``shape``/``dtype`` is a batch of token ids the network takes."""
        net_name = type(model.network).__name__
        if str(dtype) not in _INTEGER:
            raise InputShapeError(
                f"{what} is {dtype}, but {net_name} takes int32 token ids of shape (N, length): turn texts into "
                f"ids with a tinyms.text transform, e.g. tinyms.text.text_transform('word', texts=train_texts)"
                f"(texts) or .apply_ds(dataset)")
        if len(shape) != 2:
            hint = " Add the batch dimension first: ids[None]." if len(shape) == 1 else ""
            raise InputShapeError(f"{net_name} takes {what} of shape (N, length), got {tuple(shape)}.{hint}")
        limit = _max_length(model)
        if limit is not None and shape[1] > limit:
            raise InputShapeError(
                f"{net_name} takes at most {limit} tokens per text, {what} has {shape[1]}: build the text "
                f"transform with max_length={limit} (longer texts are then truncated with a warning)")

    def check_first_batch(self, model, batch, dataset_what, data_what):
        if len(batch) != 2:
            raise DatasetError(f"{dataset_what} must yield (input_ids, label) pairs, but its rows have "
                               f"{len(batch)} columns: prepare text rows with a tinyms.text transform's "
                               f"apply_ds(dataset), which keeps those two columns")
        self.check_input(model, tuple(batch[0].shape), batch[0].dtype, data_what)
        return None

    def data_cast(self, dtype):
        """Token ids of another integer type run as int32."""
        import mindspore as ms  # noqa: PLC0415

        return ms.int32 if dtype != ms.int32 else None

    def label_check(self, model, batch, always=False):
        if len(batch) != 2 or str(batch[0].dtype) not in _INTEGER:
            return lambda batch: None
        return super().label_check(model, batch, always=always)
