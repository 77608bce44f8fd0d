// qualm/engine/beta_sampler.h: Gamma and Beta draws that give the same bits on
// every machine (Mixup's lambda, mixup.h).
//
// std::gamma_distribution is not specified bit for bit, and libm's log/exp may
// differ in the last bit between C libraries, which would flip Mixup's lambda
// and so a whole training run. So the transcendental functions these samplers
// need are computed here from +, -, *, / and exact power-of-two scaling only
// (IEEE-754 double; the project compiles with -ffp-contract=off, so no FMA
// contraction changes the roundings): the results are the same bits on any
// IEEE machine, and accurate to a few units in the last place, far below what
// the statistics of a sampler can see.
#pragma once

#include "qualm/engine/random.h"

namespace qualm {

// ln(x) for finite x > 0 (x <= 0 gives -infinity, as the samplers never ask).
double PortableLog(double x);
// e^x; 0 below -745, +infinity above 709.78.
double PortableExp(double x);
// Uniform in (0, 1), never 0 or 1, with 53 random bits.
double OpenUniform(Rng& rng);
// Standard normal by Marsaglia's polar method (one value per call).
double PortableNormal(Rng& rng);
// ln of a Gamma(alpha, 1) draw, alpha > 0: Marsaglia & Tsang (2000) for
// alpha >= 1; for alpha < 1 their boost Gamma(alpha) = Gamma(alpha + 1) *
// U^(1/alpha), kept in logs so that the tiny draws small alphas make do not
// underflow to 0.
double SampleLogGamma(double alpha, Rng& rng);
// Beta(a, b) = X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b), computed as
// 1 / (1 + e^(ln Y - ln X)); a, b > 0. The result lies in [0, 1].
double SampleBeta(double a, double b, Rng& rng);

}  // namespace qualm
