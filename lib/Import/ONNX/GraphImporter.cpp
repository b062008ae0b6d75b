//===- GraphImporter.cpp - ONNX graph to MLIR -----------------------------===//

#include "Importer.h"
#include "OnnxChecks.h"

#include "qopt/Dialect/Qopt/IR/QoptDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <climits>
#include <cmath>
#include <cstring>

using namespace mlir;
using namespace qopt;
using namespace qopt::onnx_import;

//===----------------------------------------------------------------------===//
// OpRegistry
//===----------------------------------------------------------------------===//

static std::string registryKey(llvm::StringRef domain, llvm::StringRef op) {
  return (canonicalDomain(domain) + "::" + op).str();
}

void OpRegistry::add(llvm::StringRef domain, llvm::StringRef opType,
                     ConvertFn fn, int64_t minOpset, int64_t maxOpset) {
  entries[registryKey(domain, opType)].push_back({minOpset, maxOpset, fn});
}

ConvertFn OpRegistry::lookup(llvm::StringRef domain, llvm::StringRef opType,
                             int64_t opset) const {
  auto it = entries.find(registryKey(domain, opType));
  if (it == entries.end())
    return nullptr;
  for (const Entry &e : it->second)
    if (opset >= e.minOpset && opset <= e.maxOpset)
      return e.fn;
  return nullptr;
}

const OpRegistry &OpRegistry::get() {
  static const OpRegistry registry = [] {
    OpRegistry r;
    registerElementwiseOps(r);
    registerLinearOps(r);
    registerShapeOps(r);
    registerReductionOps(r);
    registerQuantOps(r);
    registerResizeOps(r);
    registerRecurrentOps(r);
    r.add(
        "", "If", [](NodeContext &ctx) { return ctx.importer.importIf(ctx); },
        1);
    return r;
  }();
  return registry;
}

//===----------------------------------------------------------------------===//
// NodeContext
//===----------------------------------------------------------------------===//

InFlightDiagnostic NodeContext::error() {
  InFlightDiagnostic diag = emitError(loc);
  diag << "node '" << node.name() << "' (" << node.op_type() << "): ";
  return diag;
}

const onnx::AttributeProto *NodeContext::attr(llvm::StringRef name) const {
  for (const onnx::AttributeProto &a : node.attribute())
    if (a.name() == name)
      return &a;
  return nullptr;
}

int64_t NodeContext::getInt(llvm::StringRef name, int64_t defaultValue) const {
  const onnx::AttributeProto *a = attr(name);
  return a ? a->i() : defaultValue;
}

float NodeContext::getFloat(llvm::StringRef name, float defaultValue) const {
  const onnx::AttributeProto *a = attr(name);
  return a ? a->f() : defaultValue;
}

std::string NodeContext::getString(llvm::StringRef name,
                                   llvm::StringRef defaultValue) const {
  const onnx::AttributeProto *a = attr(name);
  return a ? a->s() : defaultValue.str();
}

std::optional<SmallVector<int64_t>>
NodeContext::getInts(llvm::StringRef name) const {
  const onnx::AttributeProto *a = attr(name);
  if (!a)
    return std::nullopt;
  return SmallVector<int64_t>(a->ints().begin(), a->ints().end());
}

std::optional<SmallVector<float>>
NodeContext::getFloats(llvm::StringRef name) const {
  const onnx::AttributeProto *a = attr(name);
  if (!a)
    return std::nullopt;
  return SmallVector<float>(a->floats().begin(), a->floats().end());
}

Value NodeContext::input(unsigned i) {
  if (!hasInput(i)) {
    error() << "missing input " << i;
    return {};
  }
  FailureOr<Value> v = importer.getTensor(node.input(i), loc);
  return succeeded(v) ? *v : Value();
}

int32_t NodeContext::inputDType(unsigned i) {
  if (!hasInput(i))
    return kUndefined;
  ValueInfo *info = importer.lookup(node.input(i));
  return info ? info->dtype : kUndefined;
}

RankedTensorType NodeContext::inputType(unsigned i) {
  if (!hasInput(i))
    return {};
  ValueInfo *info = importer.lookup(node.input(i));
  return info ? info->type : RankedTensorType();
}

const DecodedTensor *NodeContext::constTensor(unsigned i) {
  if (!hasInput(i))
    return nullptr;
  ValueInfo *info = importer.lookup(node.input(i));
  if (!info || !info->tensor)
    return nullptr;
  return importer.getDecoded(info->tensor, loc);
}

std::optional<SmallVector<OpFoldResult>> NodeContext::intElems(unsigned i) {
  if (!hasInput(i))
    return std::nullopt;
  ValueInfo *info = importer.lookup(node.input(i));
  if (!info)
    return std::nullopt;
  if (info->elems)
    return info->elems;
  if (info->tensor && (isIntDType(info->dtype) || info->dtype == kBool)) {
    const DecodedTensor *t = importer.getDecoded(info->tensor, loc);
    if (!t || t->shape.size() > 1 || t->numElements > 1024)
      return std::nullopt;
    SmallVector<OpFoldResult> elems;
    for (int64_t v : t->toInts())
      elems.push_back(b.getI64IntegerAttr(v));
    return elems;
  }
  return std::nullopt;
}

std::optional<SmallVector<int64_t>> NodeContext::constInts(unsigned i) {
  std::optional<SmallVector<OpFoldResult>> elems = intElems(i);
  if (elems) {
    SmallVector<int64_t> ints;
    for (OpFoldResult e : *elems) {
      auto attr = dyn_cast<Attribute>(e);
      if (!attr)
        return std::nullopt;
      ints.push_back(cast<IntegerAttr>(attr).getInt());
    }
    return ints;
  }
  return std::nullopt;
}

std::optional<SmallVector<double>> NodeContext::constFloats(unsigned i) {
  if (const DecodedTensor *t = constTensor(i)) {
    std::vector<double> v = t->toDoubles();
    return SmallVector<double>(v.begin(), v.end());
  }
  if (std::optional<SmallVector<int64_t>> ints = constInts(i))
    return SmallVector<double>(ints->begin(), ints->end());
  return std::nullopt;
}

void NodeContext::setOutput(unsigned i, Value value, int32_t dtype) {
  if (!hasOutput(i))
    return;
  auto type = cast<RankedTensorType>(value.getType());
  ValueInfo info;
  info.value = value;
  info.type = type;
  info.dtype = dtype != kUndefined ? dtype : typeToDType(type.getElementType());
  importer.bind(node.output(i), std::move(info));
}

void NodeContext::setOutputElems(unsigned i, ArrayRef<OpFoldResult> elems,
                                 int32_t dtype, bool rank0) {
  if (!hasOutput(i))
    return;
  ValueInfo info;
  info.dtype = dtype;
  SmallVector<int64_t> shape;
  if (!rank0)
    shape.push_back(elems.size());
  info.type = RankedTensorType::get(shape, dtypeToType(ctx(), dtype));
  info.elems = SmallVector<OpFoldResult>(elems);
  importer.bind(node.output(i), std::move(info));
}

LogicalResult NodeContext::expectInputs(unsigned min, unsigned max) {
  if (numInputs() < min || numInputs() > max) {
    InFlightDiagnostic diag = error();
    diag << "expected ";
    if (min == max)
      diag << min;
    else
      diag << min << " to " << max;
    return diag << " inputs, got " << numInputs();
  }
  for (unsigned i = 0; i < min; ++i)
    if (!hasInput(i))
      return error() << "required input " << i << " is missing";
  return success();
}

//===----------------------------------------------------------------------===//
// GraphImporter
//===----------------------------------------------------------------------===//

ValueInfo *GraphImporter::lookup(llvm::StringRef name) {
  auto it = values.find(name);
  return it == values.end() ? nullptr : &it->second;
}

const DecodedTensor *GraphImporter::getDecoded(const onnx::TensorProto *tensor,
                                               Location loc) {
  auto it = decoded.find(tensor);
  if (it != decoded.end())
    return it->second.get();
  FailureOr<DecodedTensor> result =
      decodeTensor(*tensor, model, [&] { return emitError(loc); });
  if (failed(result))
    return nullptr;
  auto owned = std::make_unique<DecodedTensor>(std::move(*result));
  const DecodedTensor *ptr = owned.get();
  decoded[tensor] = std::move(owned);
  return ptr;
}

/// A resource key made of identifier characters, unique in this import.
static std::string resourceKey(llvm::StringRef name,
                               llvm::StringSet<> &used) {
  std::string base;
  for (char c : name)
    base.push_back(llvm::isAlnum(c) || c == '_' || c == '.' ? c : '_');
  if (base.empty() || llvm::isDigit(base[0]))
    base.insert(0, "w_");
  std::string key = base;
  for (int n = 1; !used.insert(key).second; ++n)
    key = base + "_" + std::to_string(n);
  return key;
}

Value GraphImporter::materializeConstant(const DecodedTensor &tensor,
                                         llvm::StringRef name, Location loc) {
  MLIRContext *ctx = model.context;
  auto type =
      RankedTensorType::get(tensor.shape, dtypeToType(ctx, tensor.dtype));
  ArrayRef<char> raw(tensor.blob.getData().data(),
                     tensor.numElements * dtypeStorageBytes(tensor.dtype));
  ElementsAttr value;
  if (tensor.dtype == kBool) {
    SmallVector<bool> bits;
    for (int64_t v : tensor.toInts())
      bits.push_back(v != 0);
    value = DenseElementsAttr::get(type, ArrayRef<bool>(bits));
  } else if (tensor.numElements <= model.options.resourceThreshold) {
    value = DenseElementsAttr::getFromRawBuffer(type, raw);
  } else {
    AsmResourceBlob blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(
        raw, dtypeStorageBytes(tensor.dtype));
    value = DenseResourceElementsAttr::get(
        type, resourceKey(name, resourceNames), std::move(blob));
  }
  return arith::ConstantOp::create(builder, loc, cast<TypedAttr>(value));
}

FailureOr<Value> GraphImporter::getTensor(llvm::StringRef name, Location loc) {
  ValueInfo *info = lookup(name);
  if (!info)
    return emitError(loc) << "value '" << name
                          << "' is used before it is defined";
  if (info->value)
    return info->value;
  if (info->tensor) {
    const DecodedTensor *t = getDecoded(info->tensor, loc);
    if (!t)
      return failure();
    info = lookup(name); // decoding does not add values, but stay safe
    info->value = materializeConstant(*t, name, loc);
    return info->value;
  }
  if (info->elems) {
    Type elemType = info->type.getElementType();
    SmallVector<Value> scalars;
    for (OpFoldResult e : *info->elems) {
      if (auto attr = dyn_cast<Attribute>(e)) {
        int64_t v = cast<IntegerAttr>(attr).getInt();
        scalars.push_back(arith::ConstantOp::create(
            builder, loc, IntegerAttr::get(elemType, v)));
      } else {
        scalars.push_back(arith::IndexCastOp::create(builder, loc, elemType,
                                                     cast<Value>(e)));
      }
    }
    info->value = tensor::FromElementsOp::create(builder, loc, info->type,
                                                 scalars);
    return info->value;
  }
  return emitError(loc) << "value '" << name << "' has no definition";
}

Location GraphImporter::nodeLoc(const onnx::NodeProto &node, unsigned index) {
  std::string name = node.name();
  if (name.empty())
    name = node.op_type() + "_" + std::to_string(index);
  return NameLoc::get(StringAttr::get(model.context, name), model.fileLoc());
}

LogicalResult GraphImporter::checkSupported(const onnx::GraphProto &graph) {
  const OpRegistry &registry = OpRegistry::get();
  bool ok = true;
  for (auto [index, node] : llvm::enumerate(graph.node())) {
    // Subgraphs (If branches) too, so that every unsupported op is named.
    for (const onnx::AttributeProto &a : node.attribute()) {
      if (a.has_g() && failed(checkSupported(a.g())))
        ok = false;
      for (const onnx::GraphProto &g : a.graphs())
        if (failed(checkSupported(g)))
          ok = false;
    }
    llvm::StringRef domain = node.domain();
    std::optional<int64_t> opset = model.opsetFor(domain);
    int64_t version = opset.value_or(1);
    if (!opset && canonicalDomain(domain).empty()) {
      ok = false;
      emitError(model.fileLoc()) << "the model imports no opset for the "
                                    "default ONNX domain";
      break;
    }
    if (registry.lookup(domain, node.op_type(), version))
      continue;
    ok = false;
    emitError(nodeLoc(node, index))
        << "unsupported ONNX operator '" << node.op_type() << "' (domain '"
        << (domain.empty() ? "ai.onnx" : domain) << "', opset " << version
        << ") at node '" << node.name() << "'";
  }
  return success(ok);
}

LogicalResult GraphImporter::importNode(const onnx::NodeProto &node,
                                        unsigned index) {
  Location loc = nodeLoc(node, index);
  int64_t opset = model.opsetFor(node.domain()).value_or(1);
  ConvertFn fn = OpRegistry::get().lookup(node.domain(), node.op_type(), opset);
  NodeContext ctx(*this, node, opset, builder, loc);
  if (!foldKnownIntegerNode(ctx) && failed(fn(ctx)))
    return failure();
  for (const std::string &output : node.output()) {
    if (output.empty())
      continue;
    if (!lookup(output))
      return ctx.error() << "output '" << output << "' was not produced";
    if (failed(checkInferredType(node, output, loc)))
      return failure();
  }
  return success();
}

/// Every name the nodes of `graph` (and of their subgraphs) read.
static void collectReads(const onnx::GraphProto &graph,
                         llvm::StringSet<> &reads) {
  for (const onnx::NodeProto &node : graph.node()) {
    for (const std::string &in : node.input())
      if (!in.empty())
        reads.insert(in);
    for (const onnx::AttributeProto &a : node.attribute()) {
      if (a.has_g())
        collectReads(a.g(), reads);
      for (const onnx::GraphProto &g : a.graphs())
        collectReads(g, reads);
    }
  }
  for (const onnx::ValueInfoProto &out : graph.output())
    reads.insert(out.name());
}

LogicalResult
GraphImporter::importBranch(const onnx::GraphProto &graph, Location loc,
                            llvm::SmallVectorImpl<Value> &results,
                            llvm::SmallVectorImpl<int32_t> &dtypes) {
  for (const onnx::TensorProto &init : graph.initializer()) {
    ValueInfo info;
    info.tensor = &init;
    info.dtype = init.data_type();
    Type elemType = dtypeToType(model.context, info.dtype);
    if (!elemType)
      return emitError(loc)
             << "subgraph initializer '" << init.name() << "' has data type "
             << dtypeName(info.dtype) << ", which qopt does not support";
    SmallVector<int64_t> shape(init.dims().begin(), init.dims().end());
    info.type = RankedTensorType::get(shape, elemType);
    bind(init.name(), std::move(info));
  }
  for (auto [index, node] : llvm::enumerate(graph.node()))
    if (failed(importNode(node, index)))
      return failure();
  for (const onnx::ValueInfoProto &out : graph.output()) {
    FailureOr<Value> v = getTensor(out.name(), loc);
    if (failed(v))
      return failure();
    results.push_back(*v);
    dtypes.push_back(lookup(out.name())->dtype);
  }
  return success();
}

LogicalResult GraphImporter::importIf(NodeContext &ctx) {
  if (failed(ctx.expectInputs(1, 1)))
    return failure();
  const onnx::AttributeProto *thenAttr = ctx.attr("then_branch");
  const onnx::AttributeProto *elseAttr = ctx.attr("else_branch");
  if (!thenAttr || !elseAttr || !thenAttr->has_g() || !elseAttr->has_g())
    return ctx.error() << "missing then_branch or else_branch";
  const onnx::GraphProto *branches[2] = {&thenAttr->g(), &elseAttr->g()};
  for (const onnx::GraphProto *g : branches)
    if (g->output_size() != static_cast<int>(ctx.numOutputs()))
      return ctx.error() << "a branch has " << g->output_size()
                         << " outputs, the node " << ctx.numOutputs();

  // A condition known at compile time: import the branch taken in place.
  if (std::optional<SmallVector<int64_t>> c = ctx.constInts(0)) {
    if (c->size() != 1)
      return ctx.error() << "the condition must have one element";
    SmallVector<Value> results;
    SmallVector<int32_t> dtypes;
    if (failed(
            importBranch(*branches[(*c)[0] ? 0 : 1], ctx.loc, results, dtypes)))
      return failure();
    for (auto [i, v] : llvm::enumerate(results))
      ctx.setOutput(i, v, dtypes[i]);
    return success();
  }

  Value condTensor = ctx.input(0);
  if (!condTensor)
    return failure();
  auto condType = cast<RankedTensorType>(condTensor.getType());
  if (!condType.getElementType().isInteger(1) || condType.getNumElements() != 1)
    return ctx.error() << "the condition must be one bool, got " << condType;
  SmallVector<Value> zeros(condType.getRank(),
                           arith::ConstantIndexOp::create(builder, ctx.loc, 0));
  Value cond = tensor::ExtractOp::create(builder, ctx.loc, condTensor, zeros);

  // Each branch is imported into a block of its own. Values of the
  // enclosing graph that a branch materializes (constants, shape lists) are
  // defined inside that block, so they are forgotten afterwards (and made
  // again where needed outside); the branch's own names are dropped.
  llvm::StringSet<> reads;
  for (const onnx::GraphProto *g : branches)
    collectReads(*g, reads);
  llvm::StringMap<Value> before;
  for (const auto &r : reads)
    if (ValueInfo *info = lookup(r.getKey()))
      before[r.getKey()] = info->value;

  // The branches are imported into a result-less scf.if first (attached
  // to the function, as the builders expect), then moved into the final one.
  OpBuilder::InsertPoint outer = builder.saveInsertionPoint();
  auto tmpIf = scf::IfOp::create(builder, ctx.loc, TypeRange(), cond,
                                 /*withElseRegion=*/true);
  Block *blocks[2] = {&tmpIf.getThenRegion().front(),
                      &tmpIf.getElseRegion().front()};
  SmallVector<Value> results[2];
  SmallVector<int32_t> dtypes[2];
  for (int b = 0; b < 2; ++b) {
    builder.setInsertionPoint(blocks[b]->getTerminator());
    llvm::StringSet<> defined;
    for (const onnx::NodeProto &node : branches[b]->node())
      for (const std::string &out : node.output())
        defined.insert(out);
    for (const onnx::TensorProto &init : branches[b]->initializer())
      defined.insert(init.name());
    LogicalResult ok =
        importBranch(*branches[b], ctx.loc, results[b], dtypes[b]);
    for (const auto &d : defined)
      values.erase(d.getKey());
    for (const auto &entry : before)
      if (ValueInfo *info = lookup(entry.getKey()))
        info->value = entry.getValue();
    if (failed(ok)) {
      builder.restoreInsertionPoint(outer);
      tmpIf.erase();
      return failure();
    }
  }
  builder.restoreInsertionPoint(outer);

  // The result types: the branches' where they agree, dynamic dims where
  // they differ (each branch casts to it).
  SmallVector<Type> types;
  for (unsigned i = 0; i < results[0].size(); ++i) {
    auto t0 = cast<RankedTensorType>(results[0][i].getType());
    auto t1 = cast<RankedTensorType>(results[1][i].getType());
    if (t0.getElementType() != t1.getElementType() ||
        t0.getRank() != t1.getRank() || dtypes[0][i] != dtypes[1][i]) {
      tmpIf.erase();
      return ctx.error() << "the branches' output " << i << " differ in type ("
                         << t0 << " and " << t1 << ")";
    }
    SmallVector<int64_t> shape;
    for (auto [d0, d1] : llvm::zip(t0.getShape(), t1.getShape()))
      shape.push_back(d0 == d1 ? d0 : ShapedType::kDynamic);
    types.push_back(RankedTensorType::get(shape, t0.getElementType()));
  }
  auto ifOp = scf::IfOp::create(builder, ctx.loc, types, cond,
                                /*withElseRegion=*/true);
  Region *regions[2] = {&ifOp.getThenRegion(), &ifOp.getElseRegion()};
  for (int b = 0; b < 2; ++b) {
    blocks[b]->getTerminator()->erase();
    OpBuilder yb = OpBuilder::atBlockEnd(blocks[b]);
    SmallVector<Value> yields;
    for (auto [v, t] : llvm::zip(results[b], types))
      yields.push_back(
          v.getType() == t
              ? v
              : tensor::CastOp::create(yb, ctx.loc, t, v).getResult());
    scf::YieldOp::create(yb, ctx.loc, yields);
    regions[b]->getBlocks().clear();
  }
  ifOp.getThenRegion().takeBody(tmpIf.getThenRegion());
  ifOp.getElseRegion().takeBody(tmpIf.getElseRegion());
  tmpIf.erase();
  for (unsigned i = 0; i < types.size(); ++i)
    ctx.setOutput(i, ifOp.getResult(i), dtypes[0][i]);
  return success();
}

LogicalResult GraphImporter::checkInferredType(const onnx::NodeProto &node,
                                               llvm::StringRef name,
                                               Location loc) {
  auto it = inferredTypes.find(name);
  ValueInfo *info = lookup(name);
  if (it == inferredTypes.end() || !info || !info->value)
    return success();
  const onnx::TypeProto &type = *it->second;
  if (!type.has_tensor_type() || !type.tensor_type().has_shape())
    return success();
  const auto &dims = type.tensor_type().shape().dim();
  RankedTensorType ours = info->type;
  auto mismatch = [&]() -> LogicalResult {
    InFlightDiagnostic diag = emitError(loc);
    diag << "node '" << node.name() << "' (" << node.op_type()
         << "): the importer computes " << ours << " for '" << name
         << "' but ONNX shape inference says [";
    llvm::interleaveComma(dims, diag, [&](const auto &d) {
      if (d.has_dim_value())
        diag << d.dim_value();
      else
        diag << "?";
    });
    diag << "]";
    return failure();
  };
  if (dims.size() != ours.getRank())
    return mismatch();
  SmallVector<int64_t> refined(ours.getShape());
  for (auto [i, d] : llvm::enumerate(dims)) {
    if (!d.has_dim_value())
      continue;
    if (ours.isDynamicDim(i))
      refined[i] = d.dim_value();
    else if (ours.getDimSize(i) != d.dim_value())
      return mismatch();
  }
  auto refinedType = RankedTensorType::get(refined, ours.getElementType());
  if (refinedType != ours) {
    info->value = tensor::CastOp::create(builder, loc, refinedType, info->value);
    info->type = refinedType;
  }
  return success();
}

/// The MLIR type of a ValueInfoProto: element type and shape (dim_value,
/// dynamic for dim_param or unknown). Fails without a tensor type; sets
/// `hasShape` when the shape is declared.
static FailureOr<RankedTensorType>
valueInfoType(const onnx::ValueInfoProto &vi, MLIRContext *ctx, int32_t &dtype,
              SmallVectorImpl<std::string> &dimParams, bool &hasShape,
              ErrorFn emitError) {
  if (!vi.type().has_tensor_type())
    return emitError() << "'" << vi.name()
                       << "' is not a tensor (sequences, maps and optionals "
                          "are not supported)";
  const onnx::TypeProto::Tensor &tt = vi.type().tensor_type();
  dtype = tt.elem_type();
  Type elemType = dtypeToType(ctx, dtype);
  if (!elemType)
    return emitError() << "'" << vi.name() << "' has data type "
                       << dtypeName(dtype) << " (" << dtype
                       << "), which qopt does not support";
  hasShape = tt.has_shape();
  SmallVector<int64_t> shape;
  for (const auto &dim : tt.shape().dim()) {
    if (dim.has_dim_value()) {
      if (dim.dim_value() < 0)
        return emitError() << "'" << vi.name() << "' has negative dimension "
                           << dim.dim_value();
      shape.push_back(dim.dim_value());
      dimParams.push_back("");
    } else {
      shape.push_back(ShapedType::kDynamic);
      dimParams.push_back(dim.has_dim_param() ? dim.dim_param() : "");
    }
  }
  if (failed(checkedElementCount(
          llvm::to_vector(llvm::make_filter_range(
              shape, [](int64_t d) { return !ShapedType::isDynamic(d); })),
          [&] { return emitError() << "'" << vi.name() << "': "; })))
    return failure();
  return RankedTensorType::get(shape, elemType);
}

LogicalResult GraphImporter::importMainGraph(ModuleOp module) {
  const onnx::GraphProto &graph = model.model.graph();
  MLIRContext *ctx = model.context;
  Location fileLoc = model.fileLoc();
  auto err = [&] { return emitError(fileLoc); };

  if (failed(checkSupported(graph)))
    return failure();

  // Initializers are constants (also when listed as graph inputs, as IR < 4
  // models do).
  llvm::StringSet<> initializerNames;
  for (const onnx::TensorProto &init : graph.initializer()) {
    if (init.name().empty())
      return err() << "an initializer has no name";
    ValueInfo info;
    info.tensor = &init;
    info.dtype = init.data_type();
    Type elemType = dtypeToType(ctx, info.dtype);
    if (!elemType)
      return err() << "initializer '" << init.name() << "' has data type "
                   << dtypeName(info.dtype) << " (" << info.dtype
                   << "), which qopt does not support";
    SmallVector<int64_t> shape(init.dims().begin(), init.dims().end());
    if (failed(checkedElementCount(shape, [&] {
          return err() << "initializer '" << init.name() << "': ";
        })))
      return failure();
    info.type = RankedTensorType::get(shape, elemType);
    initializerNames.insert(init.name());
    bind(init.name(), std::move(info));
  }

  // Graph inputs become function arguments.
  SmallVector<Type> argTypes;
  SmallVector<DictionaryAttr> argAttrs;
  SmallVector<const onnx::ValueInfoProto *> inputs;
  llvm::StringSet<> overridden;
  for (const onnx::ValueInfoProto &vi : graph.input()) {
    if (initializerNames.contains(vi.name()))
      continue;
    int32_t dtype;
    SmallVector<std::string> dimParams;
    bool hasShape;
    FailureOr<RankedTensorType> type = valueInfoType(
        vi, ctx, dtype, dimParams, hasShape,
        [&] { return err() << "graph input "; });
    if (failed(type))
      return failure();
    auto valueIt = model.options.inputValues.find(vi.name());
    if (valueIt != model.options.inputValues.end()) {
      if (failed(bindInputValue(vi.name(), dtype, *type, hasShape,
                                valueIt->second)))
        return failure();
      overridden.insert(vi.name());
      continue;
    }
    auto it = model.options.inputShapes.find(vi.name());
    if (it != model.options.inputShapes.end()) {
      overridden.insert(vi.name());
      ArrayRef<int64_t> given = it->second;
      if (hasShape && static_cast<int64_t>(given.size()) != type->getRank())
        return err() << "--input-shape gives input '" << vi.name()
                     << "' rank " << given.size() << " but the model declares "
                     << "rank " << type->getRank();
      SmallVector<int64_t> shape;
      for (auto [i, d] : llvm::enumerate(given)) {
        int64_t declared =
            hasShape ? type->getDimSize(i) : ShapedType::kDynamic;
        if (d >= 0 && !ShapedType::isDynamic(declared) && declared != d)
          return err() << "--input-shape gives input '" << vi.name()
                       << "' dimension " << i << " = " << d
                       << " but the model declares " << declared;
        shape.push_back(d >= 0 ? d : declared);
      }
      dimParams.resize(shape.size());
      for (auto [i, d] : llvm::enumerate(shape))
        if (!ShapedType::isDynamic(d))
          dimParams[i].clear(); // specialized: no longer symbolic
      *type = RankedTensorType::get(shape, type->getElementType());
    } else if (!hasShape) {
      return err() << "graph input '" << vi.name()
                   << "' has no declared shape; specialize it with "
                      "--input-shape "
                   << vi.name() << "=<dims>";
    }
    NamedAttrList attrs;
    attrs.append("onnx.name", StringAttr::get(ctx, vi.name()));
    if (isUnsignedDType(dtype) || dtype == kInt4)
      attrs.append("onnx.dtype", StringAttr::get(ctx, dtypeName(dtype)));
    if (llvm::any_of(dimParams, [](const std::string &s) { return !s.empty(); }))
      attrs.append("onnx.dim_params",
                   ArrayAttr::get(ctx, llvm::to_vector(llvm::map_range(
                                           dimParams, [&](const std::string &s)
                                               -> Attribute {
                                             return StringAttr::get(ctx, s);
                                           }))));
    argTypes.push_back(*type);
    argAttrs.push_back(attrs.getDictionary(ctx));
    inputs.push_back(&vi);
    ValueInfo info;
    info.dtype = dtype;
    info.type = *type;
    bind(vi.name(), std::move(info));
  }
  for (const auto &entry : model.options.inputShapes)
    if (!overridden.contains(entry.getKey()))
      return err() << "--input-shape names '" << entry.getKey()
                   << "', which is not an input of the model";
  for (const auto &entry : model.options.inputValues)
    if (!overridden.contains(entry.getKey()))
      return err() << "--input-value names '" << entry.getKey()
                   << "', which is not an input of the model";

  builder.setInsertionPointToEnd(module.getBody());
  auto func = func::FuncOp::create(builder, fileLoc,
                                   model.options.functionName,
                                   builder.getFunctionType(argTypes, {}));
  func.setAllArgAttrs(argAttrs);
  Block *entry = func.addEntryBlock();
  for (auto [i, vi] : llvm::enumerate(inputs))
    lookup(vi->name())->value = entry->getArgument(i);
  builder.setInsertionPointToStart(entry);

  for (auto [index, node] : llvm::enumerate(graph.node()))
    if (failed(importNode(node, index)))
      return failure();

  // Outputs: the declared type may refine ours (never contradict it).
  SmallVector<Value> results;
  SmallVector<DictionaryAttr> resultAttrs;
  for (const onnx::ValueInfoProto &vi : graph.output()) {
    FailureOr<Value> value = getTensor(vi.name(), fileLoc);
    if (failed(value))
      return failure();
    auto ours = cast<RankedTensorType>(value->getType());
    int32_t dtype = lookup(vi.name())->dtype;
    int32_t declaredDType;
    SmallVector<std::string> dimParams;
    bool hasShape = false;
    if (vi.type().has_tensor_type() && vi.type().tensor_type().elem_type()) {
      FailureOr<RankedTensorType> declared =
          valueInfoType(vi, ctx, declaredDType, dimParams, hasShape,
                        [&] { return err() << "graph output "; });
      if (failed(declared))
        return failure();
      if (declared->getElementType() != ours.getElementType())
        return err() << "graph output '" << vi.name() << "' is declared "
                     << dtypeName(declaredDType) << " but computes "
                     << dtypeName(dtype);
      if (hasShape) {
        if (declared->getRank() != ours.getRank() ||
            failed(verifyCompatibleShape(declared->getShape(),
                                         ours.getShape())))
          return err() << "graph output '" << vi.name()
                       << "' is declared with shape " << *declared
                       << " but the graph computes " << ours;
        SmallVector<int64_t> joined;
        for (auto [a, b] : llvm::zip(declared->getShape(), ours.getShape()))
          joined.push_back(ShapedType::isDynamic(a) ? b : a);
        auto refined = RankedTensorType::get(joined, ours.getElementType());
        if (refined != ours)
          *value = tensor::CastOp::create(builder, fileLoc, refined, *value);
      }
    }
    NamedAttrList attrs;
    attrs.append("onnx.name", StringAttr::get(ctx, vi.name()));
    if (isUnsignedDType(dtype) || dtype == kInt4)
      attrs.append("onnx.dtype", StringAttr::get(ctx, dtypeName(dtype)));
    // Symbolic names of the declared output dims that stayed dynamic.
    auto resultType = cast<RankedTensorType>(value->getType());
    if (hasShape && static_cast<int64_t>(dimParams.size()) == resultType.getRank()) {
      for (auto [i, p] : llvm::enumerate(dimParams))
        if (!resultType.isDynamicDim(i))
          p.clear();
      if (llvm::any_of(dimParams,
                       [](const std::string &p) { return !p.empty(); }))
        attrs.append("onnx.dim_params",
                     ArrayAttr::get(ctx, llvm::to_vector(llvm::map_range(
                                             dimParams,
                                             [&](const std::string &p)
                                                 -> Attribute {
                                               return StringAttr::get(ctx, p);
                                             }))));
    }
    results.push_back(*value);
    resultAttrs.push_back(attrs.getDictionary(ctx));
  }
  func::ReturnOp::create(builder, fileLoc, results);
  func.setFunctionType(
      builder.getFunctionType(argTypes, ValueRange(results).getTypes()));
  func.setAllResultAttrs(resultAttrs);
  return success();
}

//===----------------------------------------------------------------------===//
// Public API
//===----------------------------------------------------------------------===//

void qopt::registerOnnxImportDialects(DialectRegistry &registry) {
  registry.insert<arith::ArithDialect, func::FuncDialect,
                  linalg::LinalgDialect, math::MathDialect, scf::SCFDialect,
                  tensor::TensorDialect, qopt::QoptDialect>();
}

/// Known to ONNX 1.12's checker: IR version <= 8, ai.onnx <= 17,
/// ai.onnx.ml <= 3, nothing else.
static bool onnxLibraryKnowsModel(const ModelContext &model) {
  if (model.model.ir_version() > 8)
    return false;
  for (const auto &entry : model.opsets) {
    llvm::StringRef domain = entry.getKey();
    if (domain.empty() ? entry.getValue() > 17
                       : !(domain == "ai.onnx.ml" && entry.getValue() <= 3))
      return false;
  }
  return true;
}

OwningOpRef<ModuleOp>
qopt::importOnnxModelFromBuffer(llvm::StringRef bytes,
                                llvm::StringRef modelPath, MLIRContext *context,
                                const OnnxImportOptions &options) {
  DialectRegistry registry;
  registerOnnxImportDialects(registry);
  context->appendDialectRegistry(registry);
  context->loadAllAvailableDialects();

  ModelContext model(context, options);
  model.path = modelPath.str();
  model.directory = llvm::sys::path::parent_path(modelPath).str();
  Location fileLoc = model.fileLoc();

  if (bytes.size() > static_cast<size_t>(INT_MAX)) {
    emitError(fileLoc) << "model files over 2 GiB must keep their weights in "
                          "external data files";
    return {};
  }
  google::protobuf::io::ArrayInputStream stream(bytes.data(),
                                                static_cast<int>(bytes.size()));
  google::protobuf::io::CodedInputStream coded(&stream);
  coded.SetTotalBytesLimit(INT_MAX);
  if (!model.model.ParseFromCodedStream(&coded) ||
      !coded.ConsumedEntireMessage()) {
    emitError(fileLoc) << "not a valid ONNX model: the protobuf cannot be "
                          "parsed (truncated or not an ONNX file)";
    return {};
  }
  if (!model.model.has_graph()) {
    emitError(fileLoc) << "not a valid ONNX model: it has no graph";
    return {};
  }
  if (model.model.ir_version() < 3 || model.model.ir_version() > 10) {
    emitError(fileLoc) << "unsupported ONNX IR version "
                       << model.model.ir_version() << " (qopt reads 3 to 10)";
    return {};
  }
  for (const onnx::OperatorSetIdProto &opset : model.model.opset_import())
    model.opsets[canonicalDomain(opset.domain())] = opset.version();
  std::optional<int64_t> defaultOpset = model.opsetFor("");
  // Opsets 7 to 21 are supported; a few ops also in older versions whose
  // semantics match (the registry knows which).
  if (defaultOpset && (*defaultOpset < 1 || *defaultOpset > 21)) {
    emitError(fileLoc) << "unsupported ONNX opset " << *defaultOpset
                       << " (qopt reads opsets 7 to 21, and older versions "
                          "of some ops)";
    return {};
  }

  // qopt's own checks of external data first: clearer messages, and the
  // guarantee that no path leaves the model's folder.
  bool hasExternalData = false;
  for (const onnx::TensorProto &init : model.model.graph().initializer()) {
    if (init.data_location() != onnx::TensorProto::EXTERNAL)
      continue;
    hasExternalData = true;
    SmallVector<int64_t> dims(init.dims().begin(), init.dims().end());
    FailureOr<int64_t> count = checkedElementCount(dims, [&] {
      return emitError(fileLoc) << "initializer '" << init.name() << "': ";
    });
    if (failed(count) ||
        failed(resolveExternalData(init, model,
                                   packedBytes(init.data_type(), *count),
                                   [&] { return emitError(fileLoc); })))
      return {};
  }

  // ONNX's checker validates the model, then ONNX's shape inference
  // cross-checks (and refines) the importer's own.
  OnnxCheckResult checks;
  if (options.runOnnxChecks && onnxLibraryKnowsModel(model)) {
    // With external data, check the file so ONNX resolves data files
    // relative to the model's folder (not the current directory).
    checks = runOnnxChecks(model.model,
                           hasExternalData ? model.path : std::string(),
                           /*infer=*/true);
    if (checks.crashed) {
      emitError(fileLoc) << "invalid ONNX model: ONNX's checker crashed on it";
      return {};
    }
    if (!checks.checkerError.empty()) {
      emitError(fileLoc) << "invalid ONNX model: " << checks.checkerError;
      return {};
    }
  }

  if (options.stats) {
    options.stats->numNodes = model.model.graph().node_size();
    options.stats->opsetVersion = defaultOpset.value_or(0);
    int64_t bytes = 0;
    for (const onnx::TensorProto &init : model.model.graph().initializer()) {
      int64_t count = 1;
      for (int64_t d : init.dims())
        count = d > 0 && count < (int64_t(1) << 40) ? count * d : count;
      bytes += count * dtypeStorageBytes(init.data_type());
    }
    options.stats->weightBytes = bytes;
  }

  OwningOpRef<ModuleOp> module = ModuleOp::create(fileLoc);
  OpBuilder builder(context);
  GraphImporter importer(model, builder);
  if (checks.inferred)
    for (const onnx::ValueInfoProto &vi : checks.inferredValues.value_info())
      importer.inferredTypes[vi.name()] = &vi.type();
  if (failed(importer.importMainGraph(*module)))
    return {};
  if (failed(verify(*module))) {
    emitError(fileLoc) << "internal error: the imported IR does not verify";
    return {};
  }
  if (options.cleanup) {
    PassManager pm(context);
    pm.addPass(createCSEPass());
    pm.addPass(createCanonicalizerPass());
    if (failed(pm.run(*module))) {
      emitError(fileLoc) << "internal error: cleaning up the imported IR failed";
      return {};
    }
  }
  return module;
}

OwningOpRef<ModuleOp> qopt::importOnnxModel(llvm::StringRef path,
                                            MLIRContext *context,
                                            const OnnxImportOptions &options) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer) {
    emitError(FileLineColLoc::get(context, path, 0, 0))
        << "cannot open '" << path << "': " << buffer.getError().message();
    return {};
  }
  return importOnnxModelFromBuffer((*buffer)->getBuffer(), path, context,
                                   options);
}

/// A number as a user typed it: 16000.5, not 1.600050e+04.
static std::string formatNumber(double v) {
  std::string text;
  llvm::raw_string_ostream(text) << llvm::format("%g", v);
  return text;
}

LogicalResult GraphImporter::bindInputValue(llvm::StringRef name, int32_t dtype,
                                            RankedTensorType declared,
                                            bool hasShape,
                                            ArrayRef<double> values) {
  auto err = [&] {
    return emitError(model.fileLoc())
           << "--input-value for input '" << name << "': ";
  };
  if (model.options.inputShapes.count(name))
    return err() << "give either --input-shape or --input-value, not both";
  bool isFloat = isFloatDType(dtype);
  // Values are written as whole bytes of float32/64 or integers.
  if ((!isFloat && !isIntDType(dtype) && dtype != kBool) || dtype == kInt4 ||
      dtype == kUInt4 || dtype == kFloat16 || dtype == kBFloat16)
    return err() << "inputs of type " << dtypeName(dtype) << " cannot be fixed";
  // The shape: the declared one (static), or 0-D / 1-D from the count.
  SmallVector<int64_t> shape;
  if (hasShape) {
    if (declared.getRank() == 1 && declared.isDynamicDim(0))
      shape.push_back(values.size());
    else if (!declared.hasStaticShape())
      return err() << "the model declares shape " << declared
                   << "; only inputs of static shape (or 1-D) can be fixed";
    else
      shape.assign(declared.getShape().begin(), declared.getShape().end());
  } else if (values.size() > 1) {
    shape.push_back(values.size());
  }
  int64_t count = 1;
  for (int64_t d : shape)
    count *= d;
  if (count != static_cast<int64_t>(values.size()))
    return err() << "the input has " << count << " element(s), "
                 << values.size() << " value(s) given";
  for (double v : values) {
    if (!isFloat && v != std::floor(v))
      return err() << "the input is " << dtypeName(dtype) << ", got "
                   << formatNumber(v);
    if (dtype == kBool && v != 0 && v != 1)
      return err() << "the input is bool: give 0 or 1, got " << formatNumber(v);
  }
  onnx::TensorProto *t = newTensor();
  t->set_name(name.str());
  t->set_data_type(dtype);
  for (int64_t d : shape)
    t->add_dims(d);
  unsigned bytes = dtypeStorageBytes(dtype);
  std::string raw(values.size() * bytes, '\0');
  for (auto [i, v] : llvm::enumerate(values)) {
    uint64_t bits;
    if (dtype == kFloat) {
      float f = v;
      uint32_t u;
      memcpy(&u, &f, 4);
      bits = u;
    } else if (dtype == kDouble) {
      memcpy(&bits, &v, 8);
    } else {
      bits = uint64_t(int64_t(v));
    }
    for (unsigned b = 0; b < bytes; ++b)
      raw[i * bytes + b] = char((bits >> (8 * b)) & 0xff);
  }
  t->set_raw_data(std::move(raw));
  ValueInfo info;
  info.tensor = t;
  info.dtype = dtype;
  info.type = RankedTensorType::get(shape, dtypeToType(model.context, dtype));
  bind(name, std::move(info));
  return success();
}

std::string qopt::parseInputValueSpec(llvm::StringRef spec,
                                      OnnxImportOptions &options) {
  auto [name, list] = spec.split('=');
  if (name.empty() || list.empty() || !spec.contains('='))
    return "expected NAME=VALUE[,VALUE...] (e.g. sr=16000), got '" +
           spec.str() + "'";
  SmallVector<double> values;
  SmallVector<llvm::StringRef> parts;
  list.split(parts, ',');
  for (llvm::StringRef part : parts) {
    part = part.trim();
    double v;
    if (part.getAsDouble(v))
      return "bad value '" + part.str() + "' in '" + spec.str() +
             "' (use numbers)";
    values.push_back(v);
  }
  options.inputValues[name] = values;
  return {};
}

std::string qopt::parseInputShapeSpec(llvm::StringRef spec,
                                      OnnxImportOptions &options) {
  auto [name, dims] = spec.rsplit('=');
  if (name.empty() || dims.empty() || !spec.contains('='))
    return "expected NAME=DIMS (e.g. input_ids=1x128), got '" + spec.str() +
           "'";
  SmallVector<int64_t> shape;
  SmallVector<llvm::StringRef> parts;
  dims.split(parts, dims.contains(',') ? ',' : 'x');
  for (llvm::StringRef part : parts) {
    part = part.trim();
    int64_t d;
    if (part == "?" || part == "-1")
      d = -1;
    else if (part.getAsInteger(10, d) || d < 0)
      return "bad dimension '" + part.str() + "' in '" + spec.str() +
             "' (use a non-negative integer, or ? to keep it dynamic)";
    shape.push_back(d);
  }
  options.inputShapes[name] = shape;
  return {};
}
