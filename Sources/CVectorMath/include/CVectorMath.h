#ifndef MIXMC_CVECTORMATH_H
#define MIXMC_CVECTORMATH_H

/// y[i] = exp(x[i]) and y[i] = log1p(x[i]) for 0 <= i < n (x and y may be the same array), four at
/// a time through glibc's vector math library (libmvec, its AVX2 variants) on a CPU with AVX2 and
/// FMA, one at a time through libm elsewhere and for the last n mod 4. libmvec's results are
/// within 4 ulp of libm's, not always equal to them: the samplers use these only for values that
/// are compared (Metropolis-Hastings ratios, slice levels), never for values they keep.
void mixmc_exp(const double *x, double *y, long n);
void mixmc_log1p(const double *x, double *y, long n);

#endif
