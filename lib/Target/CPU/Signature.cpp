//===- Signature.cpp - the input/output signature of a compiled model -----===//

#include "qopt/Target/CPU.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

/// ONNX dtype of an element type, refined by an onnx.dtype attribute.
static FailureOr<int32_t> dtypeOf(Type type, DictionaryAttr attrs) {
  if (attrs)
    if (auto name = attrs.getAs<StringAttr>("onnx.dtype")) {
      static const std::pair<const char *, int32_t> names[] = {
          {"uint8", 2},   {"int8", 3},    {"uint16", 4},  {"int16", 5},
          {"int32", 6},   {"int64", 7},   {"bool", 9},    {"float16", 10},
          {"float64", 11}, {"uint32", 12}, {"uint64", 13}, {"bfloat16", 16},
          {"uint4", 21},  {"int4", 22},   {"float32", 1}};
      for (auto [n, v] : names)
        if (name.getValue() == n)
          return v;
    }
  if (type.isF32())
    return 1;
  if (type.isF16())
    return 10;
  if (type.isBF16())
    return 16;
  if (type.isF64())
    return 11;
  if (type.isInteger(1))
    return 9;
  if (type.isInteger(8))
    return 3;
  if (type.isInteger(16))
    return 5;
  if (type.isInteger(32))
    return 6;
  if (type.isInteger(64))
    return 7;
  return failure();
}

static FailureOr<qopt::TensorSignature>
tensorSignature(Type type, DictionaryAttr attrs, StringRef fallbackName,
                func::FuncOp func) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor)
    return func.emitError() << "entry values must be ranked tensors, got "
                            << type;
  if (tensor.getRank() > 8)
    return func.emitError() << "tensors of rank above 8 are not supported";
  FailureOr<int32_t> dtype = dtypeOf(tensor.getElementType(), attrs);
  if (failed(dtype))
    return func.emitError() << "unsupported element type "
                            << tensor.getElementType();
  qopt::TensorSignature sig;
  sig.dtype = *dtype;
  sig.name = fallbackName.str();
  if (attrs)
    if (auto name = attrs.getAs<StringAttr>("onnx.name"))
      sig.name = name.getValue().str();
  ArrayAttr dimParams = attrs ? attrs.getAs<ArrayAttr>("onnx.dim_params")
                              : ArrayAttr();
  for (int64_t i = 0; i < tensor.getRank(); ++i) {
    sig.shape.push_back(tensor.isDynamicDim(i) ? -1 : tensor.getDimSize(i));
    std::string dimName;
    if (dimParams && i < static_cast<int64_t>(dimParams.size()))
      if (auto s = dyn_cast<StringAttr>(dimParams[i]))
        dimName = s.getValue().str();
    sig.dimNames.push_back(dimName);
  }
  return sig;
}

FailureOr<qopt::ModelSignature>
qopt::prepareEntryFunction(ModuleOp module, StringRef functionName) {
  auto func = module.lookupSymbol<func::FuncOp>(functionName);
  if (!func || func.isExternal())
    return module.emitError() << "no function @" << functionName
                              << " to compile";
  ModelSignature signature;
  FunctionType type = func.getFunctionType();
  for (unsigned i = 0; i < type.getNumInputs(); ++i) {
    FailureOr<TensorSignature> s = tensorSignature(
        type.getInput(i), func.getArgAttrDict(i), "input_" + std::to_string(i),
        func);
    if (failed(s))
      return failure();
    signature.inputs.push_back(*s);
    // The caller's buffers are read-only.
    func.setArgAttr(i, "bufferization.writable",
                    BoolAttr::get(module.getContext(), false));
  }
  for (unsigned i = 0; i < type.getNumResults(); ++i) {
    FailureOr<TensorSignature> s =
        tensorSignature(type.getResult(i), func.getResultAttrDict(i),
                        "output_" + std::to_string(i), func);
    if (failed(s))
      return failure();
    signature.outputs.push_back(*s);
  }
  if (signature.outputs.empty())
    return func.emitError() << "the model has no outputs";
  if (functionName != kGraphFunctionName &&
      module.lookupSymbol(kGraphFunctionName))
    return module.emitError() << "symbol @" << kGraphFunctionName
                              << " is already used";
  func.setSymName(kGraphFunctionName);
  func->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(),
                UnitAttr::get(module.getContext()));
  return signature;
}

/// Percent-encodes tabs, newlines, commas and '%' (the format's separators).
static std::string escape(StringRef s) {
  std::string out;
  for (char c : s) {
    if (c == '\t' || c == '\n' || c == ',' || c == '%' || c == '\r' || c == 0) {
      out += '%';
      out += llvm::hexdigit((c >> 4) & 0xF, /*LowerCase=*/false);
      out += llvm::hexdigit(c & 0xF, /*LowerCase=*/false);
    } else {
      out += c;
    }
  }
  return out;
}

std::string qopt::ModelSignature::serialize() const {
  std::string text = "qopt-signature\t1\n";
  llvm::raw_string_ostream os(text);
  auto emit = [&](StringRef kind, const TensorSignature &t) {
    os << kind << '\t' << escape(t.name) << '\t' << t.dtype << '\t'
       << t.shape.size() << '\t';
    llvm::interleave(t.shape, os, ",");
    os << '\t';
    llvm::interleave(
        t.dimNames, [&](const std::string &n) { os << escape(n); },
        [&] { os << ','; });
    os << '\n';
  };
  for (const TensorSignature &t : inputs)
    emit("input", t);
  for (const TensorSignature &t : outputs)
    emit("output", t);
  return text;
}
