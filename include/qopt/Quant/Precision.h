//===- Precision.h - per-layer precision under a budget ---------*- C++ -*-===//
//
// Mixed-precision assignment, independent of the IR:
//  * the sensitivity proxy of one layer at one candidate precision: the
//    Hessian-weighted weight error tr(dW H dW^T) with H = X^T X / rows from
//    the calibration statistics, plus (for quantized activations) the output
//    error of quantizing the calibration sample rows per token;
//  * the exact allocation: choose one candidate per layer minimizing the
//    total sensitivity subject to a total integer cost <= budget (a
//    multiple-choice knapsack), solved by dynamic programming over the
//    Pareto-optimal (cost, sensitivity) states of each prefix of layers.
//    No discretization is needed: costs are integers (bits or bytes), and
//    a prefix state that is dominated (no cheaper and no better) can never
//    be part of an optimal completion, so pruning keeps the DP exact.
//
//===----------------------------------------------------------------------===//

#ifndef QOPT_QUANT_PRECISION_H
#define QOPT_QUANT_PRECISION_H

#include "qopt/Quant/Quantizers.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace qopt::quant {

/// One candidate precision of one layer.
struct PrecisionOption {
  unsigned wbits = 8;
  unsigned abits = 16; ///< 16: weight-only
  int64_t cost = 0;    ///< in the budget's unit (bits, bytes, table units)
  double sensitivity = 0;
};

/// A choice of one option per layer.
struct Allocation {
  std::vector<unsigned> choice; ///< index into each layer's options
  int64_t cost = 0;
  double sensitivity = 0;
};

/// The allocation with the least total sensitivity whose total cost is at
/// most `budget`; among equal sensitivities the cheaper one. Fails (naming
/// the cheapest possible cost) when even the cheapest allocation exceeds the
/// budget, or when a layer has no options or a negative cost.
llvm::Expected<Allocation>
solvePrecisionKnapsack(llvm::ArrayRef<std::vector<PrecisionOption>> layers,
                       int64_t budget);

/// Every Pareto-optimal allocation (no other is both no more costly and of
/// lower sensitivity), by increasing cost and decreasing sensitivity. The
/// optimum under any budget is the last entry with cost <= budget.
std::vector<Allocation>
precisionParetoFront(llvm::ArrayRef<std::vector<PrecisionOption>> layers);

/// Exhaustive search, for testing the solver on small instances; nullopt
/// when nothing fits.
std::optional<Allocation>
bruteForcePrecision(llvm::ArrayRef<std::vector<PrecisionOption>> layers,
                    int64_t budget);

/// Bytes a layer's weights take once packed (qopt-pack-weights: `wbits`
/// bit planes of N rows of K padded to 32-bit words) with its f32 scales
/// and, for asymmetric weights, i32 zero points (one per group per row).
int64_t packedWeightBytes(int64_t n, int64_t k, unsigned wbits,
                          int64_t groupSize, bool symmetric);

/// The sensitivity proxy of quantizing a layer (weights [N, K] row-major)
/// with `weightConfig` and its activations to `abits` (16: none): the
/// expected squared output error per input row,
///   tr(dW H dW^T) + mean_rows ||(Q(x) - x) Wq^T||^2,
/// with H = X^T X / rows (`hessian`, [K, K]) and the activation term over
/// `samples` ([numSamples, K]) quantized per row (dynamic per-token, the
/// pipeline's default).
double proxySensitivity(llvm::ArrayRef<float> weights, int64_t n, int64_t k,
                        llvm::ArrayRef<double> hessian,
                        llvm::ArrayRef<float> samples, int64_t numSamples,
                        const WeightQuantConfig &weightConfig, unsigned abits,
                        bool actSymmetric);

} // namespace qopt::quant

#endif // QOPT_QUANT_PRECISION_H
