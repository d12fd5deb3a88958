"""The model contract: the one place that names tensors, shapes and limits.

The exporter, the generated ``config.pbtxt``, the PyTorch service and the client all read
these constants; ``tests/test_contract.py`` proves they agree with what is written on disk.
"""

from dataclasses import dataclass
from typing import Final

MODEL_ARCH: Final = "ViT-B-32"
DEFAULT_PRETRAINED: Final = "laion2b_s34b_b79k"
#: ``pretrained=none`` means random initialisation of the same architecture, seeded so that
#: every process (exporter, service, tests) builds identical weights.
PRETRAINED_NONE: Final = "none"
DEFAULT_SEED: Final = 0

TRITON_MODEL_NAME: Final = "openclip_vit_b32"
INPUT_NAME: Final = "image"
OUTPUT_NAME: Final = "embedding"
IMAGE_SIZE: Final = 224
CHANNELS: Final = 3
EMBED_DIM: Final = 512
MAX_BATCH_SIZE: Final = 32
PREFERRED_BATCH_SIZES: Final = (8, 16, 32)
MAX_QUEUE_DELAY_US: Final = 5000
ONNX_OPSET: Final = 18

#: OpenAI CLIP normalisation, which OpenCLIP uses for ViT-B-32 with every pretrained tag.
CLIP_MEAN: Final = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD: Final = (0.26862954, 0.26130258, 0.27577711)

#: Largest input magnitude accepted. CLIP-normalised pixels lie within about [-1.8, 2.2]; far
#: larger finite values (1e30, 3e38) overflow inside the model into NaN on one runtime and into
#: finite garbage on another, so both backends refuse them before the model runs.
MAX_ABS_INPUT: Final = 1e4

INPUT_SHAPE: Final = (CHANNELS, IMAGE_SIZE, IMAGE_SIZE)
OUTPUT_SHAPE: Final = (EMBED_DIM,)

#: The second model in the repository: uint8 RGB pixels (the cropped 224x224 image before
#: normalisation, ``photodup.imaging.preprocess_uint8``) with the CLIP normalisation inside the
#: graph. A quarter of the fp32 model's bytes on the wire; same output contract.
UINT8_MODEL_NAME: Final = "openclip_vit_b32_uint8"
UINT8_INPUT_NAME: Final = "pixels"


@dataclass(frozen=True)
class ServedModel:
    """One model of the Triton repository: its name and its input tensor's name and type."""

    name: str
    input_name: str
    #: Triton's data type without the ``TYPE_`` prefix, as tritonclient spells it.
    input_dtype: str


FP32_MODEL: Final = ServedModel(TRITON_MODEL_NAME, INPUT_NAME, "FP32")
UINT8_MODEL: Final = ServedModel(UINT8_MODEL_NAME, UINT8_INPUT_NAME, "UINT8")
SERVED_MODELS: Final = (FP32_MODEL, UINT8_MODEL)
