"""How well labelled feature vectors separate by class, in their own space (numbers independent of a t-SNE plot).

All functions work on the rows **L2-normalised** (:func:`l2_normalize`; zero rows stay zero), i.e. in the
cosine geometry the contrastive losses train (CDCL compares normalised embeddings):

- :func:`silhouette`: scikit-learn's mean silhouette coefficient with the **cosine** distance
  (``1 - cos``), in ``[-1, 1]``; high when every sample is closer to its own class than to the next one.
- :func:`knn_accuracy`: **leave-one-out** k-nearest-neighbour class accuracy: a ``KNeighborsClassifier``
  (uniform votes, Euclidean distance between the normalised rows, which ranks neighbours as the cosine
  does) fitted once on all rows and asked for the training rows themselves (``predict(None)``: each row
  is left out of its own neighbours), so the exact leave-one-out answer in one fit.
- :func:`class_separation`: both, with the majority-class share (the accuracy of always answering the
  largest class) as the chance level.
- :func:`tsne_embedding`: a seeded 2-D scikit-learn t-SNE (``init='pca'``) of the same rows, for plots
  (the perplexity lowered to ``(n - 1) / 3`` for few samples).
"""
import logging
from typing import Dict, Sequence, Tuple

import numpy as np
from mmengine.logging import print_log


def l2_normalize(features: np.ndarray) -> np.ndarray:
    """Rows of ``features`` ``[n, d]`` divided by their L2 norm (float64; zero rows stay zero)."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2:
        raise ValueError(f'features must be [n, d], got shape {features.shape}')
    norm = np.linalg.norm(features, axis=1, keepdims=True)
    return features / np.maximum(norm, 1e-12)


def check_labelled(features: np.ndarray, labels: Sequence, k: int = 1) -> np.ndarray:
    """Validate ``[n, d]`` features with ``n`` labels for the class metrics; returns the labels as an array.

    Raises:
        ValueError: Shapes disagree, fewer than 2 classes, or fewer than ``k + 1`` samples.
    """
    labels = np.asarray(labels)
    features = np.asarray(features)
    if features.ndim != 2 or labels.ndim != 1 or features.shape[0] != labels.shape[0]:
        raise ValueError(f'features [n, d] and labels [n] disagree: {features.shape} vs {labels.shape}')
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f'k must be an int >= 1, got {k!r}')
    num_classes = len(np.unique(labels))
    if num_classes < 2:
        raise ValueError(f'class metrics need at least 2 classes, got {num_classes} '
                         f'({list(np.unique(labels))[:1]}) in {labels.shape[0]} samples')
    if labels.shape[0] < k + 1:
        raise ValueError(f'leave-one-out {k}-NN needs at least k + 1 = {k + 1} samples, got {labels.shape[0]}')
    return labels


def silhouette(features: np.ndarray, labels: Sequence) -> float:
    """Mean cosine silhouette of the L2-normalised rows (scikit-learn ``silhouette_score``).

    Args:
        features (np.ndarray): ``[n, d]``.
        labels (Sequence): ``n`` class labels (2 to ``n - 1`` distinct values).

    Returns:
        float: In ``[-1, 1]``.
    """
    from sklearn.metrics import silhouette_score
    labels = check_labelled(features, labels)
    if len(np.unique(labels)) > labels.shape[0] - 1:
        raise ValueError(f'the silhouette needs fewer classes than samples, got {len(np.unique(labels))} '
                         f'classes in {labels.shape[0]} samples')
    return float(silhouette_score(l2_normalize(features), labels, metric='cosine'))


def knn_accuracy(features: np.ndarray, labels: Sequence, k: int = 5) -> float:
    """Leave-one-out ``k``-NN class accuracy of the L2-normalised rows (see the module docstring).

    Args:
        features (np.ndarray): ``[n, d]``.
        labels (Sequence): ``n`` class labels.
        k (int): Neighbours (uniform votes; scikit-learn breaks ties towards the first class in sorted
            order). Defaults to 5.

    Returns:
        float: Share of rows whose ``k`` nearest other rows vote for their own class.
    """
    from sklearn.neighbors import KNeighborsClassifier
    labels = check_labelled(features, labels, k)
    classifier = KNeighborsClassifier(n_neighbors=k).fit(l2_normalize(features), labels)
    return float(np.mean(classifier.predict(None) == labels))


def class_separation(features: np.ndarray, labels: Sequence, k: int = 5) -> Dict[str, float]:
    """:func:`silhouette` and :func:`knn_accuracy` with their context.

    Returns:
        dict: ``silhouette``, ``knn_accuracy``, ``chance`` (majority-class share), ``k``, ``num_samples``,
        ``num_classes``.
    """
    labels = check_labelled(features, labels, k)
    _, counts = np.unique(labels, return_counts=True)
    return dict(
        silhouette=silhouette(features, labels),
        knn_accuracy=knn_accuracy(features, labels, k),
        chance=float(counts.max() / counts.sum()),
        k=int(k),
        num_samples=int(labels.shape[0]),
        num_classes=int(counts.shape[0]))


def tsne_embedding(features: np.ndarray, perplexity: float = 30., seed: int = 0) -> Tuple[np.ndarray, float]:
    """2-D t-SNE of the L2-normalised rows.

    Args:
        features (np.ndarray): ``[n, d]`` with ``n >= 2``.
        perplexity (float): t-SNE perplexity (> 0). When ``3 * perplexity + 1 > n`` (the neighbourhood
            scikit-learn builds would be every other sample, and near ``n`` the map turns into a uniform
            grid; scikit-learn refuses ``perplexity >= n``) it is lowered to ``max(1, (n - 1) / 3)``, with a
            log line.
        seed (int): ``random_state``.

    Returns:
        tuple: Points float ``[n, 2]`` and the perplexity used.
    """
    from sklearn.manifold import TSNE
    features = l2_normalize(features)
    n = features.shape[0]
    if n < 2:
        raise ValueError(f't-SNE needs at least 2 samples, got {n}')
    if not perplexity > 0:
        raise ValueError(f'perplexity must be > 0, got {perplexity}')
    used = float(perplexity)
    if 3 * used + 1 > n:
        used = max(1., (n - 1) / 3)
        print_log(f't-SNE: perplexity {perplexity:g} is too large for {n} samples (3 * perplexity + 1 > n); '
                  f'using {used:g}', logger='current', level=logging.INFO)
    points = TSNE(n_components=2, perplexity=used, init='pca', random_state=seed).fit_transform(features)
    return points, used
