/**
 * Python source of the torch modules the export tests build (written as `net.py` into a project):
 * a transformer text model, and two modules that break an export in the ways issue 10 names.
 * Each test appends its own factory functions (`def text(): return Text(...)`).
 */
export const TORCH_MODULES_PY = `
import torch

class Text(torch.nn.Module):
    """A transformer text model: int64 ids and a mask, masked mean pooling."""

    def __init__(self, vocab, dim, heads, feedforward, layers, classes):
        super().__init__()
        self.emb = torch.nn.Embedding(vocab, dim)
        layer = torch.nn.TransformerEncoderLayer(dim, heads, feedforward, dropout=0.0, batch_first=True)
        self.enc = torch.nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = torch.nn.Linear(dim, classes)

    def forward(self, input_ids, attention_mask):
        h = self.enc(self.emb(input_ids), src_key_padding_mask=attention_mask == 0)
        m = attention_mask.unsqueeze(-1).to(h.dtype)
        return self.head((h * m).sum(1) / m.sum(1))

class Baked(torch.nn.Module):
    """Reads the batch size as a Python int: the TorchScript-based exporter bakes it into a Reshape."""

    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(16, 2)

    def forward(self, x):
        b = int(x.shape[0])
        return self.fc(x).reshape(b, 2)

def baked():
    return Baked()

class Branchy(torch.nn.Module):
    """Data-dependent control flow: torch.export refuses it, the tracer keeps one branch."""

    def forward(self, x):
        if x.sum() > 0:
            return x * 2
        return -x

def branchy():
    return Branchy()
`;
