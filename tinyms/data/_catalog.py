"""TinyMS's own datasets, declared as specs (``_registry.py`` registers them through the
public :func:`register_dataset`).

Sizes and SHA-256 digests are those of the official files (for MNIST: of the decompressed
IDX files, so that a mirror may serve them recompressed or raw).
"""

from ._spec import DatasetFile, DatasetSpec

_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


def _idx_files(sizes, digests, unpacked_sizes, checked_after_gunzip):
    """The four IDX files of MNIST-style datasets, each gunzipped into train/ or test/."""
    names = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
    files = []
    for name, size, digest, unpacked in zip(names, sizes, digests, unpacked_sizes):
        path = f"{'train' if name.startswith('train') else 'test'}/{name}"
        if checked_after_gunzip:
            files.append(DatasetFile(f"{name}.gz", action="gunzip", path=path,
                                     unpacked_size=unpacked, unpacked_sha256=digest))
        else:
            files.append(DatasetFile(f"{name}.gz", size=size, sha256=digest, action="gunzip",
                                     path=path, unpacked_size=unpacked))
    return tuple(files)


_IDX_SIZES = (47040016, 60008, 7840016, 10008)
_SPLITS = {"train": "train", "test": "test"}

MNIST = DatasetSpec(
    name="mnist",
    urls=("https://ossci-datasets.s3.amazonaws.com/mnist/",
          "https://storage.googleapis.com/cvdf-datasets/mnist/",
          "http://yann.lecun.com/exdb/mnist/"),
    files=_idx_files((None,) * 4,
                     ("ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
                      "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
                      "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
                      "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
                     _IDX_SIZES, checked_after_gunzip=True),
    layout=_SPLITS,
    labels=tuple(str(i) for i in range(10)),
    image_shape=(28, 28, 1), mean=(0.1307,), std=(0.3081,),
    loader="MnistDataset",
    license="CC BY-SA 3.0",
    homepage="http://yann.lecun.com/exdb/mnist/",
    num_images={"train": 60000, "test": 10000},
    sample_files=("train/train-images-idx3-ubyte", "train/train-labels-idx1-ubyte",
                  "test/t10k-images-idx3-ubyte", "test/t10k-labels-idx1-ubyte"),
)

FASHION_MNIST = DatasetSpec(
    name="fashion_mnist",
    urls=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
    files=_idx_files((26421880, 29515, 4422102, 5148),
                     ("3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
                      "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
                      "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
                      "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"),
                     _IDX_SIZES, checked_after_gunzip=False),
    layout=_SPLITS,
    labels=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
            "Bag", "Ankle boot"),
    image_shape=(28, 28, 1), mean=(0.2860,), std=(0.3530,),
    loader="FashionMnistDataset",
    license="MIT",
    homepage="https://github.com/zalandoresearch/fashion-mnist",
    num_images={"train": 60000, "test": 10000},
)

def _cifar(name, archive, size, sha256, folder, labels, mean, std, loader):
    """A CIFAR spec: one binary-version tar.gz extracted into its official folder name."""
    return DatasetSpec(
        name=name,
        urls=("https://www.cs.toronto.edu/~kriz/",),
        files=(DatasetFile(archive, size=size, sha256=sha256, action="extract", path=folder,
                           strip=folder + "/", unpacked_size=185_000_000, max_members=100),),
        layout={"train": folder, "test": folder},
        labels=labels, image_shape=(32, 32, 3), mean=mean, std=std, loader=loader,
        license="not stated",
        homepage="https://www.cs.toronto.edu/~kriz/cifar.html",
        num_images={"train": 50000, "test": 10000},
    )


CIFAR10 = _cifar("cifar10", "cifar-10-binary.tar.gz", 170052171,
                 "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd",
                 "cifar-10-batches-bin",
                 ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
                  "truck"),
                 (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616), "Cifar10Dataset")

CIFAR100_LABELS = (
    "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle", "bottle",
    "bowl", "boy", "bridge", "bus", "butterfly", "camel", "can", "castle", "caterpillar", "cattle",
    "chair", "chimpanzee", "clock", "cloud", "cockroach", "couch", "crab", "crocodile", "cup",
    "dinosaur", "dolphin", "elephant", "flatfish", "forest", "fox", "girl", "hamster", "house",
    "kangaroo", "keyboard", "lamp", "lawn_mower", "leopard", "lion", "lizard", "lobster", "man",
    "maple_tree", "motorcycle", "mountain", "mouse", "mushroom", "oak_tree", "orange", "orchid",
    "otter", "palm_tree", "pear", "pickup_truck", "pine_tree", "plain", "plate", "poppy",
    "porcupine", "possum", "rabbit", "raccoon", "ray", "road", "rocket", "rose", "sea", "seal",
    "shark", "shrew", "skunk", "skyscraper", "snail", "snake", "spider", "squirrel", "streetcar",
    "sunflower", "sweet_pepper", "table", "tank", "telephone", "television", "tiger", "tractor",
    "train", "trout", "tulip", "turtle", "wardrobe", "whale", "willow_tree", "wolf", "woman", "worm",
)

CIFAR100 = _cifar("cifar100", "cifar-100-binary.tar.gz", 168513733,
                  "58a81ae192c23a4be8b1804d68e518ed807d710a4eb253b1f2a199162a40d8ec",
                  "cifar-100-binary", CIFAR100_LABELS,
                  (0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762), "Cifar100Dataset")

VOC_CLASSES = ("aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
               "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa",
               "train", "tvmonitor")

VOC2007 = DatasetSpec(
    name="voc2007",
    urls=("http://host.robots.ox.ac.uk/pascal/VOC/voc2007/", "http://pjreddie.com/media/files/"),
    files=(DatasetFile("VOCtrainval_06-Nov-2007.tar", size=460032000,
                       sha256="7d8cd951101b0957ddfd7a530bdc8a94f06121cfc1e511bb5937e973020c7508",
                       action="extract", path="trainval", strip="VOCdevkit/VOC2007/"),
           DatasetFile("VOCtest_06-Nov-2007.tar", size=451020800,
                       sha256="6836888e2e01dca84577a849d339fa4f73e1e4f135d312430c4856b5609b4892",
                       action="extract", path="test", strip="VOCdevkit/VOC2007/")),
    layout={"train": "trainval", "val": "trainval", "trainval": "trainval", "test": "test"},
    labels=VOC_CLASSES,
    image_shape=None, mean=_IMAGENET_MEAN, std=_IMAGENET_STD,
    loader="VOCDataset",
    license="Flickr terms of use",
    homepage="http://host.robots.ox.ac.uk/pascal/VOC/voc2007/",
    num_images={"trainval": 5011, "test": 4952},
)

# Stanford publishes no checksum; size and SHA-256 of the official archive as recorded by
# TensorFlow Datasets (tensorflow_datasets/datasets/imdb_reviews/checksums.tsv). unpacked_size
# and max_members are bounds (100,000 reviews of a few KB, the bag-of-words files), not counts.
IMDB = DatasetSpec(
    name="imdb",
    urls=("https://ai.stanford.edu/~amaas/data/sentiment/",),
    files=(DatasetFile("aclImdb_v1.tar.gz", size=84125825,
                       sha256="c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe",
                       action="extract", path="aclImdb", strip="aclImdb/",
                       unpacked_size=600_000_000, max_members=110_000),),
    layout={"train": "aclImdb/train", "test": "aclImdb/test"},
    labels=("neg", "pos"),
    loader="ImdbDataset",
    license="not stated",
    homepage="https://ai.stanford.edu/~amaas/data/sentiment/",
    num_images={"train": 25000, "test": 25000},
)

# GLUE's SST-2 (Stanford Sentiment Treebank, binary sentences). The only published digest is the
# MD5 in torchtext (torchtext/datasets/sst2.py, which also gives the rows: train 67,349, dev 872,
# test 1,821 unlabelled); no SHA-256 or size is published, so the download is checked by MD5 and
# bounded by max_size, its members by unpacked_size and max_members (train/dev/test.tsv and
# original/'s few files): max_size, unpacked_size and max_members are bounds, not sizes.
SST2 = DatasetSpec(
    name="sst2",
    urls=("https://dl.fbaipublicfiles.com/glue/data/",),
    files=(DatasetFile("SST-2.zip", md5="9f81648d4199384278b86e315dac217c", max_size=12_000_000,
                       action="extract", path="SST-2", strip="SST-2/",
                       unpacked_size=100_000_000, max_members=100),),
    layout={"train": "SST-2", "dev": "SST-2", "test": "SST-2"},
    labels=("negative", "positive"),
    loader="Sst2Dataset",
    license="not stated",
    homepage="https://gluebenchmark.com/tasks",
    num_images={"train": 67349, "dev": 872, "test": 1821},
)

# AG News (Zhang, Zhao & LeCun 2015) as the CSV files torchtext downloads (torchtext/datasets/
# ag_news.py gives these URLs and MD5s; 120,000 train and 7,600 test rows). No SHA-256 or size is
# published: checked by MD5 and bounded by max_size (a bound, not a size).
# Labels: classes.txt of the same folder, in the order of class indices 1-4.
AG_NEWS = DatasetSpec(
    name="ag_news",
    urls=("https://raw.githubusercontent.com/mhjabreel/CharCnn_Keras/master/data/ag_news_csv/",),
    files=(DatasetFile("train.csv", md5="b1a00f826fdfbd249f79597b59e1dc12", max_size=40_000_000),
           DatasetFile("test.csv", md5="d52ea96a97a2d943681189a97654912d", max_size=4_000_000)),
    layout={"train": "", "test": ""},
    labels=("World", "Sports", "Business", "Sci/Tech"),
    loader="AgNewsDataset",
    license="research, non-commercial",
    homepage="http://www.di.unipi.it/~gulli/AG_corpus_of_news_articles.html",
    num_images={"train": 120000, "test": 7600},
)

# CycleGAN's unpaired sets (Zhu et al. 2017), as the CycleGAN repository publishes them: one zip
# per set holding <name>/trainA, trainB, testA, testB. The publisher gives no checksum; sizes and
# SHA-256 are those TensorFlow Datasets recorded for these files
# (tensorflow_datasets/url_checksums/cycle_gan.txt, under the people.eecs.berkeley.edu host, which
# the efrosgans host mirrors). unpacked_size and max_members are bounds, not counts. Image counts
# per domain: horse2zebra A 1,067 / B 1,334 train, 120 / 140 test; cityscapes 2,975 photos and
# label maps (A photos, B label maps) train, 500 / 500 test (the label maps are Cityscapes' colours).
_CYCLEGAN_URLS = ("https://efrosgans.eecs.berkeley.edu/cyclegan/datasets/",
                  "https://people.eecs.berkeley.edu/~taesung_park/CycleGAN/datasets/")


def _cyclegan(name, size, sha256, unpacked_size, max_members, num_images, homepage, license_):
    return DatasetSpec(
        name=name, urls=_CYCLEGAN_URLS,
        files=(DatasetFile(f"{name}.zip", size=size, sha256=sha256, action="extract", path=name,
                           strip=f"{name}/", unpacked_size=unpacked_size, max_members=max_members),),
        layout={"train": name, "test": name},
        labels=(), image_shape=(256, 256, 3), mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5),
        loader="UnalignedDataset", license=license_, homepage=homepage, num_images=num_images,
    )


HORSE2ZEBRA = _cyclegan("horse2zebra", 116867962,
                        "a74d9d392eecca9966b51287a76ca126af473d9de4f3e8fc0e9cda08fa1730a1",
                        160_000_000, 3_000, {"train": 2401, "test": 260},
                        "https://github.com/junyanz/CycleGAN", "ImageNet terms of use")
CITYSCAPES = _cyclegan("cityscapes", 279601602,
                       "d2f6910fd056c1ee9873777ae838e7ac4a2c833598ae62a04188e5ab2f4ea036",
                       400_000_000, 7_000, {"train": 5950, "test": 1000},
                       "https://www.cityscapes-dataset.com/", "Cityscapes terms of use")
# CMP Facades as CycleGAN publishes it (trainA/trainB/testA/testB; its image counts are not recorded
# here: not verified). pix2pix's paired facades.tar.gz (side-by-side photo|labels, 400 train, 100
# val, 106 test) is not registered: no digest of it is published.
FACADES = _cyclegan("facades", 35135868,
                    "9a31ebf3a31b9b5cd195dd5bf62e9308e00cb94604d1019e3889ac84248695c0",
                    60_000_000, 1_500, {},
                    "https://cmp.felk.cvut.cz/~tylecr1/facade/", "not stated")

# Criteo's Kaggle display-advertising challenge data: train.txt (45,840,617 labelled lines),
# test.txt (unlabelled) and readme.txt, read by KaggleDisplayAdvertisingDataset. Criteo publishes
# no checksum of the archive (none found on its pages nor in other loaders), so it is checked by
# its exact size only (size_only; 4,576,820,670 bytes, the size TinyMS 0.3 checked and
# go.criteo.net's Content-Length); its SHA-256 is recorded at install. The members may add up
# to at most the three official sizes (train.txt 11,147,184,845, test.txt 1,460,246,311,
# readme.txt 1,927 bytes); max_members is a bound.
CRITEO = DatasetSpec(
    name="kaggle_display_advertising",
    urls=("https://go.criteo.net/", "http://go.criteo.net/"),
    files=(DatasetFile("criteo-research-kaggle-display-advertising-challenge-dataset.tar.gz",
                       size=4_576_820_670, size_only=True, action="extract", path="dac",
                       unpacked_size=11_147_184_845 + 1_460_246_311 + 1_927, max_members=10),),
    layout={"train": "dac", "test": "dac"},
    labels=("no click", "click"),
    loader="KaggleDisplayAdvertisingDataset",
    license="CC BY-NC-SA 4.0",
    homepage="https://ailab.criteo.com/ressources/",
    num_images={"train": 45_840_617},
)

#: The specs registered when the registry is first imported, in this order.
DATASETS = (MNIST, FASHION_MNIST, CIFAR10, CIFAR100, VOC2007, IMDB, SST2, AG_NEWS, HORSE2ZEBRA, CITYSCAPES,
            FACADES, CRITEO)
