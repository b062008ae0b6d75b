//===- QoptAttrs.td - qopt attribute definitions -----------*- tablegen -*-===//

#ifndef QOPT_DIALECT_QOPT_IR_QOPTATTRS_TD
#define QOPT_DIALECT_QOPT_IR_QOPTATTRS_TD

include "qopt/Dialect/Qopt/IR/QoptBase.td"
include "mlir/IR/EnumAttr.td"

def Qopt_Granularity : I32EnumAttr<"Granularity",
    "how many values share one scale", [
      I32EnumAttrCase<"PerTensor", 0, "per_tensor">,
      I32EnumAttrCase<"PerChannel", 1, "per_channel">,
      I32EnumAttrCase<"PerGroup", 2, "per_group">
    ]> {
  let cppNamespace = "::qopt";
  let genSpecializedAttr = 0;
}

def Qopt_RoundingMode : I32EnumAttr<"RoundingMode",
    "how a scaled value is rounded to an integer", [
      I32EnumAttrCase<"NearestEven", 0, "nearest_even">,
      I32EnumAttrCase<"NearestAway", 1, "nearest_away">,
      I32EnumAttrCase<"NearestTowardZero", 2, "nearest_toward_zero">,
      I32EnumAttrCase<"TowardZero", 3, "toward_zero">,
      I32EnumAttrCase<"AwayFromZero", 4, "away_from_zero">,
      I32EnumAttrCase<"Floor", 5, "floor">,
      I32EnumAttrCase<"Ceil", 6, "ceil">
    ]> {
  let cppNamespace = "::qopt";
  let genSpecializedAttr = 0;
}

def Qopt_QuantSchemeAttr : AttrDef<Qopt_Dialect, "QuantScheme"> {
  let mnemonic = "scheme";
  let summary = "granularity, symmetry and rounding of a quantization";
  let description = [{
    Describes how a tensor is quantized, independent of the bit width (which
    the storage type `!qopt.int<...>` carries) and of the scale values (which
    are SSA operands):

    * `per_tensor`: one scale (and zero point) for the whole tensor; the scale
      operand has rank 0 or a single element.
    * `per_channel(axis = a)`: one scale per index along dimension `a`; the
      scale is 1-D of size `dim(a)`.
    * `per_group(axis = a, group_size = g)`: consecutive runs of `g` values
      along dimension `a` (the reduction dimension of a weight) share a scale;
      the scale has the data's rank with `dim(a)` replaced by `dim(a) / g`.
      `g` must divide `dim(a)`. This is ONNX's blocked quantization layout.
    * `symmetric`: zero maps to integer zero, no zero point is given;
      `asymmetric`: a zero-point tensor of the scale's shape is required.
    * `narrow_range`: the most negative signed value (or the largest unsigned
      one) is excluded, e.g. [-127, 127] for 8 bits signed, [0, 254] unsigned,
      as QONNX's `narrow` attribute; absent means the full range.
    * `rounding`: how `x / scale` is rounded; the default `nearest_even` is
      round-half-to-even (IEEE, ONNX QuantizeLinear) and is not printed.
      `nearest_away` and `nearest_toward_zero` break ties away from and
      toward zero; `toward_zero`, `away_from_zero`, `floor` and `ceil` are
      directed roundings (QONNX's DOWN, UP, FLOOR and CEIL).

    Examples:
    ```
    #qopt.scheme<per_tensor, symmetric>
    #qopt.scheme<per_channel(axis = 0), asymmetric>
    #qopt.scheme<per_tensor, symmetric, narrow_range>
    #qopt.scheme<per_group(axis = 1, group_size = 128), symmetric, rounding = nearest_away>
    ```
  }];
  let parameters = (ins
    EnumParameter<Qopt_Granularity>:$granularity,
    "int64_t":$axis,
    "int64_t":$groupSize,
    "bool":$symmetric,
    "bool":$narrowRange,
    EnumParameter<Qopt_RoundingMode>:$rounding);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let builders = [
    AttrBuilder<(ins "Granularity":$granularity, "int64_t":$axis,
                     "int64_t":$groupSize, "bool":$symmetric), [{
      return $_get($_ctxt, granularity, axis, groupSize, symmetric,
                   /*narrowRange=*/false, RoundingMode::NearestEven);
    }]>
  ];
  let extraClassDeclaration = [{
    bool isPerTensor() const { return getGranularity() == Granularity::PerTensor; }
    bool isPerChannel() const { return getGranularity() == Granularity::PerChannel; }
    bool isPerGroup() const { return getGranularity() == Granularity::PerGroup; }
    /// The shape a scale (or zero point) must have for data of `shape` under
    /// this scheme; dynamic data dims give dynamic scale dims. Per-tensor
    /// returns the empty (rank-0) shape.
    ::llvm::SmallVector<int64_t> getScaleShape(::llvm::ArrayRef<int64_t> shape) const;
    /// The smallest and largest quantized value of `storage` under this
    /// scheme (narrow range excludes one end).
    int64_t getQuantMin(IntType storage) const;
    int64_t getQuantMax(IntType storage) const;
  }];
}

def Qopt_ActQuant : I32EnumAttr<"ActQuant",
    "how a layer's activations are quantized", [
      I32EnumAttrCase<"None", 0, "none">,
      I32EnumAttrCase<"DynamicPerToken", 1, "dynamic_per_token">,
      I32EnumAttrCase<"StaticPerTensor", 2, "static_per_tensor">
    ]> {
  let cppNamespace = "::qopt";
  let genSpecializedAttr = 0;
}

def Qopt_QuantConfigAttr : AttrDef<Qopt_Dialect, "QuantConfig"> {
  let mnemonic = "quant_config";
  let summary = "the precision chosen for one linear layer";
  let description = [{
    Attached (as `qopt.quant_config`) to each linear layer the quantization
    passes work on, by `qopt-assign-quant-config` or the precision
    assignment; every later pass reads the layer's precision from it.

    * `wbits`: weight bits, 1 to 8; `weight_symmetric`: signed weights and no
      zero point, else unsigned weights with zero points;
    * `group_size`: weights share a scale per run of `group_size` values
      along K (it must divide K), or per output channel when 0;
    * `act_quant`: `none` keeps the activations in floating point
      (weight-only, `abits = 16`); `dynamic_per_token` computes a scale per
      row of the activation at run time; `static_per_tensor` uses one scale
      fixed by calibration;
    * `abits`: activation bits, 1 to 8 (16 with `act_quant = none`);
      `act_symmetric`: signed activations and no zero point.

    ```mlir
    #qopt.quant_config<wbits = 4, abits = 8, group_size = 128, weight_symmetric = true, act_symmetric = true, act_quant = dynamic_per_token>
    ```
  }];
  let parameters = (ins "unsigned":$wbits, "unsigned":$abits,
                        "int64_t":$group_size, "bool":$weight_symmetric,
                        "bool":$act_symmetric,
                        EnumParameter<Qopt_ActQuant>:$act_quant);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    bool isWeightOnly() const { return getActQuant() == ActQuant::None; }
  }];
}

#endif // QOPT_DIALECT_QOPT_IR_QOPTATTRS_TD
