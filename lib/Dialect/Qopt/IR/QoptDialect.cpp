//===- QoptDialect.cpp - qopt dialect, types and attributes ---------------===//

#include "qopt/Dialect/Qopt/IR/QoptDialect.h"
#include "qopt/Dialect/Qopt/IR/ConstantValues.h"

#include "mlir/IR/DialectImplementation.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cstring>

using namespace mlir;
using namespace qopt;

#include "qopt/Dialect/Qopt/IR/QoptOpsDialect.cpp.inc"

#include "qopt/Dialect/Qopt/IR/QoptEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "qopt/Dialect/Qopt/IR/QoptAttrs.cpp.inc"

#define GET_TYPEDEF_CLASSES
#include "qopt/Dialect/Qopt/IR/QoptOpsTypes.cpp.inc"

void QoptDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "qopt/Dialect/Qopt/IR/QoptOps.cpp.inc"
      >();
  addTypes<
#define GET_TYPEDEF_LIST
#include "qopt/Dialect/Qopt/IR/QoptOpsTypes.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "qopt/Dialect/Qopt/IR/QoptAttrs.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// IntType
//===----------------------------------------------------------------------===//

LogicalResult IntType::verify(function_ref<InFlightDiagnostic()> emitError,
                              unsigned width, bool isSigned) {
  if (width < 1 || width > 8)
    return emitError() << "qopt.int width must be between 1 and 8, got "
                       << width;
  return success();
}

int64_t IntType::getMinValue() const {
  return getIsSigned() ? -(int64_t(1) << (getWidth() - 1)) : 0;
}

int64_t IntType::getMaxValue() const {
  return getIsSigned() ? (int64_t(1) << (getWidth() - 1)) - 1
                       : (int64_t(1) << getWidth()) - 1;
}

// !qopt.int<s4> / !qopt.int<u8>
Type IntType::parse(AsmParser &parser) {
  SMLoc loc = parser.getCurrentLocation();
  StringRef spelling;
  if (parser.parseLess() || parser.parseKeyword(&spelling))
    return {};
  unsigned width = 0;
  if (spelling.size() < 2 || (spelling[0] != 's' && spelling[0] != 'u') ||
      spelling.drop_front().getAsInteger(10, width)) {
    parser.emitError(loc, "expected 's<width>' or 'u<width>', got '")
        << spelling << "'";
    return {};
  }
  if (parser.parseGreater())
    return {};
  return getChecked([&] { return parser.emitError(loc); }, parser.getContext(),
                    width, spelling[0] == 's');
}

void IntType::print(AsmPrinter &printer) const {
  printer << "<" << (getIsSigned() ? 's' : 'u') << getWidth() << ">";
}

//===----------------------------------------------------------------------===//
// QuantConfigAttr
//===----------------------------------------------------------------------===//

LogicalResult
QuantConfigAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                        unsigned wbits, unsigned abits, int64_t groupSize,
                        bool weightSymmetric, bool actSymmetric,
                        ActQuant actQuant) {
  if (wbits < 1 || wbits > 8)
    return emitError() << "weight bits must be 1 to 8, got " << wbits;
  if (actQuant == ActQuant::None ? abits != 16 : (abits < 1 || abits > 8))
    return emitError() << "activation bits must be 1 to 8 when quantized, "
                          "16 when not (act_quant = none), got "
                       << abits;
  if (groupSize < 0)
    return emitError() << "group size must be non-negative, got " << groupSize;
  return success();
}

//===----------------------------------------------------------------------===//
// QuantSchemeAttr
//===----------------------------------------------------------------------===//

LogicalResult
QuantSchemeAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                        Granularity granularity, int64_t axis,
                        int64_t groupSize, bool symmetric, bool narrowRange,
                        RoundingMode rounding) {
  switch (granularity) {
  case Granularity::PerTensor:
    if (axis != 0 || groupSize != 0)
      return emitError() << "per_tensor scheme takes no axis or group size";
    break;
  case Granularity::PerChannel:
    if (axis < 0)
      return emitError() << "scheme axis must be non-negative, got " << axis;
    if (groupSize != 0)
      return emitError() << "per_channel scheme takes no group size";
    break;
  case Granularity::PerGroup:
    if (axis < 0)
      return emitError() << "scheme axis must be non-negative, got " << axis;
    if (groupSize < 1)
      return emitError() << "group size must be positive, got " << groupSize;
    break;
  }
  return success();
}

SmallVector<int64_t>
QuantSchemeAttr::getScaleShape(ArrayRef<int64_t> shape) const {
  switch (getGranularity()) {
  case Granularity::PerTensor:
    return {};
  case Granularity::PerChannel:
    return {shape[getAxis()]};
  case Granularity::PerGroup: {
    SmallVector<int64_t> result(shape);
    int64_t &dim = result[getAxis()];
    if (!ShapedType::isDynamic(dim))
      dim /= getGroupSize();
    return result;
  }
  }
  llvm_unreachable("unknown granularity");
}

int64_t QuantSchemeAttr::getQuantMin(IntType storage) const {
  int64_t min = storage.getMinValue();
  return getNarrowRange() && storage.getIsSigned() ? min + 1 : min;
}

int64_t QuantSchemeAttr::getQuantMax(IntType storage) const {
  int64_t max = storage.getMaxValue();
  return getNarrowRange() && !storage.getIsSigned() ? max - 1 : max;
}

// Parses `name = <integer>`.
static ParseResult parseNamedInteger(AsmParser &parser, StringRef name,
                                     int64_t &value) {
  return failure(parser.parseKeyword(name) || parser.parseEqual() ||
                 parser.parseInteger(value));
}

// #qopt.scheme<per_group(axis = 1, group_size = 128), symmetric,
//              narrow_range, rounding = nearest_away>
Attribute QuantSchemeAttr::parse(AsmParser &parser, Type) {
  SMLoc loc = parser.getCurrentLocation();
  StringRef keyword;
  if (parser.parseLess() || parser.parseKeyword(&keyword))
    return {};
  std::optional<Granularity> granularity = symbolizeGranularity(keyword);
  if (!granularity) {
    parser.emitError(loc,
                     "expected per_tensor, per_channel or per_group, got '")
        << keyword << "'";
    return {};
  }
  int64_t axis = 0, groupSize = 0;
  if (*granularity != Granularity::PerTensor) {
    if (parser.parseLParen() || parseNamedInteger(parser, "axis", axis))
      return {};
    if (*granularity == Granularity::PerGroup &&
        (parser.parseComma() ||
         parseNamedInteger(parser, "group_size", groupSize)))
      return {};
    if (parser.parseRParen())
      return {};
  }
  SMLoc symLoc = parser.getCurrentLocation();
  if (parser.parseComma() || parser.parseKeyword(&keyword))
    return {};
  if (keyword != "symmetric" && keyword != "asymmetric") {
    parser.emitError(symLoc, "expected symmetric or asymmetric, got '")
        << keyword << "'";
    return {};
  }
  bool symmetric = keyword == "symmetric";
  bool narrowRange = false;
  RoundingMode rounding = RoundingMode::NearestEven;
  while (succeeded(parser.parseOptionalComma())) {
    SMLoc optLoc = parser.getCurrentLocation();
    if (parser.parseKeyword(&keyword))
      return {};
    if (keyword == "narrow_range" && !narrowRange) {
      narrowRange = true;
      continue;
    }
    if (keyword != "rounding") {
      parser.emitError(optLoc, "expected narrow_range or rounding, got '")
          << keyword << "'";
      return {};
    }
    SMLoc roundLoc;
    if (parser.parseEqual() || parser.getCurrentLocation(&roundLoc) ||
        parser.parseKeyword(&keyword))
      return {};
    std::optional<RoundingMode> mode = symbolizeRoundingMode(keyword);
    if (!mode) {
      parser.emitError(roundLoc, "unknown rounding mode '") << keyword << "'";
      return {};
    }
    rounding = *mode;
    break;
  }
  if (parser.parseGreater())
    return {};
  return getChecked([&] { return parser.emitError(loc); }, parser.getContext(),
                    *granularity, axis, groupSize, symmetric, narrowRange,
                    rounding);
}

void QuantSchemeAttr::print(AsmPrinter &printer) const {
  printer << "<" << stringifyGranularity(getGranularity());
  if (isPerChannel())
    printer << "(axis = " << getAxis() << ")";
  if (isPerGroup())
    printer << "(axis = " << getAxis() << ", group_size = " << getGroupSize()
            << ")";
  printer << ", " << (getSymmetric() ? "symmetric" : "asymmetric");
  if (getNarrowRange())
    printer << ", narrow_range";
  if (getRounding() != RoundingMode::NearestEven)
    printer << ", rounding = " << stringifyRoundingMode(getRounding());
  printer << ">";
}

//===----------------------------------------------------------------------===//
// Constants
//===----------------------------------------------------------------------===//

/// The values of an integer constant (dense or dense_resource), sign-extended.
std::optional<std::vector<int64_t>> qopt::readIntConstant(Value v) {
  ElementsAttr attr;
  if (!matchPattern(v, m_Constant(&attr)))
    return std::nullopt;
  auto type = cast<ShapedType>(attr.getType());
  auto intType = dyn_cast<IntegerType>(type.getElementType());
  if (!intType)
    return std::nullopt;
  std::vector<int64_t> out;
  out.reserve(type.getNumElements());
  if (auto dense = dyn_cast<DenseIntElementsAttr>(attr)) {
    for (APInt x : dense.getValues<APInt>())
      out.push_back(x.getSExtValue());
    return out;
  }
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(attr)) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob)
      return std::nullopt;
    ArrayRef<char> data = blob->getData();
    unsigned bytes = (intType.getWidth() + 7) / 8;
    if (data.size() != static_cast<size_t>(type.getNumElements()) * bytes)
      return std::nullopt;
    for (int64_t i = 0; i < type.getNumElements(); ++i) {
      int64_t x = 0;
      std::memcpy(&x, data.data() + i * bytes, bytes);
      unsigned shift = 64 - 8 * bytes;
      out.push_back(shift ? (x << shift) >> shift : x);
    }
    return out;
  }
  return std::nullopt;
}
