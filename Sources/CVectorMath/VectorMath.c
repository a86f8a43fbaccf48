#include "CVectorMath.h"

#include <immintrin.h>
#include <math.h>

// libmvec's AVX2 entry points (glibc 2.22 for exp, 2.35 for log1p), in the x86_64 vector ABI.
__attribute__((target("avx2,fma"))) __m256d _ZGVdN4v_exp(__m256d);
__attribute__((target("avx2,fma"))) __m256d _ZGVdN4v_log1p(__m256d);

static int hasAVX2(void) {
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

__attribute__((target("avx2,fma"))) static long expAVX2(const double *x, double *y, long n) {
    long i = 0;
    for (; i + 4 <= n; i += 4) _mm256_storeu_pd(y + i, _ZGVdN4v_exp(_mm256_loadu_pd(x + i)));
    return i;
}

__attribute__((target("avx2,fma"))) static long log1pAVX2(const double *x, double *y, long n) {
    long i = 0;
    for (; i + 4 <= n; i += 4) _mm256_storeu_pd(y + i, _ZGVdN4v_log1p(_mm256_loadu_pd(x + i)));
    return i;
}

void mixmc_exp(const double *x, double *y, long n) {
    long i = hasAVX2() ? expAVX2(x, y, n) : 0;
    for (; i < n; i++) y[i] = exp(x[i]);
}

void mixmc_log1p(const double *x, double *y, long n) {
    long i = hasAVX2() ? log1pAVX2(x, y, n) : 0;
    for (; i < n; i++) y[i] = log1p(x[i]);
}
