"""Plain float64 numpy references for the metrics of issue 12 (confusion counts, rates at a
constraint, F-scores, IoU, R2, correlations, cosine similarity), written from their textbook
definitions over all the data at once (never batch by batch): loops over the samples, Python
floats, nothing imported from nbkeras. Slow is fine; the tests use small arrays."""
from __future__ import annotations

import math

import numpy as np

EPS = 1e-7    # Keras's backend.epsilon()


def flat(x) -> list[float]:
    return [float(v) for v in np.ravel(np.asarray(x, dtype=np.float64))]


def threshold_counts(labels, predictions, weights, thresholds, clip=False) -> np.ndarray:
    """(T, 4) weighted (tp, fp, tn, fn) at each threshold: positive label when nonzero,
    positive prediction when strictly above the threshold (after clipping to [0, 1] when
    `clip`)."""
    out = np.zeros((len(thresholds), 4))
    for i, t in enumerate(thresholds):
        for y, p, w in zip(flat(labels), flat(predictions), flat(weights)):
            if clip:
                p = min(max(p, 0.0), 1.0)
            above = p > t
            if y != 0:
                out[i, 0 if above else 3] += w
            else:
                out[i, 1 if above else 2] += w
    return out


def ratio(a: float, b: float) -> float:
    """a / b, 0 where b is 0 (divide_no_nan)."""
    return a / b if b != 0 else 0.0


def rate_at(labels, predictions, weights, num_thresholds, constrained, dependent,
            value) -> float:
    """max of the `dependent` rate over the thresholds (Keras's: i / (n - 1), or 0.5 alone)
    where the `constrained` rate is >= value; 0 when none qualifies."""
    if num_thresholds == 1:
        thresholds, clip = [0.5], False
    else:
        thresholds, clip = [i / (num_thresholds - 1) for i in range(num_thresholds)], True
    best = 0.0
    for tp, fp, tn, fn in threshold_counts(labels, predictions, weights, thresholds, clip):
        rates = {"recall": ratio(tp, tp + fn), "sensitivity": ratio(tp, tp + fn),
                 "precision": ratio(tp, tp + fp), "specificity": ratio(tn, tn + fp)}
        if rates[constrained] >= value:
            best = max(best, rates[dependent])
    return best


def fbeta(y_true, y_pred, weights=None, beta=1.0, threshold=None, average=None):
    """Keras's F-beta (epsilon in each denominator) over rows of (N, C) data."""
    y_true, y_pred = np.asarray(y_true, np.float64), np.asarray(y_pred, np.float64)
    n, c = y_pred.shape
    w = np.ones(n) if weights is None else np.ravel(np.asarray(weights, np.float64))
    tp, fp, fn, support = np.zeros(c), np.zeros(c), np.zeros(c), np.zeros(c)
    for i in range(n):
        top = max(y_pred[i])
        for j in range(c):
            if threshold is None:
                positive = y_pred[i, j] >= top and abs(y_pred[i, j]) > 1e-9
            else:
                positive = y_pred[i, j] > threshold
            t = y_true[i, j]
            tp[j] += w[i] * positive * t
            fp[j] += w[i] * positive * (1 - t)
            fn[j] += w[i] * (1 - positive) * t
            support[j] += w[i] * t
    if average == "micro":
        tp, fp, fn, support = (np.array([a.sum()]) for a in (tp, fp, fn, support))
    scores = []
    for j in range(len(tp)):
        p = tp[j] / (tp[j] + fp[j] + EPS)
        r = tp[j] / (tp[j] + fn[j] + EPS)
        scores.append((1 + beta ** 2) * p * r / (beta ** 2 * p + r + EPS))
    scores = np.array(scores)
    if average == "weighted":
        return float(np.sum(scores * support / (support.sum() + EPS)))
    if average in ("micro", "macro"):
        return float(np.mean(scores))
    return scores


def confusion_matrix(labels, predictions, num_classes, weights=None, ignore_class=None):
    """cm[true, predicted] += weight, skipping classes outside [0, num_classes) and
    `ignore_class` labels; labels and predictions truncated to integers."""
    cm = np.zeros((num_classes, num_classes))
    labels, predictions = flat(labels), flat(predictions)
    weights = [1.0] * len(labels) if weights is None else flat(
        np.broadcast_to(np.asarray(weights, np.float64).reshape(-1), (len(labels),))
        if np.size(weights) in (1, len(labels)) else weights)
    for t, p, w in zip(labels, predictions, weights):
        t, p = int(t), int(p)
        if not (0 <= t < num_classes and 0 <= p < num_classes):
            continue
        if ignore_class is not None and t == ignore_class:
            continue
        cm[t, p] += w
    return cm


def mean_iou(cm, target_class_ids) -> float:
    """Mean of tp / (tp + fp + fn) over the target classes whose union is nonzero."""
    ious = []
    for k in target_class_ids:
        tp = cm[k, k]
        union = sum(cm[k, :]) + sum(cm[:, k]) - tp
        if union > 1e-9:
            ious.append(tp / (union + EPS))
    return sum(ious) / (len(ious) + EPS) if ious else 0.0


def r2(y_true, y_pred, weights=None, aggregation="uniform_average", num_regressors=0):
    """Weighted R2 per column (1 - SS_res / SS_tot about the weighted mean), aggregated;
    adjusted with n = the number of values (Keras counts every element)."""
    y_true, y_pred = np.asarray(y_true, np.float64), np.asarray(y_pred, np.float64)
    n, c = y_true.shape
    w = np.ones(n) if weights is None else np.ravel(np.asarray(weights, np.float64))
    scores, totals = [], []
    for j in range(c):
        total_w = sum(w)
        mean = sum(w[i] * y_true[i, j] for i in range(n)) / total_w
        ss_tot = sum(w[i] * (y_true[i, j] - mean) ** 2 for i in range(n))
        ss_res = sum(w[i] * (y_true[i, j] - y_pred[i, j]) ** 2 for i in range(n))
        scores.append(1 - ss_res / ss_tot)
        totals.append(ss_tot)
    scores, totals = np.array(scores), np.array(totals)
    if aggregation == "uniform_average":
        score = scores.mean()
    elif aggregation == "variance_weighted_average":
        score = (scores * totals).sum() / totals.sum()
    else:
        score = scores
    values = n * c
    if num_regressors and num_regressors < values - 1:
        score = 1 - (1 - score) * (values - 1) / (values - num_regressors - 1)
    return score


def pearson_rows(y_true, y_pred) -> np.ndarray:
    """Pearson's r of each row (last axis), population moments."""
    out = []
    for t, p in zip(np.asarray(y_true, np.float64).reshape(-1, np.shape(y_true)[-1]),
                    np.asarray(y_pred, np.float64).reshape(-1, np.shape(y_pred)[-1])):
        mt, mp = sum(t) / len(t), sum(p) / len(p)
        cov = sum((a - mt) * (b - mp) for a, b in zip(t, p)) / len(t)
        st = math.sqrt(sum((a - mt) ** 2 for a in t) / len(t))
        sp = math.sqrt(sum((b - mp) ** 2 for b in p) / len(p))
        out.append(cov / (st * sp))
    return np.array(out)


def concordance_rows(y_true, y_pred) -> np.ndarray:
    """Lin's concordance of each row: 2 cov / (var_t + var_p + (mean_t - mean_p)^2 + EPS)."""
    out = []
    for t, p in zip(np.asarray(y_true, np.float64).reshape(-1, np.shape(y_true)[-1]),
                    np.asarray(y_pred, np.float64).reshape(-1, np.shape(y_pred)[-1])):
        mt, mp = sum(t) / len(t), sum(p) / len(p)
        cov = sum((a - mt) * (b - mp) for a, b in zip(t, p)) / len(t)
        vt = sum((a - mt) ** 2 for a in t) / len(t)
        vp = sum((b - mp) ** 2 for b in p) / len(p)
        out.append(2 * cov / (vt + vp + (mt - mp) ** 2 + EPS))
    return np.array(out)


def cosine_rows(y_true, y_pred) -> np.ndarray:
    """<a / max(|a|, EPS), b / max(|b|, EPS)> of each row."""
    out = []
    for t, p in zip(np.asarray(y_true, np.float64).reshape(-1, np.shape(y_true)[-1]),
                    np.asarray(y_pred, np.float64).reshape(-1, np.shape(y_pred)[-1])):
        nt = max(math.sqrt(sum(a * a for a in t)), EPS)
        npred = max(math.sqrt(sum(b * b for b in p)), EPS)
        out.append(sum((a / nt) * (b / npred) for a, b in zip(t, p)))
    return np.array(out)
