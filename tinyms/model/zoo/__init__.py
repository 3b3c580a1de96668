"""The model zoo: one module per network family. Importing it registers every model.

LeNet-5, AlexNet, the CIFAR DenseNet-BC-100, the SSD detectors (SSD300-MobileNetV2 on mindcv's
MobileNetV2 layers, and the small ssd_tiny) and the tabular networks (DeepFM, Wide & Deep, an MLP)
are written in TinyMS; VGG, ResNet, MobileNetV2 and DenseNet-121 are built by mindcv (imported
only when one of them is built).
"""

from .alexnet import AlexNet, alexnet
from .deepfm import DeepFM, DeepFMEvalModel, DeepFMTrainModel, DeepFMWithLoss, deepfm
from .cycle_gan import (CycleGAN, Pix2Pix, cycle_gan, cycle_gan_infer, cyclegan_lr, get_generator_discriminator,
                        pix2pix)
from .bert import BertClassifier, BertConfig, bert_base, bert_mini, bert_small, bert_tiny
from .densenet import DenseNetBC, densenet100, densenet121
from .lenet import LeNet5, lenet5
from .mobilenetv2 import mobilenetv2
from .resnet import resnet18, resnet34, resnet50, resnet101, resnet152
from .ssd import ssd300_mobilenetv2
from .ssd_tiny import ssd_tiny
from .tabular import TabularMLP, WideDeep, tabular_mlp, wide_deep
from .text import SentimentNet, TextBoW, TextCNN, sentimentnet, text_bow, text_cnn
from .vgg import vgg11, vgg11_bn, vgg13, vgg13_bn, vgg16, vgg16_bn, vgg19, vgg19_bn
from . import yolo  # noqa: F401 - registers the YOLO detectors (built by mindyolo)

__all__ = ["LeNet5", "lenet5", "AlexNet", "alexnet", "BertConfig", "BertClassifier", "bert_tiny", "bert_mini",
           "bert_small", "bert_base", "DenseNetBC", "densenet100", "densenet121",
           "mobilenetv2", "ssd300_mobilenetv2", "ssd_tiny", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
           "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn",
           "SentimentNet", "sentimentnet", "TextBoW", "text_bow", "TextCNN", "text_cnn",
           "CycleGAN", "Pix2Pix", "cycle_gan", "cycle_gan_infer", "pix2pix", "cyclegan_lr", "get_generator_discriminator",
           "DeepFM", "deepfm", "DeepFMWithLoss", "DeepFMTrainModel", "DeepFMEvalModel", "WideDeep", "wide_deep",
           "TabularMLP", "tabular_mlp"]
