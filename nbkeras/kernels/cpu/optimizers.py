"""Optimizer updates: one fused Numba pass per variable, in place.

Every function takes flat (1-D, C-contiguous) arrays of one float dtype: the variable, its
gradient (already clipped and cast by the optimizer) and its slot arrays, which are all
updated in place. Scalars arrive already computed and cast to the variable's dtype, so a
float32 variable is updated in float32 throughout (no float64 constants inside the loops).
`decay` is the decoupled weight decay `weight_decay * learning_rate` (0 for none), applied
to each element before its update as Keras 3 does: `w <- w - w * decay`. A slot an option
does not use (AMSGrad's maximum, RMSprop's momentum, ...) is passed as None.
"""
import numpy as np
from numba import njit, prange

from .inner import inner_kernel
from .parallel import launch

__all__ = ["sgd_update", "adam_update", "rmsprop_update", "adagrad_update", "adadelta_update",
           "adamax_update", "nadam_update", "lion_update", "lamb_update",
           "ftrl_update", "adafactor_update", "schedule_free_adamw_update",
           "muon_update"]


@njit(cache=True, parallel=True)
def _sgd(var, grad, m, lr, momentum, use_momentum, nesterov, decay):
    """m <- momentum m - lr g; w <- w + m (Nesterov: w + momentum m - lr g); no m: w - lr g."""
    for i in prange(var.size):
        w = var[i]
        if decay != 0:
            w -= w * decay
        step = lr * grad[i]
        if use_momentum:
            velocity = momentum * m[i] - step
            m[i] = velocity
            if nesterov:
                w += momentum * velocity - step
            else:
                w += velocity
        else:
            w -= step
        var[i] = w


@inner_kernel
def _moments(m, v, i, g, one_minus_beta_1, one_minus_beta_2):
    """m[i] += (g - m[i])(1 - b1) and v[i] += (g² - v[i])(1 - b2); returns the new values.
    Callers pass i as np.intp: a prange's index is typed int64, then uint64 once the loop is a
    parfor, and each type would compile on its own."""
    m_i = m[i] + (g - m[i]) * one_minus_beta_1
    v_i = v[i] + (g * g - v[i]) * one_minus_beta_2
    m[i] = m_i
    v[i] = v_i
    return m_i, v_i


@njit(cache=True, parallel=True)
def _adam(var, grad, m, v, v_max, alpha, one_minus_beta_1, one_minus_beta_2, epsilon,
          amsgrad, decay):
    """m += (g - m)(1 - b1); v += (g² - v)(1 - b2); AMSGrad: v <- max(v_max, v);
    w -= alpha m / (sqrt(v) + eps)."""
    for i in prange(var.size):
        w = var[i]
        if decay != 0:
            w -= w * decay
        g = grad[i]
        m_i, v_i = _moments(m, v, np.intp(i), g, one_minus_beta_1, one_minus_beta_2)
        if amsgrad:
            v_i = max(v_max[i], v_i)
            v_max[i] = v_i
        var[i] = w - m_i * alpha / (np.sqrt(v_i) + epsilon)


@njit(cache=True, parallel=True)
def _rmsprop(var, grad, velocity, mom, average, lr, rho, one_minus_rho, momentum, epsilon,
             use_momentum, centered, decay):
    """v <- rho v + (1 - rho) g²; centered: a <- rho a + (1 - rho) g, denominator v - a²;
    step = lr g / sqrt(denominator + eps); momentum: mom <- momentum mom + step; w -= step."""
    for i in prange(var.size):
        w = var[i]
        if decay != 0:
            w -= w * decay
        g = grad[i]
        v_i = rho * velocity[i] + one_minus_rho * g * g
        velocity[i] = v_i
        if centered:
            a_i = rho * average[i] + one_minus_rho * g
            average[i] = a_i
            denominator = v_i - a_i * a_i + epsilon
        else:
            denominator = v_i + epsilon
        step = lr * g / np.sqrt(denominator)
        if use_momentum:
            step = momentum * mom[i] + step
            mom[i] = step
        var[i] = w - step


@njit(cache=True, parallel=True)
def _adagrad(var, grad, accumulator, lr, epsilon, decay):
    """acc += g²; w -= lr g / sqrt(acc + eps)."""
    for i in prange(var.size):
        w = var[i]
        if decay != 0:
            w -= w * decay
        g = grad[i]
        acc = accumulator[i] + g * g
        accumulator[i] = acc
        var[i] = w - lr * g / np.sqrt(acc + epsilon)


@njit(cache=True, parallel=True)
def _adadelta(var, grad, accumulated_grad, accumulated_delta, lr, rho, one_minus_rho,
              epsilon, decay):
    """E[g²] <- rho E[g²] + (1 - rho) g²; d = -sqrt(E[d²] + eps) g / sqrt(E[g²] + eps);
    E[d²] <- rho E[d²] + (1 - rho) d²; w += lr d."""
    for i in prange(var.size):
        w = var[i]
        if decay != 0:
            w -= w * decay
        g = grad[i]
        eg = rho * accumulated_grad[i] + one_minus_rho * g * g
        accumulated_grad[i] = eg
        delta = -(np.sqrt(accumulated_delta[i] + epsilon) * g) / np.sqrt(eg + epsilon)
        accumulated_delta[i] = rho * accumulated_delta[i] + one_minus_rho * delta * delta
        var[i] = w + lr * delta


@njit(cache=True, parallel=True)
def _adamax(var, grad, m, u, lr, beta_2, one_minus_beta_1, bias_correction, epsilon, decay):
    """m += (g - m)(1 - b1); u <- max(b2 u, |g|); w -= lr m / ((1 - b1^t)(u + eps))."""
    for i in prange(var.size):
        w = var[i]
        if decay != 0:
            w -= w * decay
        g = grad[i]
        m_i = m[i] + (g - m[i]) * one_minus_beta_1
        u_i = max(beta_2 * u[i], abs(g))
        m[i] = m_i
        u[i] = u_i
        var[i] = w - lr * m_i / (bias_correction * (u_i + epsilon))


@njit(cache=True, parallel=True)
def _nadam(var, grad, m, v, lr, one_minus_beta_1, one_minus_beta_2, momentum_coef, grad_coef,
           velocity_coef, epsilon, decay):
    """m += (g - m)(1 - b1); v += (g² - v)(1 - b2);
    w -= lr (c_m m + c_g g) / (sqrt(c_v v) + eps), with Nadam's schedule in c_m, c_g, c_v."""
    for i in prange(var.size):
        w = var[i]
        if decay != 0:
            w -= w * decay
        g = grad[i]
        m_i, v_i = _moments(m, v, np.intp(i), g, one_minus_beta_1, one_minus_beta_2)
        m_hat = momentum_coef * m_i + grad_coef * g
        var[i] = w - m_hat * lr / (np.sqrt(v_i * velocity_coef) + epsilon)


@njit(cache=True, parallel=True)
def _lion(var, grad, m, lr, beta_1, one_minus_beta_1, beta_2, one_minus_beta_2, decay):
    """w -= lr sign(b1 m + (1 - b1) g); m <- b2 m + (1 - b2) g."""
    for i in prange(var.size):
        w = var[i]
        if decay != 0:
            w -= w * decay
        g = grad[i]
        direction = m[i] * beta_1 + g * one_minus_beta_1
        if direction > 0:
            w -= lr
        elif direction < 0:
            w += lr
        elif direction != direction:     # sign(NaN) is NaN
            w = direction
        var[i] = w
        m[i] = m[i] * beta_2 + g * one_minus_beta_2


@njit(cache=True, parallel=True)
def _lamb(var, grad, m, v, step, one_minus_beta_1, one_minus_beta_2, bias_correction_1,
          bias_correction_2, epsilon, decay):
    """m += (g - m)(1 - b1); v += (g² - v)(1 - b2);
    w -= step (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps), step = trust ratio * lr."""
    for i in prange(var.size):
        w = var[i]
        if decay != 0:
            w -= w * decay
        g = grad[i]
        m_i, v_i = _moments(m, v, np.intp(i), g, one_minus_beta_1, one_minus_beta_2)
        var[i] = w - step * ((m_i / bias_correction_1)
                             / (np.sqrt(v_i / bias_correction_2) + epsilon))


@njit(cache=True, parallel=True)
def _ftrl(var, grad, accumulator, linear, lr, neg_lr_power, l1, two_l2_shrinkage,
          two_l2_reg, decay):
    """n' = n + g²; z += g + 2 l2_shrinkage w - (n'^-p - n^-p) / lr w;
    w <- (clip(z, -l1, l1) - z) / (n'^-p / lr + 2 l2_reg); n <- n'."""
    for i in prange(var.size):
        w = var[i]
        if decay != 0:
            w -= w * decay
        g = grad[i]
        n = accumulator[i]
        n_new = n + g * g
        n_new_power = n_new ** neg_lr_power
        z = linear[i] + ((g + two_l2_shrinkage * w) - ((n_new_power - n ** neg_lr_power) / lr) * w)
        linear[i] = z
        quadratic = n_new_power / lr + two_l2_reg
        var[i] = (min(max(z, -l1), l1) - z) / quadratic
        accumulator[i] = n_new


@njit(cache=True, parallel=True)
def _adafactor(var, grad, r, c, v, r_new, c_new, r_mean, rows, cols, beta_2, one_minus_beta_2,
               epsilon_1, alpha, divisor, factored, decay):
    """Factored (var (B, rows, cols) flat): r <- r_new, c <- c_new,
    v = r_new[b, i] / r_mean[b] * c_new[b, j]; else v <- b2 v + (1 - b2)(g² + eps_1).
    w -= alpha (g / sqrt(v)) / divisor."""
    for i in prange(var.size):
        w = var[i]
        if decay != 0:
            w -= w * decay
        g = grad[i]
        if factored:
            row = i // cols
            b = row // rows
            col = b * cols + i % cols
            if i % cols == 0:
                r[row] = r_new[row]
            if row % rows == 0:
                c[col] = c_new[col]
            v_i = r_new[row] / r_mean[b] * c_new[col]
        else:
            v_i = beta_2 * v[i] + one_minus_beta_2 * (g * g + epsilon_1)
        v[i] = v_i
        var[i] = w - alpha * (g / np.sqrt(v_i) / divisor)


@njit(cache=True, parallel=True)
def _schedule_free_adamw(var, grad, z, v, lr, beta_1, one_minus_beta_1, one_minus_beta_2,
                         bias_correction_2, epsilon, weight, one_minus_weight, decay):
    """v += (g² - v)(1 - b2); z' = z - lr g / (sqrt(v / (1 - b2^t)) + eps);
    x = (w - (1 - b1) z) / b1; x' = (1 - 1/t) x + z' / t; w <- (1 - b1) z' + b1 x'."""
    for i in prange(var.size):
        w = var[i]
        if decay != 0:
            w -= w * decay
        g = grad[i]
        z_old = z[i]
        v_i = v[i] + (g * g - v[i]) * one_minus_beta_2
        v[i] = v_i
        z_i = z_old - lr * g / (np.sqrt(v_i / bias_correction_2) + epsilon)
        z[i] = z_i
        x = (w - one_minus_beta_1 * z_old) / beta_1
        x = one_minus_weight * x + weight * z_i
        var[i] = one_minus_beta_1 * z_i + beta_1 * x


@njit(cache=True, parallel=True)
def _muon(var, grad, m, update, momentum_minus_one, lr, scale, decay):
    """m += g + (momentum - 1) m; w -= (lr u) scale, u the orthogonalized update."""
    for i in prange(var.size):
        w = var[i]
        if decay != 0:
            w -= w * decay
        m[i] = m[i] + (grad[i] + m[i] * momentum_minus_one)
        var[i] = w - (lr * update[i]) * scale


def _slot(array, var):
    """An unused slot becomes an empty array of var's type, so the kernel compiles once."""
    return var[:0] if array is None else array


def sgd_update(var, grad, m, lr, momentum, nesterov, decay):
    launch(_sgd, var.size, var, grad, _slot(m, var), lr, momentum, m is not None,
           bool(nesterov), decay)


def adam_update(var, grad, m, v, v_max, alpha, one_minus_beta_1, one_minus_beta_2, epsilon,
                decay):
    launch(_adam, var.size, var, grad, m, v, _slot(v_max, var), alpha, one_minus_beta_1,
           one_minus_beta_2, epsilon, v_max is not None, decay)


def rmsprop_update(var, grad, velocity, mom, average, lr, rho, one_minus_rho, momentum, epsilon,
                   decay):
    launch(_rmsprop, var.size, var, grad, velocity, _slot(mom, var), _slot(average, var), lr,
           rho, one_minus_rho, momentum, epsilon, mom is not None, average is not None, decay)


def adagrad_update(var, grad, accumulator, lr, epsilon, decay):
    launch(_adagrad, var.size, var, grad, accumulator, lr, epsilon, decay)


def adadelta_update(var, grad, accumulated_grad, accumulated_delta, lr, rho, one_minus_rho,
                    epsilon, decay):
    launch(_adadelta, var.size, var, grad, accumulated_grad, accumulated_delta, lr, rho,
           one_minus_rho, epsilon, decay)


def adamax_update(var, grad, m, u, lr, beta_2, one_minus_beta_1, bias_correction, epsilon,
                  decay):
    launch(_adamax, var.size, var, grad, m, u, lr, beta_2, one_minus_beta_1, bias_correction,
           epsilon, decay)


def nadam_update(var, grad, m, v, lr, one_minus_beta_1, one_minus_beta_2, momentum_coef,
                 grad_coef, velocity_coef, epsilon, decay):
    launch(_nadam, var.size, var, grad, m, v, lr, one_minus_beta_1, one_minus_beta_2,
           momentum_coef, grad_coef, velocity_coef, epsilon, decay)


def lion_update(var, grad, m, lr, beta_1, one_minus_beta_1, beta_2, one_minus_beta_2, decay):
    launch(_lion, var.size, var, grad, m, lr, beta_1, one_minus_beta_1, beta_2,
           one_minus_beta_2, decay)


def lamb_update(var, grad, m, v, step, one_minus_beta_1, one_minus_beta_2, bias_correction_1,
                bias_correction_2, epsilon, decay):
    launch(_lamb, var.size, var, grad, m, v, step, one_minus_beta_1, one_minus_beta_2,
           bias_correction_1, bias_correction_2, epsilon, decay)


def ftrl_update(var, grad, accumulator, linear, lr, neg_lr_power, l1, two_l2_shrinkage,
                two_l2_reg, decay):
    launch(_ftrl, var.size, var, grad, accumulator, linear, lr, neg_lr_power, l1,
           two_l2_shrinkage, two_l2_reg, decay)


def adafactor_update(var, grad, r, c, v, r_new, c_new, r_mean, rows, cols, beta_2,
                     one_minus_beta_2, epsilon_1, alpha, divisor, decay):
    launch(_adafactor, var.size, var, grad, r, c, v, _slot(r_new, var), _slot(c_new, var),
           _slot(r_mean, var), int(rows), int(cols), beta_2, one_minus_beta_2, epsilon_1, alpha,
           divisor, r_new is not None, decay)


def schedule_free_adamw_update(var, grad, z, v, lr, beta_1, one_minus_beta_1, one_minus_beta_2,
                               bias_correction_2, epsilon, weight, one_minus_weight, decay):
    launch(_schedule_free_adamw, var.size, var, grad, z, v, lr, beta_1, one_minus_beta_1,
           one_minus_beta_2, bias_correction_2, epsilon, weight, one_minus_weight, decay)


def muon_update(var, grad, m, update, momentum_minus_one, lr, scale, decay):
    launch(_muon, var.size, var, grad, m, update, momentum_minus_one, lr, scale, decay)
