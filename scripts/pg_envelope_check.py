#!/usr/bin/env python3
"""Checks the envelope of the alternate Polya-Gamma sampler (docs/math.md, eq. 86) in 60-digit
arithmetic (mpmath): for h = 1, 1.05, ..., 4

  t(h)    the root of log a0L(t|h) = log kR(t|h) (bisection),
  left    t(h) <= 2(h+1)/log(h+2), where a1L <= a0L, so a0L >= f on (0, t(h)],
  right   max f/kR over 200 points of [t(h), 40] (must stay below 1),

with f(x|h) the J*(h, 0) density by its left series. Prints one line per h. Takes a few
minutes. Usage: python3 scripts/pg_envelope_check.py
"""
import mpmath as mp

mp.mp.dps = 60


def log_kernel_difference(t, h):
    return (h * mp.log(2) + mp.log(h) - mp.log(2 * mp.pi) / 2 - h * mp.log(mp.pi / 2) + mp.loggamma(h)
            - (h + mp.mpf(1) / 2) * mp.log(t) - h * h / (2 * t) + mp.pi ** 2 * t / 8)


def crossing_point(h):
    lower, upper = mp.mpf("0.05"), mp.mpf(20)
    for _ in range(200):
        middle = (lower + upper) / 2
        if log_kernel_difference(middle, h) < 0:
            lower = middle
        else:
            upper = middle
    return (lower + upper) / 2


def density(x, h):
    total, n = mp.mpf(0), 0
    while True:
        d = 2 * n + h
        term = mp.exp(h * mp.log(2) + mp.loggamma(n + h) - mp.loggamma(h) - mp.loggamma(n + 1) + mp.log(d)
                      - mp.log(2 * mp.pi * x ** 3) / 2 - d * d / (2 * x))
        total += term if n % 2 == 0 else -term
        n += 1
        if n > 5 and term < mp.mpf(10) ** -50 * abs(total):
            return total


def right_kernel(x, h):
    return mp.exp(h * mp.log(mp.pi / 2) + (h - 1) * mp.log(x) - mp.pi ** 2 * x / 8 - mp.loggamma(h))


for i in range(61):
    h = 1 + mp.mpf(i) / 20
    t = crossing_point(h)
    left_limit = 2 * (h + 1) / mp.log(h + 2)
    ratio = max(density(x, h) / right_kernel(x, h) for x in mp.linspace(t, 40, 200))
    print(f"h={float(h):.2f} t={mp.nstr(t, 8)} left_limit={mp.nstr(left_limit, 5)} "
          f"left_ok={t <= left_limit} max_f_over_kR={mp.nstr(ratio, 15)}")
