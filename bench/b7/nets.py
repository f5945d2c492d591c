"""The two torch models of benchmark 7, built the same way for hermes.quiver and for nx-triton."""
import torch


class MLP(torch.nn.Module):
    """forward(x): the input's name in both specs (nn.Sequential's own forward takes `input`)."""

    def __init__(self):
        super().__init__()
        self.layers = torch.nn.Sequential(
            torch.nn.Linear(256, 512), torch.nn.ReLU(), torch.nn.Linear(512, 512), torch.nn.ReLU(), torch.nn.Linear(512, 10)
        )

    def forward(self, x):
        return self.layers(x)


def mlp() -> torch.nn.Module:
    torch.manual_seed(0)
    return MLP().eval()


def resnet18() -> torch.nn.Module:
    import torchvision

    torch.manual_seed(0)
    return torchvision.models.resnet18(weights=None).eval()
