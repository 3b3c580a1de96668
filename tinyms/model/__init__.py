"""Models: the high-level :class:`Model` API and the model zoo.

Example:
    >>> import numpy as np
    >>> from tinyms.model import Model, lenet5, list_models
    >>> "lenet5" in list_models()
    True
    >>> model = Model(lenet5(class_num=10))
    >>> model = model.compile(loss_fn="cross_entropy", optimizer="momentum", metrics=["accuracy"])
    >>> model.predict(np.zeros((2, 1, 32, 32), np.float32)).shape
    (2, 10)
"""

from ._lr_find import LRFinderResult
from .history import History
from .model import Model, load
from ._bert_weights import (BertWeightsReport, bert_pretrained, bert_pretrained_files, load_bert_weights,
                            read_bert_checkpoint)
from .registry import ModelConfig, create_model, list_models, model_config, register_weights
from .zoo import (BertClassifier, BertConfig, bert_base, bert_mini, bert_small, bert_tiny)
from .zoo import (AlexNet, DenseNetBC, LeNet5, alexnet, densenet100, densenet121, lenet5,
                  mobilenetv2, resnet18, resnet34, resnet50, resnet101, resnet152, vgg11, vgg11_bn,
                  ssd300_mobilenetv2, ssd_tiny, vgg13, vgg13_bn, vgg16, vgg16_bn, vgg19, vgg19_bn)
from .zoo import SentimentNet, TextBoW, TextCNN, sentimentnet, text_bow, text_cnn
# TinyMS 0.3's package tinyms.model.cycle_gan (its scripts import tinyms.model.cycle_gan.cycle_gan) is loaded
# first, so that the function imported next keeps the name: a package loaded later would replace it
from . import cycle_gan as _cycle_gan_package  # noqa: F401
from .zoo import (DeepFM, DeepFMEvalModel, DeepFMTrainModel, DeepFMWithLoss, TabularMLP, WideDeep, deepfm,
                  tabular_mlp, wide_deep)
from .zoo import CycleGAN, Pix2Pix, cycle_gan, cycle_gan_infer, cyclegan_lr, pix2pix

#: TinyMS 0.3's name for :func:`densenet100` (the CIFAR DenseNet-BC-100), kept for its scripts.
densenetBC_100 = densenet100

__all__ = ["Model", "History", "LRFinderResult", "load", "ModelConfig", "create_model", "list_models", "model_config", "register_weights",
           "LeNet5", "lenet5", "AlexNet", "alexnet", "DenseNetBC", "densenet100", "densenetBC_100", "densenet121",
           "mobilenetv2", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "ssd300_mobilenetv2",
           "ssd_tiny", "BertConfig", "BertClassifier", "bert_tiny", "bert_mini", "bert_small", "bert_base",
           "load_bert_weights", "read_bert_checkpoint", "BertWeightsReport", "bert_pretrained", "bert_pretrained_files",
           "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn",
           "SentimentNet", "sentimentnet", "TextBoW", "text_bow", "TextCNN", "text_cnn",
           "CycleGAN", "Pix2Pix", "cycle_gan", "cycle_gan_infer", "cyclegan_lr", "pix2pix",
           "DeepFM", "deepfm", "DeepFMWithLoss", "DeepFMTrainModel", "DeepFMEvalModel", "WideDeep", "wide_deep",
           "TabularMLP", "tabular_mlp"]
