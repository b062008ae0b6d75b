//===- Passes.td - the quantization passes -----------------*- tablegen -*-===//
//
// The quantizing half of the pipeline, in the order qcc runs it:
//
//   qopt-assign-quant-config    which layers, at which precision
//   qopt-assign-precision       mixed precision under a budget (optional)
//   qopt-conv-to-matmul         quantized convolutions as im2col matmuls
//   qopt-instrument-calibration layer inputs as extra results (calibration)
//   qopt-smooth-quant           SmoothQuant, folded into producers
//   qopt-quantize-weights       RTN / GPTQ: weight-only qopt.qmatmul
//   qopt-quantize-activations   static or dynamic activation quantization
//   qopt-pack-weights           weights stored as bit planes
//
// Each reads the layer's precision from its #qopt.quant_config and, where
// it needs data, the calibration statistics file (`calibration-file`) that
// `qcc --save-calibration` writes.
//
//===----------------------------------------------------------------------===//

#ifndef QOPT_TRANSFORMS_QUANT_PASSES_TD
#define QOPT_TRANSFORMS_QUANT_PASSES_TD

include "mlir/Pass/PassBase.td"

def AssignQuantConfig : Pass<"qopt-assign-quant-config", "mlir::ModuleOp"> {
  let summary = "Choose each linear layer's quantization precision";
  let description = [{
    Finds the linear layers of the model (a `linalg.matmul` whose right-hand
    side is a constant, possibly transposed, and 2-D convolutions with
    constant filters), names each (`qopt.layer_name`: its ONNX node name,
    made unique) and attaches a `#qopt.quant_config` built from the global
    options, then from the per-layer configuration file, whose entries apply
    in order to the layers their glob pattern matches:

    ```json
    {"layers": [
      {"match": "*", "wbits": 4, "abits": 8},
      {"match": "*down_proj*", "wbits": 8, "group_size": 0},
      {"match": "lm_head*", "keep_float": true}
    ]}
    ```

    Keys: `match` (glob, required), `wbits`, `abits` (16: weight-only),
    `group_size` (0: per channel), `weight_scheme` and `act_scheme`
    (`sym`/`asym`), `act_quant` (`dynamic`/`static`), `keep_float`.
    Layers matching a `keep-float` pattern stay floating point. A group
    size that does not divide a layer's K is an error naming the layer.
  }];
  let options = [
    Option<"wbits", "wbits", "unsigned", /*default=*/"0",
           "Weight bits of every layer, 1 to 8 (0: only the config file "
           "decides)">,
    Option<"abits", "abits", "unsigned", /*default=*/"16",
           "Activation bits, 1 to 8, or 16 for weight-only">,
    Option<"groupSize", "group-size", "int64_t", /*default=*/"0",
           "Weights per scale along K (0: one scale per output channel)">,
    Option<"weightScheme", "weight-scheme", "std::string", /*default=*/"\"sym\"",
           "Weight scheme: sym or asym">,
    Option<"actScheme", "act-scheme", "std::string", /*default=*/"\"sym\"",
           "Activation scheme: sym or asym">,
    Option<"actQuant", "act-quant", "std::string", /*default=*/"\"dynamic\"",
           "Activation scales: dynamic (per token, at run time) or static "
           "(per tensor, from calibration)">,
    ListOption<"keepFloat", "keep-float", "std::string",
               "Glob patterns of layer names that stay floating point">,
    Option<"configFile", "config-file", "std::string", /*default=*/"\"\"",
           "Per-layer configuration (JSON)">,
  ];
  let dependentDialects = ["qopt::QoptDialect"];
}

def AssignPrecision : Pass<"qopt-assign-precision", "mlir::ModuleOp"> {
  let summary = "Choose each layer's weight and activation bits under a budget";
  let description = [{
    Mixed precision from sensitivity. For every layer with a
    `#qopt.quant_config` (run `qopt-assign-quant-config` first) and every
    candidate (wbits, abits) of `wbits-candidates` x `abits-candidates`, a
    sensitivity (expected output error) is estimated:

    * `proxy`: the Hessian-weighted weight error tr(dW H dW^T) of
      round-to-nearest at that width, H = X^T X / rows from the calibration
      statistics (`calibration-file`), plus for quantized activations the
      error of quantizing the recorded sample rows per token;
    * `measured`: the end-to-end output error with only that layer
      quantized, measured by qcc on calibration data and passed in as
      `sensitivity-file` (`{"layers": {"<layer>": {"W4A16": 0.01, ...}}}`).

    The allocation minimizing the total sensitivity under the budget is then
    found exactly (multiple-choice knapsack, dynamic programming over
    Pareto-optimal states). Budgets: `avg-wbits` (average weight bits over
    the quantized layers' weights), `max-weight-bytes` (packed weights,
    scales and zero points of those layers) or `avg-cost` with a
    `cost-table` (`{"W4A8": 2.0, ...}`: cost per weight of each candidate,
    e.g. relative BitOPs). Each layer's `qopt.quant_config` gets the chosen
    bits; `qopt.precision` records its candidates, costs, sensitivities and
    the choice, and the module's `qopt.precision_budget` the budget and the
    totals. `report` writes them as JSON.
  }];
  let options = [
    Option<"avgWbits", "avg-wbits", "double", /*default=*/"0.0",
           "Budget: average weight bits over the quantized layers">,
    Option<"maxWeightBytes", "max-weight-bytes", "int64_t", /*default=*/"0",
           "Budget: total packed weight bytes of the quantized layers">,
    Option<"avgCost", "avg-cost", "double", /*default=*/"0.0",
           "Budget: average cost per weight, from cost-table">,
    Option<"costTable", "cost-table", "std::string", /*default=*/"\"\"",
           "JSON object: cost per weight of each candidate (\"W4A8\": 2.0)">,
    ListOption<"wbitsCandidates", "wbits-candidates", "unsigned",
               "Weight bits to choose from (default 2,3,4,6,8)">,
    ListOption<"abitsCandidates", "abits-candidates", "unsigned",
               "Activation bits to choose from, 16 for weight-only "
               "(default: each layer's configured abits)">,
    Option<"estimator", "estimator", "std::string", /*default=*/"\"proxy\"",
           "Sensitivity: proxy (Hessian-weighted error) or measured "
           "(from sensitivity-file)">,
    Option<"calibrationFile", "calibration-file", "std::string",
           /*default=*/"\"\"", "Calibration statistics (.npz) with X^T X">,
    Option<"sensitivityFile", "sensitivity-file", "std::string",
           /*default=*/"\"\"", "Measured sensitivities (JSON)">,
    Option<"report", "report", "std::string", /*default=*/"\"\"",
           "Write the allocation as JSON">,
  ];
  let dependentDialects = ["qopt::QoptDialect"];
}

def ConvToMatmul : Pass<"qopt-conv-to-matmul", "mlir::func::FuncOp"> {
  let summary = "Rewrite quantized 2-D convolutions as im2col matmuls";
  let description = [{
    A `linalg.conv_2d_nchw_fchw` carrying a `#qopt.quant_config` becomes an
    im2col gather `[N * OH * OW, C * KH * KW]`, a matmul with the filter
    reshaped to `[C * KH * KW, F]` (a constant), and a transpose back to
    NCHW, so the later passes see one kind of linear layer. The layer's
    attributes move to the matmul.
  }];
  let dependentDialects = ["qopt::QoptDialect", "mlir::linalg::LinalgDialect",
                           "mlir::tensor::TensorDialect",
                           "mlir::arith::ArithDialect"];
}

def InstrumentCalibration : Pass<"qopt-instrument-calibration",
                                 "mlir::ModuleOp"> {
  let summary = "Return each quantized layer's input for calibration";
  let description = [{
    Appends to the entry function (`function`) one result per layer with a
    `#qopt.quant_config`: the layer's 2-D input `[rows, K]` in f32, named
    `qopt.calib:<layer name>` (result attribute `onnx.name`). qcc compiles
    the instrumented model, runs it on the calibration data and accumulates
    the statistics of these results.
  }];
  let options = [
    Option<"function", "function", "std::string", /*default=*/"\"main\"",
           "The entry function">,
  ];
  let dependentDialects = ["qopt::QoptDialect", "mlir::linalg::LinalgDialect",
                           "mlir::arith::ArithDialect",
                           "mlir::tensor::TensorDialect"];
}

def SmoothQuant : Pass<"qopt-smooth-quant", "mlir::func::FuncOp"> {
  let summary = "Migrate activation outliers into the weights (SmoothQuant)";
  let description = [{
    For the layers with quantized activations, groups the layers reading the
    same tensor (e.g. the Q, K and V projections of one LayerNorm) and picks
    per input channel j

      s_j = max|X_j|^alpha / max|W_j|^(1 - alpha)

    (max|W_j| over every layer of the group), multiplies the weights' input
    channel j by s_j and divides the activations by s_j, which leaves the
    float function unchanged. The division is folded into the constants of
    the producing elementwise op when it ends in a per-channel affine map
    (LayerNorm, RMSNorm, a bias add), else applied by a multiply that later
    fuses with the activation quantization. `alpha < 0` searches alpha in
    {0, 0.05, ..., 1} per group for the smallest error of the quantized
    product on the calibration samples. Each layer records its choice in
    `qopt.smoothing`.
  }];
  let options = [
    Option<"calibrationFile", "calibration-file", "std::string",
           /*default=*/"\"\"", "Calibration statistics (.npz)">,
    Option<"alpha", "alpha", "double", /*default=*/"-1.0",
           "Migration strength in [0, 1]; negative: search per group">,
  ];
  let dependentDialects = ["qopt::QoptDialect", "mlir::linalg::LinalgDialect",
                           "mlir::arith::ArithDialect",
                           "mlir::tensor::TensorDialect"];
}

def QuantizeWeights : Pass<"qopt-quantize-weights", "mlir::func::FuncOp"> {
  let summary = "Quantize the weights of each layer (RTN or GPTQ)";
  let description = [{
    Replaces each linear layer with a `#qopt.quant_config` by a weight-only
    `qopt.qmatmul`: integer weights `[N, K]` (storage_cast of an i8
    constant), per-channel or per-group scales, zero points for asymmetric
    weights. `rtn` rounds to nearest with an MSE-optimal clipping search per
    group; `gptq` quantizes column by column, compensating the error with
    the inverse Hessian from the calibration statistics (`calibration-file`).
    Records the relative weight error in `qopt.weight_error`.
  }];
  let options = [
    Option<"method", "method", "std::string", /*default=*/"\"rtn\"",
           "rtn or gptq">,
    Option<"calibrationFile", "calibration-file", "std::string",
           /*default=*/"\"\"", "Calibration statistics (.npz), for gptq">,
    Option<"damp", "damp", "double", /*default=*/"0.01",
           "GPTQ dampening, a fraction of the Hessian's mean diagonal">,
    Option<"blockSize", "block-size", "int64_t", /*default=*/"128",
           "GPTQ columns per lazy update block">,
    Option<"actOrder", "act-order", "bool", /*default=*/"false",
           "GPTQ in order of decreasing Hessian diagonal">,
    Option<"clipSearch", "clip-search", "bool", /*default=*/"true",
           "Search the clipping ratio minimizing each group's squared error">,
  ];
  let dependentDialects = ["qopt::QoptDialect", "mlir::arith::ArithDialect",
                           "mlir::linalg::LinalgDialect",
                           "mlir::tensor::TensorDialect"];
}

def QuantizeActivations : Pass<"qopt-quantize-activations",
                               "mlir::func::FuncOp"> {
  let summary = "Quantize the activations feeding each quantized layer";
  let description = [{
    Turns each weight-only `qopt.qmatmul` whose layer configuration
    quantizes activations into `qopt.quantize` + an integer `qopt.qmatmul`.
    `dynamic_per_token` computes each row's scale (and zero point) at run
    time from the row's range; `static_per_tensor` uses one scale from the
    calibration statistics, chosen by `range`: `absmax` (the observed
    range), `percentile` (the central `percentile` % of values) or `mse`
    (the clipping that minimizes the expected squared error).
  }];
  let options = [
    Option<"calibrationFile", "calibration-file", "std::string",
           /*default=*/"\"\"", "Calibration statistics (.npz), for static "
           "scales">,
    Option<"range", "range", "std::string", /*default=*/"\"mse\"",
           "Static range method: absmax, percentile or mse">,
    Option<"percentile", "percentile", "double", /*default=*/"99.99",
           "With range=percentile: the central mass kept, in percent">,
  ];
  let dependentDialects = ["qopt::QoptDialect", "mlir::arith::ArithDialect",
                           "mlir::linalg::LinalgDialect",
                           "mlir::math::MathDialect",
                           "mlir::tensor::TensorDialect"];
}

def PackWeights : Pass<"qopt-pack-weights", "mlir::func::FuncOp"> {
  let summary = "Store quantized weights as bit planes";
  let description = [{
    Rewrites each constant `qopt.storage_cast` of integer weights (one byte
    per value) into `qopt.bitplane_unpack` of a constant of packed bit
    planes: B bits per weight, K padded to whole 32-bit words, the layout of
    `qopt.bitplane_pack` (with `k_pad = 32`). A W3 layer then takes 3 bits
    per weight in the compiled model. 8-bit weights stay one byte per value:
    eight planes would take as many bytes, and the CPU would decode them on
    every call.
  }];
  let dependentDialects = ["qopt::QoptDialect", "mlir::arith::ArithDialect"];
}

#endif // QOPT_TRANSFORMS_QUANT_PASSES_TD
