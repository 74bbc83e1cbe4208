"""Plain float64 numpy references for the losses and metrics tests, written from the
textbook formulas and Keras 3's documented semantics.

Independent of nbkeras on purpose: scalar formulas go through Python's `math` one element at
a time, rows are explicit loops, nothing here imports nbkeras. Slow is fine; the tests use
small arrays. `EPS` is Keras's default epsilon (1e-7), which the tests leave unchanged.
"""
from __future__ import annotations

import math

import numpy as np

EPS = 1e-7


def _f64(x) -> np.ndarray:
    return np.array(x, dtype=np.float64)


def _rows(x, axis: int) -> np.ndarray:
    """x with `axis` moved last, as a 2-D array of rows (and the leading shape)."""
    moved = np.moveaxis(_f64(x), axis, -1)
    return moved.reshape(-1, moved.shape[-1]), moved.shape[:-1]


def _elementwise(f, *arrays) -> np.ndarray:
    arrays = np.broadcast_arrays(*[_f64(a) for a in arrays])
    out = np.empty(arrays[0].shape)
    for index in np.ndindex(out.shape):
        out[index] = f(*[float(a[index]) for a in arrays])
    return out


def _mean_last(values) -> np.ndarray:
    values = _f64(values)
    out = np.empty(values.shape[:-1])
    for index in np.ndindex(out.shape):
        out[index] = sum(values[index]) / values.shape[-1]
    return out


def _clip(v: float, low: float, high: float) -> float:
    return min(max(v, low), high)


def log_sigmoid(x: float) -> float:
    """log(1 / (1 + e^-x)), without overflow."""
    return -math.log1p(math.exp(-x)) if x >= 0 else x - math.log1p(math.exp(x))


def sigmoid(x: float) -> float:
    return math.exp(log_sigmoid(x))


def log_softmax_row(row) -> list[float]:
    m = max(row)
    lse = m + math.log(sum(math.exp(v - m) for v in row))
    return [v - lse for v in row]


# ------------------------------------------------------------------------------ fused ops

def softmax_cross_entropy(labels, logits) -> np.ndarray:
    """-sum_j labels_j log softmax(logits)_j over the last axis."""
    z, lead = _rows(labels, -1)
    x, _ = _rows(logits, -1)
    out = [-sum(zj * lj for zj, lj in zip(z[r], log_softmax_row(x[r]))) for r in range(len(x))]
    return np.array(out).reshape(lead)


def sparse_softmax_cross_entropy(labels, logits) -> np.ndarray:
    """-log softmax(logits)[label] over the last axis."""
    x, lead = _rows(logits, -1)
    flat = np.asarray(labels).reshape(-1)
    return np.array([-log_softmax_row(x[r])[int(flat[r])] for r in range(len(x))]).reshape(lead)


def sigmoid_cross_entropy(labels, logits) -> np.ndarray:
    """-(z log sigmoid(x) + (1 - z) log sigmoid(-x)), elementwise."""
    return _elementwise(lambda z, x: -(z * log_sigmoid(x) + (1 - z) * log_sigmoid(-x)),
                        labels, logits)


# ---------------------------------------------------------------------------- regression

def mean_squared_error(y_true, y_pred) -> np.ndarray:
    return _mean_last(_elementwise(lambda t, p: (t - p) ** 2, y_true, y_pred))


def mean_absolute_error(y_true, y_pred) -> np.ndarray:
    return _mean_last(_elementwise(lambda t, p: abs(t - p), y_true, y_pred))


def mean_absolute_percentage_error(y_true, y_pred) -> np.ndarray:
    return 100.0 * _mean_last(_elementwise(lambda t, p: abs((t - p) / max(abs(t), EPS)),
                                           y_true, y_pred))


def mean_squared_logarithmic_error(y_true, y_pred) -> np.ndarray:
    return _mean_last(_elementwise(
        lambda t, p: (math.log(max(p, EPS) + 1) - math.log(max(t, EPS) + 1)) ** 2,
        y_true, y_pred))


def huber(y_true, y_pred, delta=1.0) -> np.ndarray:
    def f(t, p):
        e = abs(p - t)
        return 0.5 * e * e if e <= delta else delta * e - 0.5 * delta * delta
    return _mean_last(_elementwise(f, y_true, y_pred))


def log_cosh(y_true, y_pred) -> np.ndarray:
    return _mean_last(_elementwise(lambda t, p: math.log(math.cosh(p - t)), y_true, y_pred))


def cosine_similarity(y_true, y_pred, axis=-1) -> np.ndarray:
    """-<a / max(|a|, eps), b / max(|b|, eps)> along axis."""
    a, lead = _rows(y_true, axis)
    b, _ = _rows(y_pred, axis)
    out = []
    for u, v in zip(a, b):
        nu = max(math.sqrt(sum(x * x for x in u)), EPS)
        nv = max(math.sqrt(sum(x * x for x in v)), EPS)
        out.append(-sum((x / nu) * (y / nv) for x, y in zip(u, v)))
    return np.array(out).reshape(lead)


# --------------------------------------------------------------------------------- hinge

def _hinge_labels(y_true) -> np.ndarray:
    y = _f64(y_true)
    return 2 * y - 1 if np.all((y == 0) | (y == 1)) else y


def hinge(y_true, y_pred) -> np.ndarray:
    return _mean_last(_elementwise(lambda t, p: max(1 - t * p, 0.0), _hinge_labels(y_true),
                                   y_pred))


def squared_hinge(y_true, y_pred) -> np.ndarray:
    return _mean_last(_elementwise(lambda t, p: max(1 - t * p, 0.0) ** 2,
                                   _hinge_labels(y_true), y_pred))


def categorical_hinge(y_true, y_pred) -> np.ndarray:
    t, lead = _rows(y_true, -1)
    p, _ = _rows(y_pred, -1)
    out = []
    for tr, pr in zip(t, p):
        pos = sum(a * b for a, b in zip(tr, pr))
        neg = max((1 - a) * b for a, b in zip(tr, pr))
        out.append(max(neg - pos + 1, 0.0))
    return np.array(out).reshape(lead)


# ------------------------------------------------------------------------- probabilistic

def kl_divergence(y_true, y_pred) -> np.ndarray:
    def f(t, p):
        t, p = _clip(t, EPS, 1), _clip(p, EPS, 1)
        return t * math.log(t / p)
    values = _elementwise(f, y_true, y_pred)
    return values.sum(axis=-1)


def poisson(y_true, y_pred) -> np.ndarray:
    return _mean_last(_elementwise(lambda t, p: p - t * math.log(p + EPS), y_true, y_pred))


def _binary_elementwise(z: float, p: float, from_logits: bool) -> float:
    if from_logits:
        return -(z * log_sigmoid(p) + (1 - z) * log_sigmoid(-p))
    p = _clip(p, EPS, 1 - EPS)
    return -(z * math.log(p) + (1 - z) * math.log(1 - p))


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """mean over `axis` of the elementwise binary cross-entropy; labels smoothed to 0.5."""
    z = _f64(y_true) * (1 - label_smoothing) + 0.5 * label_smoothing
    values = _elementwise(lambda a, b: _binary_elementwise(a, b, from_logits), z, y_pred)
    rows, lead = _rows(values, axis)
    return np.array([sum(r) / len(r) for r in rows]).reshape(lead)


def binary_focal_crossentropy(y_true, y_pred, apply_class_balancing=False, alpha=0.25,
                              gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1):
    """(1 - p_t)^gamma * bce (bce exact from logits), times alpha / 1 - alpha if balanced."""
    z = _f64(y_true) * (1 - label_smoothing) + 0.5 * label_smoothing

    def f(t, x):
        bce = _binary_elementwise(t, x, from_logits)
        p = sigmoid(x) if from_logits else x
        p_t = t * p + (1 - t) * (1 - p)
        value = (1 - p_t) ** gamma * bce
        if apply_class_balancing:
            value *= t * alpha + (1 - t) * (1 - alpha)
        return value
    values = _elementwise(f, z, y_pred)
    rows, lead = _rows(values, axis)
    return np.array([sum(r) / len(r) for r in rows]).reshape(lead)


def _log_probability_row(row, from_logits: bool) -> list[float]:
    if from_logits:
        return log_softmax_row(row)
    total = sum(row)
    return [math.log(_clip(v / total, EPS, 1 - EPS)) for v in row]


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """-sum(y log p) along `axis`; smoothing over the classes of that axis."""
    t, lead = _rows(y_true, axis)
    p, _ = _rows(y_pred, axis)
    n = t.shape[1]
    out = []
    for tr, pr in zip(t, p):
        tr = [v * (1 - label_smoothing) + label_smoothing / n for v in tr]
        out.append(-sum(a * b for a, b in zip(tr, _log_probability_row(pr, from_logits))))
    return np.array(out).reshape(lead)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None,
                                    axis=-1):
    """-log p[label] along `axis`; 0 where the label is `ignore_class`."""
    p, lead = _rows(y_pred, axis)
    labels = np.asarray(y_true).reshape(-1)
    out = []
    for label, pr in zip(labels, p):
        if ignore_class is not None and label == ignore_class:
            out.append(0.0)
        else:
            out.append(-_log_probability_row(pr, from_logits)[int(label)])
    return np.array(out).reshape(lead)


def categorical_focal_crossentropy(y_true, y_pred, alpha=0.25, gamma=2.0, from_logits=False,
                                   label_smoothing=0.0, axis=-1):
    """sum_j alpha_j (1 - p_j)^gamma (-z_j log p_j) along `axis`, p the softmax of logits or
    the row divided by its sum, clipped to [EPS, 1 - EPS]; z smoothed over the classes."""
    t, lead = _rows(y_true, axis)
    x, _ = _rows(y_pred, axis)
    n = t.shape[1]
    alphas = [float(alpha)] * n if np.ndim(alpha) == 0 else [float(a) for a in alpha]
    out = []
    for tr, xr in zip(t, x):
        z = [v * (1 - label_smoothing) + label_smoothing / n for v in tr]
        if from_logits:
            probs = [math.exp(v) for v in log_softmax_row(xr)]
        else:
            total = sum(xr)
            probs = [v / total for v in xr]
        probs = [_clip(v, EPS, 1 - EPS) for v in probs]
        out.append(sum(a * (1 - q) ** gamma * -zj * math.log(q)
                       for a, q, zj in zip(alphas, probs, z)))
    return np.array(out).reshape(lead)


def categorical_generalized_cross_entropy(labels, y_pred, q) -> np.ndarray:
    """(1 - p^q) / q for p = y_pred[label] in each row."""
    p, lead = _rows(y_pred, -1)
    flat = np.asarray(labels).reshape(-1)
    return np.array([(1 - float(row[int(c)]) ** q) / q for c, row in zip(flat, p)]).reshape(lead)


def _sum_groups(x, axis) -> np.ndarray:
    """Sums of x over `axis` (None: all, an int, or a tuple), one explicit loop per group."""
    x = _f64(x)
    axes = tuple(range(x.ndim)) if axis is None else tuple(
        a % x.ndim for a in (axis if isinstance(axis, (tuple, list)) else (axis,)))
    kept = [a for a in range(x.ndim) if a not in axes]
    moved = np.transpose(x, kept + list(axes))
    lead = moved.shape[:len(kept)]
    groups = moved.reshape(int(np.prod(lead)), -1)
    out = []
    for group in groups:
        total = 0.0
        for v in group:
            total += float(v)
        out.append(total)
    return np.array(out).reshape(lead)


def dice(y_true, y_pred, axis=None) -> np.ndarray:
    """1 - 2 sum(t p) / (sum(t) + sum(p) + EPS) over `axis`."""
    t, p = _f64(y_true), _f64(y_pred)
    inter, st, sp = _sum_groups(t * p, axis), _sum_groups(t, axis), _sum_groups(p, axis)
    return 1 - 2 * inter / (st + sp + EPS)


def tversky(y_true, y_pred, alpha=0.5, beta=0.5, axis=None) -> np.ndarray:
    """1 - TP / (TP + alpha sum((1 - p) t) + beta sum(p (1 - t)) + EPS) over `axis`."""
    t, p = _f64(y_true), _f64(y_pred)
    tp = _sum_groups(t * p, axis)
    fp, fn = _sum_groups((1 - p) * t, axis), _sum_groups(p * (1 - t), axis)
    return 1 - tp / (tp + alpha * fp + beta * fn + EPS)


def _log_sum_exp(values) -> float:
    m = max(values)
    return m + math.log(sum(math.exp(v - m) for v in values))


def circle(labels, embeddings, ref_labels=None, ref_embeddings=None, remove_diagonal=True,
           gamma=80.0, margin=0.4) -> np.ndarray:
    """Circle loss (Sun et al., 2020) as Keras 3 writes it, pair by pair: distances
    d = max(1 - <e_i, r_j>, 0); positives same label (minus i == j if remove_diagonal),
    negatives different label; a row missing either kind gives 0."""
    e = _f64(embeddings)
    r = e if ref_embeddings is None else _f64(ref_embeddings)
    la = np.asarray(labels).reshape(-1)
    lb = la if ref_labels is None else np.asarray(ref_labels).reshape(-1)
    out = []
    for i in range(len(e)):
        pos, neg = [], []
        for j in range(len(r)):
            d = max(1 - sum(float(a) * float(b) for a, b in zip(e[i], r[j])), 0.0)
            if la[i] == lb[j]:
                if not (remove_diagonal and i == j):
                    pos.append(-gamma * max(margin + d, 0.0) * (margin - d))
            else:
                neg.append(gamma * max(1 + margin - d, 0.0) * (1 - margin - d))
        if not pos or not neg:
            out.append(0.0)
            continue
        z = _log_sum_exp(pos) + _log_sum_exp(neg)
        out.append(z + math.log1p(math.exp(-z)) if z > 0 else math.log1p(math.exp(z)))
    return np.array(out)


def ctc(labels, logits) -> np.ndarray:
    """-log of the total probability of every path of per-step softmax classes that, with
    repeats merged and blanks (class 0) removed, spells the row's nonzero labels: every
    one of C^T paths enumerated (small T and C only)."""
    x = _f64(logits)
    out = []
    for row_labels, steps in zip(np.asarray(labels), x):
        target = tuple(int(c) for c in row_labels if c != 0)
        log_probs = [log_softmax_row(step) for step in steps]
        total = 0.0
        for path in np.ndindex(*([steps.shape[1]] * steps.shape[0])):
            collapsed, previous = [], None
            for c in path:
                if c != previous and c != 0:
                    collapsed.append(c)
                previous = c
            if tuple(collapsed) == target:
                total += math.exp(sum(log_probs[t][c] for t, c in enumerate(path)))
        out.append(-math.log(total) if total > 0 else math.inf)
    return np.array(out)


# ----------------------------------------------------------------------------- reduction

def reduce(values, sample_weight=None, reduction="sum_over_batch_size", mask=None) -> np.ndarray:
    """Keras 3's weighting and reduction of per-sample values, for a sample weight of the
    values' shape, of shape (N, 1) for values (N,), or a scalar. A mask (bool, values'
    shape; sample weight None or of the values' shape) keeps some entries: for the means
    their weights are scaled by total / kept, so the mean runs over the kept entries."""
    values = _f64(values)
    given = None if sample_weight is None else _f64(sample_weight)
    if given is not None and given.ndim == 0 and values.shape == (1,):
        # Keras's rank matching squeezes one (1,) value against a scalar weight to a
        # scalar, and scalars are returned unreduced: value * weight, for every reduction
        return values[0] * given
    if given is not None and given.size == values.size:
        given = given.reshape(values.shape)
    if mask is not None:
        keep = np.asarray(mask, dtype=np.float64)
        kept = keep.sum()
        if reduction in ("sum_over_batch_size", "mean"):
            keep = keep * (keep.size / kept if kept else 0.0)
        given = keep if given is None else given * keep
    weight = np.ones(values.shape) if given is None else np.broadcast_to(given, values.shape)
    weighted = values * weight
    if reduction in (None, "none"):
        return weighted
    total = 0.0
    for v in weighted.ravel():
        total += float(v)
    if reduction == "sum":
        return np.array(total)
    if reduction == "mean_with_sample_weight" and given is not None:
        # Keras divides by the sum of the weights as given (a scalar weight counts once)
        divisor = float(np.sum(given))
        return np.array(total / divisor if divisor else 0.0)
    return np.array(total / values.size)


# ------------------------------------------------------------------------------- metrics

def weighted_mean(values_per_batch, weights_per_batch) -> float:
    """sum(w * v) / sum(w) over all batches of per-sample values (w = 1 when None)."""
    total, count = 0.0, 0.0
    for values, weights in zip(values_per_batch, weights_per_batch):
        values = _f64(values).reshape(-1)
        weights = np.ones(values.shape) if weights is None else _f64(weights).reshape(-1)
        for v, w in zip(values, weights):
            total += v * w
            count += w
    return total / count if count else 0.0


def confusion_counts(labels, predictions, weights, threshold: float) -> tuple:
    """(tp, fp, tn, fn) at one threshold: predicted positive when prediction > threshold."""
    tp = fp = tn = fn = 0.0
    for y, p, w in zip(np.ravel(labels), np.ravel(predictions), np.ravel(weights)):
        positive, predicted = y != 0, p > threshold
        if positive and predicted:
            tp += w
        elif predicted:
            fp += w
        elif positive:
            fn += w
        else:
            tn += w
    return tp, fp, tn, fn


def auc(labels, predictions, weights, num_thresholds=200, curve="ROC",
        summation_method="interpolation") -> float:
    """Keras's AUC directly: thresholds -eps, i / (n - 1) for i = 1..n-2, 1 + eps; counts by
    p > t on predictions clipped to [0, 1]; trapezoids (ROC), Davis-Goadrich (PR)."""
    thresholds = ([-EPS] + [i / (num_thresholds - 1) for i in range(1, num_thresholds - 1)]
                  + [1 + EPS])
    predictions = np.clip(_f64(predictions), 0, 1)
    counts = [confusion_counts(labels, predictions, weights, t) for t in thresholds]

    def div(a, b):
        return a / b if b else 0.0
    area = 0.0
    for (tp0, fp0, tn0, fn0), (tp1, fp1, tn1, fn1) in zip(counts[:-1], counts[1:]):
        if curve == "PR" and summation_method == "interpolation":
            dtp, p0, p1 = tp0 - tp1, tp0 + fp0, tp1 + fp1
            slope = div(dtp, max(p0 - p1, 0))
            intercept = tp1 - slope * p1
            ratio = div(p0, p1) if p0 > 0 and p1 > 0 else 1.0
            area += div(slope * (dtp + intercept * math.log(ratio)), max(tp1 + fn1, 0))
            continue
        if curve == "ROC":
            x0, x1 = div(fp0, fp0 + tn0), div(fp1, fp1 + tn1)
            y0, y1 = div(tp0, tp0 + fn0), div(tp1, tp1 + fn1)
        else:
            x0, x1 = div(tp0, tp0 + fn0), div(tp1, tp1 + fn1)
            y0, y1 = div(tp0, tp0 + fp0), div(tp1, tp1 + fp1)
        height = {"interpolation": (y0 + y1) / 2, "minoring": min(y0, y1),
                  "majoring": max(y0, y1)}[summation_method]
        area += (x0 - x1) * height
    return area


def _argmax(row) -> int:
    """Index of the first largest entry."""
    best = 0
    for j, v in enumerate(row):
        if v > row[best]:
            best = j
    return best


def categorical_matches(y_true, y_pred) -> np.ndarray:
    """1.0 where argmax(y_true) == argmax(y_pred) along the last axis."""
    t, lead = _rows(y_true, -1)
    p, _ = _rows(y_pred, -1)
    return np.array([float(_argmax(a) == _argmax(b)) for a, b in zip(t, p)]).reshape(lead)


def sparse_top_k_matches(labels, y_pred, k: int) -> np.ndarray:
    """1.0 where fewer than k predictions of the row exceed the label's prediction."""
    p, lead = _rows(y_pred, -1)
    out = []
    for label, row in zip(np.ravel(labels), p):
        target = row[int(label)]
        out.append(float(sum(1 for v in row if v > target) < k))
    return np.array(out).reshape(lead)
