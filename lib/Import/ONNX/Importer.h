//===- Importer.h - internals of the ONNX importer -------------*- C++ -*-===//
//
// The model context, tensor decoding, the value table of a graph being
// imported, the per-node context handed to op converters, the converter
// registry and the IR-building helpers the converters share.
//
//===----------------------------------------------------------------------===//

#ifndef QOPT_LIB_IMPORT_ONNX_IMPORTER_H
#define QOPT_LIB_IMPORT_ONNX_IMPORTER_H

#include "qopt/Import/ImportOnnx.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/OpDefinition.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/StringMap.h"

#include "onnx/onnx_pb.h"

#include "llvm/ADT/StringSet.h"

#include <deque>
#include <optional>

namespace qopt::onnx_import {

using namespace mlir;

//===----------------------------------------------------------------------===//
// Data types
//===----------------------------------------------------------------------===//

/// ONNX TensorProto.DataType values, including the 4-bit types ONNX 1.12's
/// headers do not name.
enum DType : int32_t {
  kUndefined = 0,
  kFloat = 1,
  kUInt8 = 2,
  kInt8 = 3,
  kUInt16 = 4,
  kInt16 = 5,
  kInt32 = 6,
  kInt64 = 7,
  kString = 8,
  kBool = 9,
  kFloat16 = 10,
  kDouble = 11,
  kUInt32 = 12,
  kUInt64 = 13,
  kBFloat16 = 16,
  kUInt4 = 21,
  kInt4 = 22,
};

const char *dtypeName(int32_t dtype);
bool isFloatDType(int32_t dtype);
bool isUnsignedDType(int32_t dtype);
/// Integer (signed or unsigned, any width) but not bool.
bool isIntDType(int32_t dtype);
/// Bits of the value (4 for int4), not of its storage.
unsigned dtypeBits(int32_t dtype);
/// Bytes one element takes once decoded (int4 values take a byte each).
unsigned dtypeStorageBytes(int32_t dtype);
/// The MLIR element type of a decoded ONNX tensor: signless integers of the
/// storage width (int4 -> i8), i1 for bool. Null if unsupported.
Type dtypeToType(MLIRContext *ctx, int32_t dtype);
/// The ONNX dtype an MLIR element type stands for when nothing says it is
/// unsigned.
int32_t typeToDType(Type type);

//===----------------------------------------------------------------------===//
// Model and tensors
//===----------------------------------------------------------------------===//

struct ModelContext {
  onnx::ModelProto model;
  std::string path;      ///< as given, for diagnostics
  std::string directory; ///< folder holding the model, for external data
  llvm::StringMap<int64_t> opsets;
  MLIRContext *context;
  const OnnxImportOptions &options;

  ModelContext(MLIRContext *context, const OnnxImportOptions &options)
      : context(context), options(options) {}

  Location fileLoc() const;
  /// The opset version the model imports for `domain` ("" = ai.onnx), or
  /// nullopt when the model does not import it.
  std::optional<int64_t> opsetFor(llvm::StringRef domain) const;
};

/// Canonical domain name: "" for the default ONNX domain, one name for the
/// QONNX aliases.
llvm::StringRef canonicalDomain(llvm::StringRef domain);

/// A decoded tensor: little-endian elements of dtypeStorageBytes(dtype)
/// each, held in a blob ready to become a dense_resource.
struct DecodedTensor {
  int32_t dtype = kUndefined;
  llvm::SmallVector<int64_t> shape;
  int64_t numElements = 0;
  AsmResourceBlob blob;

  template <typename T> llvm::ArrayRef<T> data() const {
    return {reinterpret_cast<const T *>(blob.getData().data()),
            static_cast<size_t>(numElements)};
  }
  /// Every element converted to int64 (integers, bool) or double (floats).
  std::vector<int64_t> toInts() const;
  std::vector<double> toDoubles() const;
};

using ErrorFn = llvm::function_ref<InFlightDiagnostic()>;

/// Decodes a TensorProto (any storage field, or external data relative to
/// the model's folder), checking dims, sizes and external-data bounds.
FailureOr<DecodedTensor> decodeTensor(const onnx::TensorProto &tensor,
                                      const ModelContext &model,
                                      ErrorFn emitError);

/// Where an external-data tensor's bytes are, once checked: a path inside
/// the model's folder and a range inside the file.
struct ExternalData {
  std::string path;
  uint64_t offset, length;
};
FailureOr<ExternalData> resolveExternalData(const onnx::TensorProto &tensor,
                                            const ModelContext &model,
                                            uint64_t expectedBytes,
                                            ErrorFn emitError);
/// Bytes of the stored (possibly packed) form of `count` elements.
uint64_t packedBytes(int32_t dtype, int64_t count);

/// Checks the dims of a tensor: each non-negative, the element count sane.
/// Returns the element count.
FailureOr<int64_t> checkedElementCount(llvm::ArrayRef<int64_t> dims,
                                       ErrorFn emitError);

//===----------------------------------------------------------------------===//
// Values of the graph
//===----------------------------------------------------------------------===//

/// What the importer knows about one ONNX value.
struct ValueInfo {
  /// The tensor; null until materialized for values known as constants or
  /// element lists.
  Value value;
  int32_t dtype = kUndefined;
  RankedTensorType type;
  /// Constant source (an initializer or a Constant node's tensor).
  const onnx::TensorProto *tensor = nullptr;
  /// Elements of a 0-D or 1-D integer tensor, each a constant (IntegerAttr)
  /// or an `index` SSA value: how shape computations keep symbolic dims.
  std::optional<llvm::SmallVector<OpFoldResult>> elems;
};

class GraphImporter;

/// What an op converter sees of the node it converts.
class NodeContext {
public:
  NodeContext(GraphImporter &importer, const onnx::NodeProto &node,
              int64_t opset, OpBuilder &builder, Location loc)
      : importer(importer), node(node), opset(opset), b(builder), loc(loc) {}

  GraphImporter &importer;
  const onnx::NodeProto &node;
  const int64_t opset;
  OpBuilder &b;
  const Location loc;

  /// Emits "node 'name' (OpType): " followed by the message.
  InFlightDiagnostic error();
  MLIRContext *ctx() { return b.getContext(); }

  // Attributes.
  const onnx::AttributeProto *attr(llvm::StringRef name) const;
  bool hasAttr(llvm::StringRef name) const { return attr(name); }
  int64_t getInt(llvm::StringRef name, int64_t defaultValue) const;
  float getFloat(llvm::StringRef name, float defaultValue) const;
  std::string getString(llvm::StringRef name,
                        llvm::StringRef defaultValue) const;
  std::optional<llvm::SmallVector<int64_t>>
  getInts(llvm::StringRef name) const;
  std::optional<llvm::SmallVector<float>> getFloats(llvm::StringRef name) const;

  // Inputs.
  unsigned numInputs() const { return node.input_size(); }
  bool hasInput(unsigned i) const {
    return i < numInputs() && !node.input(i).empty();
  }
  /// The input as a tensor value; null (after an error) if missing.
  Value input(unsigned i);
  int32_t inputDType(unsigned i);
  RankedTensorType inputType(unsigned i);
  /// The input's elements when it is a constant (or a tracked shape value)
  /// whose elements are all known.
  std::optional<llvm::SmallVector<int64_t>> constInts(unsigned i);
  std::optional<llvm::SmallVector<double>> constFloats(unsigned i);
  /// The input's elements as constants or index values (shape tracking).
  std::optional<llvm::SmallVector<OpFoldResult>> intElems(unsigned i);
  /// The decoded constant tensor behind the input, if it is one.
  const DecodedTensor *constTensor(unsigned i);

  // Outputs.
  unsigned numOutputs() const { return node.output_size(); }
  bool hasOutput(unsigned i) const {
    return i < numOutputs() && !node.output(i).empty();
  }
  /// Binds output `i`; dtype kUndefined derives it from the element type.
  void setOutput(unsigned i, Value value, int32_t dtype = kUndefined);
  /// Binds output `i` to a 0-D (`rank0`) or 1-D integer tensor whose elements
  /// are known; the tensor is materialized only if something needs it.
  void setOutputElems(unsigned i, llvm::ArrayRef<OpFoldResult> elems,
                      int32_t dtype, bool rank0);

  /// Checks that the node has between `min` and `max` inputs.
  LogicalResult expectInputs(unsigned min, unsigned max);
};

using ConvertFn = LogicalResult (*)(NodeContext &);

/// Which converter handles an (domain, op type, opset).
class OpRegistry {
public:
  /// Registers `fn` for opsets [minOpset, maxOpset]. The default minimum is
  /// 7, the oldest opset qopt reads; converters checked against older
  /// versions of their op say so explicitly.
  void add(llvm::StringRef domain, llvm::StringRef opType, ConvertFn fn,
           int64_t minOpset = 7, int64_t maxOpset = 1000);
  ConvertFn lookup(llvm::StringRef domain, llvm::StringRef opType,
                   int64_t opset) const;
  static const OpRegistry &get();

private:
  struct Entry {
    int64_t minOpset, maxOpset;
    ConvertFn fn;
  };
  llvm::StringMap<llvm::SmallVector<Entry, 1>> entries;
};

void registerElementwiseOps(OpRegistry &registry);
void registerLinearOps(OpRegistry &registry);
void registerShapeOps(OpRegistry &registry);
void registerReductionOps(OpRegistry &registry);
void registerQuantOps(OpRegistry &registry);
void registerResizeOps(OpRegistry &registry);
void registerRecurrentOps(OpRegistry &registry);

/// Evaluates a Reshape / Transpose / Slice / Concat / Squeeze / Unsqueeze /
/// Cast whose inputs are all known tensors (constants of any element type
/// for the data movers; integer lists one of which, or the result, has rank
/// >= 2) and binds its output as a constant. False when the node is left to
/// its converter.
bool foldKnownIntegerNode(NodeContext &ctx);

class GraphImporter {
public:
  GraphImporter(ModelContext &model, OpBuilder &builder)
      : model(model), builder(builder) {}

  /// Imports the main graph into a new function appended to `module`.
  LogicalResult importMainGraph(ModuleOp module);

  ModelContext &model;
  OpBuilder &builder;

  ValueInfo *lookup(llvm::StringRef name);
  /// Materializes the named value as a tensor.
  FailureOr<Value> getTensor(llvm::StringRef name, Location loc);
  const DecodedTensor *getDecoded(const onnx::TensorProto *tensor,
                                  Location loc);
  void bind(llvm::StringRef name, ValueInfo info) {
    values[name] = std::move(info);
  }
  /// Types ONNX shape inference found for intermediate values (filled when
  /// the model's opsets are ones ONNX 1.12 knows).
  llvm::StringMap<const onnx::TypeProto *> inferredTypes;

  /// Imports an If node: inline when the condition is known at compile
  /// time, else as scf.if with each branch imported into its region.
  LogicalResult importIf(NodeContext &ctx);

  /// A TensorProto owned by the importer (for Constant nodes whose value is
  /// an attribute other than a tensor).
  onnx::TensorProto *newTensor() { return &ownedTensors.emplace_back(); }

private:
  LogicalResult declareInputs(const onnx::GraphProto &graph,
                              llvm::SmallVectorImpl<Type> &argTypes,
                              llvm::SmallVectorImpl<std::string> &argNames);
  LogicalResult checkSupported(const onnx::GraphProto &graph);
  /// Binds a graph input fixed by --input-value as a constant.
  LogicalResult bindInputValue(llvm::StringRef name, int32_t dtype,
                               RankedTensorType declared, bool hasShape,
                               llvm::ArrayRef<double> values);
  LogicalResult importNode(const onnx::NodeProto &node, unsigned index);
  /// Cross-checks a node output against ONNX shape inference: a static dim
  /// ONNX knows refines a dynamic one of ours (tensor.cast); a contradiction
  /// is an error.
  LogicalResult checkInferredType(const onnx::NodeProto &node,
                                  llvm::StringRef name, Location loc);
  Location nodeLoc(const onnx::NodeProto &node, unsigned index);
  Value materializeConstant(const DecodedTensor &tensor, llvm::StringRef name,
                            Location loc);
  LogicalResult importBranch(const onnx::GraphProto &graph, Location loc,
                             llvm::SmallVectorImpl<Value> &results,
                             llvm::SmallVectorImpl<int32_t> &dtypes);

  llvm::StringMap<ValueInfo> values;
  /// Decoded constants, by TensorProto address.
  llvm::DenseMap<const onnx::TensorProto *, std::unique_ptr<DecodedTensor>>
      decoded;
  llvm::StringSet<> resourceNames;
  std::deque<onnx::TensorProto> ownedTensors;
};

//===----------------------------------------------------------------------===//
// IR-building helpers
//===----------------------------------------------------------------------===//

/// tensor.empty of the given sizes.
Value emptyTensor(OpBuilder &b, Location loc, llvm::ArrayRef<OpFoldResult> dims,
                  Type elementType);
/// The sizes of a ranked tensor, static ones as attributes.
llvm::SmallVector<OpFoldResult> tensorDims(OpBuilder &b, Location loc,
                                           Value tensor);
/// The static shape of a list of sizes (kDynamic for values).
llvm::SmallVector<int64_t> staticShape(llvm::ArrayRef<OpFoldResult> dims);
/// An `index` value for a size.
Value dimValue(OpBuilder &b, Location loc, OpFoldResult dim);

/// Multidirectional (numpy) broadcasting of the operands' shapes. A dynamic
/// dimension broadcasts against 1 but is assumed equal to other dynamic or
/// static non-1 dimensions.
FailureOr<llvm::SmallVector<OpFoldResult>>
broadcastDims(OpBuilder &b, Location loc, llvm::ArrayRef<Value> operands,
              std::string &error);

using ScalarFn =
    llvm::function_ref<Value(OpBuilder &, Location, ValueRange)>;

/// A linalg.generic computing `fn` element by element over the operands,
/// broadcast to `dims`.
Value elementwise(OpBuilder &b, Location loc, llvm::ArrayRef<Value> operands,
                  llvm::ArrayRef<OpFoldResult> dims, Type resultElementType,
                  ScalarFn fn);

/// Reduces `input` over `axes` (sorted, unique, non-negative) with the
/// combiner `fn(acc, x)` from `init`; keeps reduced dims as 1 if `keepDims`.
Value reduceAxes(OpBuilder &b, Location loc, Value input,
                 llvm::ArrayRef<int64_t> axes, bool keepDims, Value init,
                 ScalarFn fn);

/// A scalar constant of an int, index or float type.
Value scalarConstant(OpBuilder &b, Location loc, Type type, double value);
/// A tensor filled with a scalar.
Value splatTensor(OpBuilder &b, Location loc, llvm::ArrayRef<OpFoldResult> dims,
                  Value scalar);
/// Converts a scalar between int (signed or unsigned), float and i1 types
/// with ONNX Cast semantics.
Value convertScalar(OpBuilder &b, Location loc, Value value, Type to,
                    bool srcUnsigned, bool dstUnsigned);
/// Converts every element of a tensor (a no-op if the type already matches).
Value convertTensor(OpBuilder &b, Location loc, Value tensor, Type to,
                    bool srcUnsigned = false, bool dstUnsigned = false);
/// linalg.transpose by `perm`.
Value transposeTensor(OpBuilder &b, Location loc, Value tensor,
                      llvm::ArrayRef<int64_t> perm);
/// Reshapes to `dims` (same element count): collapse/expand_shape when a
/// reassociation exists, tensor.reshape otherwise.
Value reshapeTensor(OpBuilder &b, Location loc, Value tensor,
                    llvm::ArrayRef<OpFoldResult> dims);
/// Broadcasts `tensor` to `dims` (numpy rules) by materializing it.
Value broadcastTo(OpBuilder &b, Location loc, Value tensor,
                  llvm::ArrayRef<OpFoldResult> dims);

/// Arithmetic on sizes that folds constants and emits `index` arith ops
/// otherwise.
struct IndexMath {
  OpBuilder &b;
  Location loc;
  OpFoldResult c(int64_t v) { return b.getIndexAttr(v); }
  OpFoldResult add(OpFoldResult x, OpFoldResult y);
  OpFoldResult sub(OpFoldResult x, OpFoldResult y);
  OpFoldResult mul(OpFoldResult x, OpFoldResult y);
  /// Division rounding toward zero (operands of equal sign in practice).
  OpFoldResult div(OpFoldResult x, OpFoldResult y);
  /// x / y for a y known to divide x: common factors of two products cancel
  /// (so [b, s, 4, 8] / [b, s] is the constant 32), else a runtime division.
  OpFoldResult divExact(OpFoldResult x, OpFoldResult y);
  OpFoldResult ceilDiv(OpFoldResult x, OpFoldResult y);
  OpFoldResult min(OpFoldResult x, OpFoldResult y);
  OpFoldResult max(OpFoldResult x, OpFoldResult y);
  /// x < 0 ? x + dim : x
  OpFoldResult wrapNegative(OpFoldResult x, OpFoldResult dim);
  Value value(OpFoldResult x) { return dimValue(b, loc, x); }
};

/// Normalizes a possibly negative axis into [0, rank); failure if outside.
FailureOr<int64_t> normalizeAxis(NodeContext &ctx, int64_t axis, int64_t rank);

} // namespace qopt::onnx_import

#endif // QOPT_LIB_IMPORT_ONNX_IMPORTER_H
