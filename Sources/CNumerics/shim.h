#ifndef MIXMC_CNUMERICS_SHIM_H
#define MIXMC_CNUMERICS_SHIM_H
// One header for OpenBLAS (cblas), LAPACKE and GSL.
// GSL ships its own gsl_cblas.h whose enums clash with OpenBLAS's cblas.h; defining its guard
// keeps it out. Only GSL headers that do not need GSL's CBLAS types are included here.
#include <cblas.h>
#include <lapacke.h>
#define __GSL_CBLAS_H__
#include <gsl/gsl_errno.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_sf_gamma.h>
#include <gsl/gsl_sf_erf.h>
#include <gsl/gsl_fft_real.h>
#include <gsl/gsl_fft_complex.h>
#include <gsl/gsl_fft_halfcomplex.h>
#include <nlopt.h>

// Swift 6 refuses to read C globals; these accessors hand the generator types over safely.
static inline const gsl_rng_type *mixmc_rng_mt19937(void) { return gsl_rng_mt19937; }

#endif
