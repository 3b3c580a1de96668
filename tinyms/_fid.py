"""Fréchet Inception Distance (FID), accumulated batch by batch (exported by :mod:`tinyms.metrics`).

Each side (real, fake) keeps only its image count, the float64 sum of its feature vectors and the
float64 sum of their outer products (shifted by the first batch's mean, which leaves the
covariance unchanged and keeps the subtraction exact enough), so memory is bounded by the feature
size D (two D x D matrices per side), never by the number of images.

The distance of two Gaussians fitted to the features is
``||mu1 - mu2||^2 + Tr(S1 + S2 - 2 sqrtm(S1 S2))`` with the unbiased covariances (``np.cov``'s).
``scipy.linalg.sqrtm`` computes the matrix square root; S1 S2 is similar to a positive
semi-definite matrix, so its square root is real in exact arithmetic and any imaginary part is
rounding: it is dropped and the largest one, relative to the largest real entry, is kept in
``FID.imaginary`` (a warning when above 1e-3, i.e. the covariances are too degenerate for the
number to mean much — use more images than feature dimensions). When sqrtm fails on singular
covariances (fewer images than D), it is retried with 1e-6 added to both diagonals
(``FID.offset``). A result below zero only by rounding (at most 1e-9 of the traces) is given as 0.
"""

import math
import warnings

import numpy as np

from .errors import InputShapeError

__all__ = ["FID", "DEFAULT_FEATURE_NETWORK", "frechet_distance"]

#: The registry name of the default feature network's weights (mindcv's Inception-v3, ImageNet).
DEFAULT_FEATURE_NETWORK = "inception_v3.imagenet"
_IMAG_WARN = 1e-3
_OFFSET = 1e-6


def frechet_distance(mu1, sigma1, mu2, sigma2):
    """The Fréchet distance of two Gaussians ``N(mu1, sigma1)`` and ``N(mu2, sigma2)``.

    Args:
        mu1, mu2: (D,) means.
        sigma1, sigma2: (D, D) covariances.

    Returns:
        tuple: (distance as float, largest relative imaginary part dropped from sqrtm,
        diagonal offset used: 0.0 or 1e-6). See the module description.

    Raises:
        InputShapeError: shapes that do not match.
    """
    from scipy import linalg  # noqa: PLC0415

    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    s1, s2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
    if mu1.ndim != 1 or mu1.shape != mu2.shape or s1.shape != (mu1.size,) * 2 or s2.shape != s1.shape:
        raise InputShapeError(f"frechet_distance takes two (D,) means and two (D, D) covariances, got "
                              f"{mu1.shape}, {s1.shape}, {mu2.shape}, {s2.shape}")
    offset = 0.0
    covmean = linalg.sqrtm(s1 @ s2)
    if not np.isfinite(covmean).all():
        offset = _OFFSET
        eye = np.eye(mu1.size) * offset
        covmean = linalg.sqrtm((s1 + eye) @ (s2 + eye))
    covmean = np.asarray(covmean)
    imaginary = 0.0
    if np.iscomplexobj(covmean):
        scale = max(float(np.abs(covmean.real).max()), np.finfo(np.float64).tiny)
        imaginary = float(np.abs(covmean.imag).max()) / scale
        covmean = covmean.real
    diff = mu1 - mu2
    traces = float(np.trace(s1) + np.trace(s2))
    value = float(diff @ diff + traces - 2.0 * np.trace(covmean))
    if value < 0 and -value <= 1e-9 * max(traces, 1.0):
        value = 0.0
    return value, imaginary, offset


def _inception_features(net, mean, std):
    """A Cell mapping [-1, 1] images to Inception-v3's global-pooled 2048-d features."""
    import mindspore as ms  # noqa: PLC0415
    from mindspore import nn  # noqa: PLC0415

    class InceptionFeatures(nn.Cell):
        """mindcv Inception-v3 up to its global average pooling (the classifier's input)."""

        def __init__(self):
            super().__init__()
            self.net = net
            self.mean = ms.Tensor(np.asarray(mean, np.float32).reshape(1, 3, 1, 1))
            self.std = ms.Tensor(np.asarray(std, np.float32).reshape(1, 3, 1, 1))

        def construct(self, x):
            x = ((x + 1.0) * 0.5 - self.mean) / self.std
            return self.net.pool(self.net.forward_features(x))

    cell = InceptionFeatures()
    cell.set_train(False)
    return cell


class _Side:
    """Streaming sums of one side's features."""

    def __init__(self):
        self.count = 0
        self.shift = None
        self.total = None
        self.outer = None

    def add(self, feats):
        if self.shift is None:
            self.shift = feats.mean(axis=0)
            self.total = np.zeros(feats.shape[1])
            self.outer = np.zeros((feats.shape[1],) * 2)
        centred = feats - self.shift
        self.total += centred.sum(axis=0)
        self.outer += centred.T @ centred
        self.count += feats.shape[0]

    def stats(self):
        mean = self.total / self.count
        cov = (self.outer - self.count * np.outer(mean, mean)) / (self.count - 1)
        return mean + self.shift, (cov + cov.T) / 2


class FID:
    """Fréchet Inception Distance between real and generated images, accumulated batch by batch.

    Images go through a feature network; each side keeps the float64 sum of the features and of
    their outer products (bounded memory: never the features themselves), and :meth:`eval` gives
    the Fréchet distance of the two fitted Gaussians (see :func:`frechet_distance`; 0 = same
    statistics, larger = further apart).

    The default feature network is mindcv's Inception-v3 with its ImageNet weights,
    ``create_model("inception_v3", pretrained=True)`` (registry name ``"inception_v3.imagenet"``,
    file ``inception_v3-38f67890.ckpt`` fetched once through :mod:`tinyms.hub`, from
    ``TINYMS_HUB_MIRROR`` when set, and SHA-256 verified), built on the first :meth:`update`.
    Its features are the 2048-d global-average-pooled output of the last Inception block (the
    classifier's input); images are resized to 299x299 bilinearly (OpenCV's, no antialiasing)
    and normalised with ImageNet's mean and std, as that model's config says. Scores from it are
    comparable with other TinyMS FIDs, but NOT with published numbers from pytorch-fid or the
    TensorFlow original: those use other Inception weights (the 2015 TF graph) and resizing.

    Args:
        feature_network (Cell): optional; a MindSpore Cell mapping float32 (N, 3, S, S) images in
            [-1, 1] (S = ``input_size``) to (N, D) features. Default None: the Inception-v3 above.
        input_size (int): the side images are resized to before the network; None keeps their
            size. Default 299.
        batch_size (int): images per network call (bounds the memory of one call). Default 32.

    Raises:
        ValueError: a non-positive ``input_size`` or ``batch_size``.

    Example:
        >>> import numpy as np
        >>> from mindspore import nn
        >>> from tinyms.metrics import FID
        >>> class MeanColour(nn.Cell):
        ...     def construct(self, x):
        ...         return x.mean(axis=(2, 3))
        >>> fid = FID(MeanColour(), input_size=None)
        >>> rng = np.random.default_rng(0)
        >>> fid.update(real=rng.uniform(-1, 1, (64, 3, 8, 8)).astype(np.float32),
        ...            fake=rng.uniform(-0.5, 1, (64, 3, 8, 8)).astype(np.float32))
        >>> round(fid.eval(), 3) > 0, fid.real_count, fid.fake_count
        (True, 64, 64)
    """

    def __init__(self, feature_network=None, input_size=299, batch_size=32):
        if input_size is not None and (int(input_size) != input_size or input_size < 1):
            raise ValueError(f"FID input_size must be a positive int or None, got {input_size!r}")
        if int(batch_size) != batch_size or batch_size < 1:
            raise ValueError(f"FID batch_size must be a positive int, got {batch_size!r}")
        self.feature_network = feature_network
        self.input_size = None if input_size is None else int(input_size)
        self.batch_size = int(batch_size)
        self.feature_network_name = DEFAULT_FEATURE_NETWORK if feature_network is None else type(
            feature_network).__name__
        self.imaginary = 0.0
        self.offset = 0.0
        self.clear()

    def clear(self):
        """Forget every image counted (the feature network stays)."""
        self._sides = {"real": _Side(), "fake": _Side()}
        self._dim = None

    @property
    def real_count(self):
        """int: real images counted."""
        return self._sides["real"].count

    @property
    def fake_count(self):
        """int: generated images counted."""
        return self._sides["fake"].count

    def _network(self):
        if self.feature_network is None:
            from .model.registry import create_model, model_config  # noqa: PLC0415

            cfg = model_config(DEFAULT_FEATURE_NETWORK)
            net = create_model(DEFAULT_FEATURE_NETWORK, pretrained=True)
            self.feature_network = _inception_features(net, cfg.mean, cfg.std)
        return self.feature_network

    def _images(self, images, side):
        arr = images.asnumpy() if hasattr(images, "asnumpy") else np.asarray(images)
        if arr.dtype == np.uint8:
            if arr.ndim == 3:
                arr = arr[None]
            if arr.ndim != 4 or arr.shape[3] != 3:
                raise InputShapeError(f"FID.update({side}=...): uint8 images must be (N, H, W, 3) or (H, W, 3) "
                                      f"RGB, got shape {arr.shape}")
            arr = arr.astype(np.float32) / 127.5 - 1.0
        else:
            if arr.ndim == 3:
                arr = arr[None]
            if arr.ndim != 4 or arr.shape[1] != 3:
                raise InputShapeError(f"FID.update({side}=...): float images must be (N, 3, H, W) or (3, H, W) in "
                                      f"[-1, 1] (uint8 images (N, H, W, 3)), got shape {arr.shape}")
            arr = arr.astype(np.float32).transpose(0, 2, 3, 1)
            if not np.isfinite(arr).all():
                raise ValueError(f"FID.update({side}=...): the images hold NaN or infinite values")
            low, high = float(arr.min(initial=0.0)), float(arr.max(initial=0.0))
            if low < -1.001 or high > 1.001:
                raise ValueError(f"FID.update({side}=...): float images must be in [-1, 1] (a generator's tanh "
                                 f"output), got values in [{low:.3g}, {high:.3g}]; give uint8 for 0..255 pixels")
        if self.input_size is not None and arr.shape[1:3] != (self.input_size,) * 2:
            import cv2  # noqa: PLC0415

            size = (self.input_size, self.input_size)
            arr = np.stack([cv2.resize(img, size, interpolation=cv2.INTER_LINEAR) for img in arr])
        return np.ascontiguousarray(arr.transpose(0, 3, 1, 2), np.float32)

    def _features(self, images, side):
        import mindspore as ms  # noqa: PLC0415

        net = self._network()
        out = []
        for start in range(0, images.shape[0], self.batch_size):
            chunk = images[start:start + self.batch_size]
            feats = net(ms.Tensor(chunk))
            feats = np.asarray(feats.asnumpy() if hasattr(feats, "asnumpy") else feats, np.float64)
            feats = feats.reshape(feats.shape[0], -1) if feats.ndim == 4 and feats.shape[2:] == (1, 1) else feats
            if feats.ndim != 2 or feats.shape[0] != chunk.shape[0]:
                raise InputShapeError(f"FID's feature network must return (N, D) features for N images, got "
                                      f"{feats.shape} for {chunk.shape[0]} images")
            if self._dim is not None and feats.shape[1] != self._dim:
                raise InputShapeError(f"FID's feature network returned {feats.shape[1]} features, earlier "
                                      f"{self._dim}: the same network must score both sides")
            if not np.isfinite(feats).all():
                raise ValueError(f"FID: the feature network returned NaN or infinite features for {side} images")
            self._dim = feats.shape[1]
            out.append(feats)
        return np.concatenate(out)

    def update(self, real=None, fake=None):
        """Count a batch of real images, of generated images, or both.

        Args:
            real: float32 (N, 3, H, W) images in [-1, 1] (a generator's normalisation) or uint8
                (N, H, W, 3) RGB; one image without N is accepted too. Default None: none.
            fake: the generated images, same forms. Default None: none.

        Raises:
            ValueError: neither side given, values outside [-1, 1], NaN/inf.
            InputShapeError: another layout, or features that are not (N, D) of one D.
        """
        if real is None and fake is None:
            raise ValueError("FID.update needs real=... images, fake=... images or both")
        for side, images in (("real", real), ("fake", fake)):
            if images is not None:
                arr = self._images(images, side)
                if arr.shape[0]:
                    self._sides[side].add(self._features(arr, side))

    def eval(self):
        """The Fréchet distance between the real and the generated images counted.

        Returns:
            float: the FID (0 for identical feature statistics).

        Raises:
            RuntimeError: a side has fewer than 2 images (a covariance needs 2); the message
                gives the counts.
        """
        if self.real_count < 2 or self.fake_count < 2:
            raise RuntimeError(f"FID needs at least 2 real and 2 generated images (more than the feature size "
                               f"for a meaningful number), got {self.real_count} real and {self.fake_count} "
                               f"generated: call update(real=..., fake=...) first")
        mu1, s1 = self._sides["real"].stats()
        mu2, s2 = self._sides["fake"].stats()
        value, self.imaginary, self.offset = frechet_distance(mu1, s1, mu2, s2)
        if self.imaginary > _IMAG_WARN:
            warnings.warn(f"FID: sqrtm's result had an imaginary part {self.imaginary:.2g} of its real part "
                          f"(degenerate covariances: {self.real_count}/{self.fake_count} images for {self._dim} "
                          f"features); the real part was used", RuntimeWarning, stacklevel=2)
        return value if math.isfinite(value) else math.nan
