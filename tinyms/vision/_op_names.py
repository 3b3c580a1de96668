"""The names of the image ops ``tinyms.vision`` offers (MindSpore-free, so that importing
``tinyms.vision`` can list them without loading MindSpore)."""

# name -> the mindspore.dataset module that defines it
OPS = {
    "CenterCrop": "vision", "Compose": "transforms", "Decode": "vision", "Grayscale": "vision",
    "HWC2CHW": "vision", "Inter": "vision", "Normalize": "vision", "Pad": "vision",
    "RandomCrop": "vision", "RandomResizedCrop": "vision",
    "RandomHorizontalFlipWithBBox": "vision", "ResizeWithBBox": "vision", "RandomHorizontalFlip": "vision", "RandomRotation": "vision",
    # MindSpore's ops that move [xmin, ymin, width, height] boxes with the image (input_columns=["image", "bbox"])
    "BoundingBoxAugment": "vision", "RandomCropWithBBox": "vision", "RandomResizedCropWithBBox": "vision",
    "RandomResizeWithBBox": "vision", "RandomVerticalFlipWithBBox": "vision",
    "RandomVerticalFlip": "vision", "Rescale": "vision", "Resize": "vision", "ToTensor": "vision",
    "TypeCast": "transforms",
}
