"""The model behind mlp_classifier: a two-layer perceptron over 16 features."""

import torch


class MlpClassifier(torch.nn.Module):
    def __init__(self, features: int, hidden: int, classes: int):
        super().__init__()
        self.hidden = torch.nn.Linear(features, hidden)
        self.out = torch.nn.Linear(hidden, classes)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.out(torch.relu(self.hidden(features)))


def build(hidden: int = 32, classes: int = 4) -> torch.nn.Module:
    # Weights come from the seed nx-triton sets before calling this; a real project would
    # name a trained state_dict with export.torch.checkpoint.
    return MlpClassifier(16, hidden, classes)
