"""Decoder prototypes (mmavs.evaluation.prototypes) and class-separation metrics (functional.class_separation)."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.model_selection import LeaveOneOut, cross_val_predict
from sklearn.neighbors import KNeighborsClassifier
from torch import nn

from mmavs.evaluation.functional import class_separation, knn_accuracy, silhouette, tsne_embedding
from mmavs.evaluation.prototypes import PrototypeError, batch_prototypes, check_outputs, resolve_label_key
from mmavs.models.losses.cdcl_loss import CDCLLoss, masked_average_pool
from mmavs.structures import AVSDataSample


def clip(gt, flags=None, frame_flags=None, **meta):
    sample = AVSDataSample(metainfo=dict(meta))
    sample.gt_masks = torch.as_tensor(gt).long()
    if flags is not None:
        sample.gt_flags = torch.as_tensor(flags, dtype=torch.bool)
    if frame_flags is not None:
        sample.frame_flags = torch.as_tensor(frame_flags, dtype=torch.bool)
    return sample


# ----------------------------------------------------------------------------------------------- prototypes
def test_map_is_the_weighted_mean_by_hand():
    feats = torch.tensor([[[[1., 2.], [3., 4.]], [[10., 20.], [30., 40.]]]])  # [1, 2, 2, 2]
    weights = torch.tensor([[[1., 0.5], [0., 0.]]])
    expected = torch.tensor([[(1 * 1 + 0.5 * 2) / 1.5, (1 * 10 + 0.5 * 20) / 1.5]])
    assert torch.allclose(masked_average_pool(feats, weights), expected)
    # GT at 2x: cell (0, 0) has 3 of 4 foreground pixels, cell (1, 1) one -> weights 0.75 and 0.25
    big = torch.zeros(1, 4, 4)
    big[0, 0, 0] = big[0, 0, 1] = big[0, 1, 0] = 1.
    big[0, 3, 3] = 1.
    expected = torch.tensor([[(0.75 * 1 + 0.25 * 4) / 1.0, (0.75 * 10 + 0.25 * 40) / 1.0]])
    assert torch.allclose(masked_average_pool(feats, big), expected)


def test_cdcl_loss_pools_area_weighted_prototypes():
    """The va term of CDCL with identity heads equals one computed from prototypes pooled by hand."""
    torch.manual_seed(3)
    d, tau = 3, 0.5
    loss = CDCLLoss(in_channels=d, proj_channels=d, temperature=tau, loss_weight=1.)
    loss.visual_head, loss.audio_head, loss.text_head = nn.Identity(), nn.Identity(), nn.Identity()
    feats = torch.randn(3, d, 2, 2)
    queries = torch.randn(3, 4, d)
    gt = torch.zeros(3, 4, 4, dtype=torch.long)
    gt[0, :2, :2] = 1  # cell (0, 0) only
    gt[1, 0, 3] = 1  # one pixel of cell (0, 1)
    gt[1, 2:, :2] = 1  # all of cell (1, 0)
    gt[2, 3, 3] = 1
    gt[2, 0, 0] = 255
    outputs = dict(logits=torch.zeros(3, 1, 2, 2), pixel_features=feats, audio_queries=queries)
    data = [clip(gt[i:i + 1], category=c) for i, c in enumerate(['dog', 'cat', 'dog'])]
    got = loss(outputs, data)['loss_cdcl_va']
    v = torch.stack([
        feats[0, :, 0, 0],
        (0.25 * feats[1, :, 0, 1] + feats[1, :, 1, 0]) / 1.25,
        feats[2, :, 1, 1],
    ])
    v, a = F.normalize(v, dim=1), F.normalize(queries.mean(1), dim=1)
    logits = v @ a.t() / tau
    targets = torch.tensor([[.5, 0., .5], [0., 1., 0.], [.5, 0., .5]])

    def ce(lg):
        return -(targets * lg.log_softmax(1)).sum(1).mean()

    assert got.item() == pytest.approx(0.4 * 0.5 * (ce(logits) + ce(logits.t())).item(), rel=1e-5)


def test_binary_rows_select_frames_and_use_the_category():
    feats = torch.arange(4 * 2 * 2 * 2, dtype=torch.float).reshape(4, 2, 2, 2)
    queries = torch.arange(4 * 3 * 2, dtype=torch.float).reshape(4, 3, 2)
    gt = torch.zeros(2, 2, 2, 2, dtype=torch.long)
    gt[0, 0, 0, 0] = 1  # clip a, frame 0: selected
    gt[0, 1, 1, 1] = 1  # clip a, frame 1: no gt_flags -> out
    gt[1, 0] = 0  # clip b, frame 0: no foreground -> out
    gt[1, 1, :, 1] = 1  # clip b, frame 1: selected
    data = [clip(gt[0], [True, False], vid='a', category='dog'), clip(gt[1], [True, True], vid='b', category='cat')]
    out = batch_prototypes(dict(pixel_features=feats, audio_queries=queries), data, ('visual', 'audio'), 1, (),
                           'category')
    assert out.labels == ['dog', 'cat'] and out.vids == ['a', 'b'] and out.frames.tolist() == [0, 1]
    assert out.num_frames == 2
    np.testing.assert_allclose(out.features['visual'][0], feats[0, :, 0, 0].numpy())
    np.testing.assert_allclose(out.features['visual'][1], feats[3, :, :, 1].mean(-1).numpy())
    np.testing.assert_allclose(out.features['audio'][1], queries[3].mean(0).numpy())
    # a padded frame (frame_flags False) is not selected either
    data[0].frame_flags = torch.tensor([True, True])
    data[1].frame_flags = torch.tensor([True, False])
    padded = batch_prototypes(dict(pixel_features=feats), data, ('visual', ), 1, (), 'category')
    assert padded.labels == ['dog']


def test_multiclass_rows_one_per_class_present():
    feats = torch.randn(1, 3, 2, 2)
    queries = torch.randn(1, 2, 3)
    gt = torch.tensor([[[1, 1], [2, 255]]])  # class 1 at the top, class 2 bottom-left, one ignored pixel
    out = batch_prototypes(dict(pixel_features=feats, audio_queries=queries), [clip(gt[None, 0], vid='v')],
                           ('visual', 'audio'), 3, ('background', 'dog', 'car'), None)
    assert out.labels == ['dog', 'car'] and out.num_frames == 1 and len(out) == 2
    np.testing.assert_allclose(out.features['visual'][0], feats[0, :, 0].mean(-1).numpy(), rtol=1e-6)
    np.testing.assert_allclose(out.features['visual'][1], feats[0, :, 1, 0].numpy(), rtol=1e-6)
    np.testing.assert_allclose(out.features['audio'][0], out.features['audio'][1])  # the frame's audio, twice


def test_label_and_output_errors():
    with pytest.raises(PrototypeError, match='--label-key'):
        resolve_label_key(1, dict(vid='x', subset='ms3'), None, 'cfg_m3.py')
    with pytest.raises(PrototypeError, match="'speaker'"):
        resolve_label_key(3, dict(vid='x'), 'speaker', 'cfg.py')
    assert resolve_label_key(3, dict(vid='x'), None, 'cfg.py') is None
    assert resolve_label_key(1, dict(vid='x', category='dog'), None, 'cfg.py') == 'category'
    with pytest.raises(PrototypeError, match=r"my_cfg\.py.*'pixel_features'"):
        check_outputs(dict(logits=torch.zeros(1)), ('visual', ), 'my_cfg.py')
    with pytest.raises(PrototypeError, match="'audio_queries'"):
        check_outputs(dict(pixel_features=torch.zeros(1, 2, 2, 2)), ('visual', 'audio'), 'my_cfg.py')


# ----------------------------------------------------------------------------------------------- metrics
def two_clusters(n=30, d=8, seed=0):
    rng = np.random.default_rng(seed)
    centre = np.zeros(d)
    centre[0] = 10.
    x = np.concatenate([rng.normal(size=(n, d)) + centre, rng.normal(size=(n, d)) - centre])
    return x, np.array(['a'] * n + ['b'] * n)


def test_separated_clusters_score_high_and_random_labels_near_chance():
    x, y = two_clusters()
    m = class_separation(x, y, k=5)
    assert m['knn_accuracy'] == 1.0 and m['silhouette'] > 0.8
    assert m['chance'] == 0.5 and m['num_samples'] == 60 and m['num_classes'] == 2
    rng = np.random.default_rng(1)
    noise = rng.normal(size=(400, 16))
    labels = rng.integers(0, 2, 400)
    assert abs(knn_accuracy(noise, labels, 5) - 0.5) < 0.1
    assert abs(silhouette(noise, labels)) < 0.05


def test_knn_is_leave_one_out_and_silhouette_is_cosine():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(40, 5))
    x[:20, 0] += 1.  # overlapping classes: an accuracy between chance and 1
    y = np.array([0] * 20 + [1] * 20)
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    loo = cross_val_predict(KNeighborsClassifier(n_neighbors=3), xn, y, cv=LeaveOneOut())
    assert knn_accuracy(x * 7., y, 3) == pytest.approx(np.mean(loo == y))
    # silhouette by its definition, cosine distance (scale-free: x * 7 gives the same)
    dist = 1. - xn @ xn.T
    s = []
    for i in range(40):
        same = (y == y[i]) & (np.arange(40) != i)
        a, b = dist[i, same].mean(), dist[i, y != y[i]].mean()
        s.append((b - a) / max(a, b))
    assert silhouette(x * 7., y) == pytest.approx(np.mean(s), rel=1e-6)


def test_metric_input_errors():
    x, y = two_clusters(n=3)
    with pytest.raises(ValueError, match='at least 2 classes'):
        class_separation(x, ['a'] * 6)
    with pytest.raises(ValueError, match='k \\+ 1 = 6'):
        knn_accuracy(x[:5], y[:5], 5)
    with pytest.raises(ValueError, match='disagree'):
        silhouette(x, y[:4])


def test_tsne_clips_the_perplexity():
    x, _ = two_clusters(n=5)
    points, used = tsne_embedding(x, perplexity=30., seed=0)
    assert points.shape == (10, 2) and used == 3.  # (10 - 1) / 3
    assert tsne_embedding(x, perplexity=3., seed=0)[1] == 3.  # 3 * 3 + 1 <= 10: kept
    again, _ = tsne_embedding(x, perplexity=30., seed=0)
    np.testing.assert_allclose(points, again)  # seeded
    with pytest.raises(ValueError, match='perplexity'):
        tsne_embedding(x, perplexity=0.)
