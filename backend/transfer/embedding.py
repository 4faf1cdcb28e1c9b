"""A linear head on an audiovisual model's image embedding: the paper's downstream classifier.

The reference (khdlr/SoundingEarth ``downstream/downstream_task.py``) stacks a
linear layer on the whole image encoder, projection included, after the loss's
distance transform: the 128-d embedding as the loss compared it. Here that is
``encode_image``: unnormalised for the reference family (its triplet loss), unit
length for this project's encoders (their loss normalises).
"""

from __future__ import annotations

import os

import torch
from torch import nn

from backend.models.modelfile import ModelFileError, load_audiovisual_model


class EmbeddingClassifier(nn.Module):
    """An audiovisual model's image encoder plus a linear head on its embedding.

    Offers ``features`` (the embedding), ``forward`` (logits), ``head`` and
    ``num_classes`` like ``SceneClassifier``, so the probes and the training loops
    take either. Inputs are RGB in [0, 1]; the encoder normalises them itself.
    """

    def __init__(self, model: nn.Module, num_classes: int) -> None:
        """Wrap the image branch of ``model`` (an audiovisual model) with a new head."""
        super().__init__()
        self.encoder = model.image_encoder
        # reference encoders expose the loss's (unnormalised) embedding as ``embed``
        self.unnormalised = hasattr(self.encoder, "embed")
        self.num_classes = num_classes
        self.feature_dim = int(model.embed_dim)
        self.in_channels = int(self.encoder.in_channels)
        self.head = nn.Linear(self.feature_dim, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The embedding ``[B, D]`` as the pretraining loss saw it."""
        return self.encoder.embed(x) if self.unnormalised else self.encoder(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits ``[B, num_classes]``."""
        return self.head(self.features(x))


def embedding_classifier(
    path: str | os.PathLike, num_classes: int, in_channels: int = 3
) -> EmbeddingClassifier:
    """A new :class:`EmbeddingClassifier` on the image encoder of an audiovisual model file.

    Raises:
        ModelFileError: Not an audiovisual model file, or its encoder takes other bands.
    """
    model, _ = load_audiovisual_model(path)
    classifier = EmbeddingClassifier(model, num_classes)
    if classifier.in_channels != in_channels:
        raise ModelFileError(
            f"{path}: the image encoder takes {classifier.in_channels} bands, the dataset "
            f"gives {in_channels} (pick them with --bands)"
        )
    return classifier.train()
