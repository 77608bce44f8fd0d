// qualm/study/stats.h: the statistics behind the study's analyses (issue 10).
//
// Pure functions over numbers already computed by the study grid (the float
// model's softmax, the two top-1 predictions, the labels): no file I/O and no
// model runs. Every random draw goes through the seeded qualm::Rng, every sum
// runs in a fixed order, so the same inputs and seed give the same numbers.
//
//   stats/uncertainty.h  Margin, Entropy, Gini, Least Confidence per softmax row (RQ3)
//   stats/ranking.h      AUROC, AUPR (average precision), TNR at 95 % TPR, ROC points
//   stats/logistic.h     one-feature L2 logistic regression, k-fold CV, the RQ3 protocol
//   stats/seed_stats.h   mean, sample sd, percentile bootstrap of a mean / paired difference
//   stats/guard.h        a margin threshold reaching a requested recall, and its outcome
#pragma once

#include "qualm/study/stats/guard.h"
#include "qualm/study/stats/logistic.h"
#include "qualm/study/stats/ranking.h"
#include "qualm/study/stats/seed_stats.h"
#include "qualm/study/stats/uncertainty.h"
