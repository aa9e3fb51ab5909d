"""frame_prediction: the chunked, full-resolution mask / probability equal the direct computation."""
import torch
import torch.nn.functional as F

from mmavs.apis.inferencer import frame_prediction
from mmavs.models import AVSSegmentor


def test_multiclass_chunks_equal_full_softmax_argmax() -> None:
    torch.manual_seed(0)
    logits = torch.randn(71, 14, 18) * 3
    size = (45, 61)
    mask, prob = frame_prediction(logits, size, 0.5, AVSSegmentor.resize_logits)
    full = F.interpolate(logits[None], size=size, mode='bilinear', align_corners=False)[0]
    assert torch.equal(mask, full.argmax(dim=0))
    torch.testing.assert_close(prob, full.softmax(dim=0).max(dim=0).values, atol=1e-6, rtol=1e-5)
    only_mask, none = frame_prediction(logits, size, 0.5, AVSSegmentor.resize_logits, with_prob=False)
    assert none is None and torch.equal(only_mask, mask)


def test_binary_threshold_is_the_models() -> None:
    logits = torch.tensor([[[-2.0, 0.1], [0.5, 3.0]]])
    mask, prob = frame_prediction(logits, (2, 2), 0.6, AVSSegmentor.resize_logits)
    torch.testing.assert_close(prob, torch.sigmoid(logits[0]))
    assert mask.tolist() == [[0, 0], [1, 1]]  # sigmoid 0.525 < 0.6 < sigmoid 0.5 = 0.622
