//===- PrecisionReport.h - the precision allocation as JSON and HTML -*- C++
//-*-//
//
// qopt-assign-precision records its work in the IR: per layer
// `qopt.precision` (candidates, costs, packed bytes, sensitivities, the
// chosen index) and on the module `qopt.precision_budget`. The report is
// read from those attributes only, so the IR, the JSON and the page agree.
//
//===----------------------------------------------------------------------===//

#ifndef QOPT_TRANSFORMS_QUANT_PRECISIONREPORT_H
#define QOPT_TRANSFORMS_QUANT_PRECISIONREPORT_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

#include <string>

namespace qopt {

constexpr const char *kPrecisionAttr = "qopt.precision";
constexpr const char *kPrecisionBudgetAttr = "qopt.precision_budget";

/// "W4A16".
std::string precisionCandidateKey(unsigned wbits, unsigned abits);

/// A number as printf's %g writes it ("1.5", "3.25", "1e+06").
std::string shortNumber(double value);

/// The allocation recorded in `module`: {"budget": {...}, "layers": [{name,
/// n, k, params, candidates: [{wbits, abits, cost, bytes, sensitivity}],
/// chosen: {...}}], "totals": {...}, "pareto": [{cost, avg_wbits,
/// weight_bytes, predicted, choice: ["W4A16", ...]}]} (the Pareto front of
/// the same problem, at most `maxParetoPoints` points, the chosen one
/// included). Empty when the module has no allocation.
llvm::json::Object precisionReport(mlir::ModuleOp module,
                                   size_t maxParetoPoints = 64);

/// A self-contained HTML page (inline SVG, no scripts) of a report: the
/// Pareto front of budget against predicted error and, where the report has
/// "measured" points, against measured output error; and the per-layer bit
/// map (candidates by sensitivity, the choice marked).
std::string precisionReportHtml(const llvm::json::Object &report);

/// Writes `report` as indented JSON.
llvm::Error writePrecisionJson(llvm::StringRef path,
                               const llvm::json::Object &report);

} // namespace qopt

#endif // QOPT_TRANSFORMS_QUANT_PRECISIONREPORT_H
