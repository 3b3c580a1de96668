"""The Task and Evaluator interfaces every task implements."""

__all__ = ["Task", "Evaluator"]


class Evaluator:
    """Counts one evaluation pass of a model: ``update`` once per batch, then ``results``.

    Args:
        model (Model): the model being evaluated.
    """

    def __init__(self, model):
        self.model = model
        self.samples = 0

    def first(self, batch):
        """Check the first batch (raise DatasetError / InputShapeError naming the problem)."""

    def update(self, batch):
        """Evaluate one batch; return what callbacks see as ``net_outputs``."""
        raise NotImplementedError

    def results(self):
        """``{name: value}`` over every sample seen."""
        raise NotImplementedError


class Task:
    """What a kind of network does, as the rest of TinyMS needs to know it.

    Attributes:
        name (str): the registry name (``"classification"``...), as model configs name it.
        columns (tuple): the batch's columns in order; the first ``inputs`` feed the network, the
            rest are the loss's targets.
        inputs (int): how many leading columns feed the network.
        output (str): what a prediction is (``"classes"``, ``"boxes"``...); serving and the page
            show a prediction by it.
        default_loss (str): the loss ``tinyms train`` compiles (None: the network's own loss).
        default_metrics (tuple): the metrics ``tinyms train`` compiles.
        monitor (str): the validation result ``tinyms train`` keeps the best checkpoint by.
    """

    name = ""
    columns = ()
    inputs = 1
    output = ""
    default_loss = None
    default_metrics = ()
    monitor = "val_loss"

    def needs_loss(self, model):
        """True when training needs ``compile(loss_fn=...)``."""
        return True

    def loss_network(self, model):
        """The Cell computing the loss from a batch's columns, in order."""
        raise NotImplementedError

    def check_first_batch(self, model, batch, dataset_what, data_what):
        """Check a dataset's first batch; return a note when only the image size differs from the config."""
        raise NotImplementedError

    def step_function(self, model, train_net, batch):
        """The function running one compiled step on a batch (casting columns where needed)."""
        return train_net

    def label_check(self, model, batch, always=False):
        """A function raising DatasetError for a batch whose targets the network cannot take."""
        return lambda *targets: None

    def evaluator(self, model, confusion=False, report=False):
        """An :class:`Evaluator` for one pass of ``model.eval``."""
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r}, columns={self.columns})"
