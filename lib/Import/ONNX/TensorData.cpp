//===- TensorData.cpp - ONNX data types and tensor decoding ---------------===//

#include "Importer.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <cstring>

using namespace mlir;
using namespace qopt::onnx_import;

//===----------------------------------------------------------------------===//
// Data types
//===----------------------------------------------------------------------===//

const char *qopt::onnx_import::dtypeName(int32_t dtype) {
  switch (dtype) {
  case kFloat:
    return "float32";
  case kUInt8:
    return "uint8";
  case kInt8:
    return "int8";
  case kUInt16:
    return "uint16";
  case kInt16:
    return "int16";
  case kInt32:
    return "int32";
  case kInt64:
    return "int64";
  case kString:
    return "string";
  case kBool:
    return "bool";
  case kFloat16:
    return "float16";
  case kDouble:
    return "float64";
  case kUInt32:
    return "uint32";
  case kUInt64:
    return "uint64";
  case kBFloat16:
    return "bfloat16";
  case kUInt4:
    return "uint4";
  case kInt4:
    return "int4";
  case 14:
    return "complex64";
  case 15:
    return "complex128";
  case 17:
  case 18:
  case 19:
  case 20:
    return "float8";
  default:
    return "unknown";
  }
}

bool qopt::onnx_import::isFloatDType(int32_t dtype) {
  return dtype == kFloat || dtype == kFloat16 || dtype == kDouble ||
         dtype == kBFloat16;
}

bool qopt::onnx_import::isUnsignedDType(int32_t dtype) {
  return dtype == kUInt8 || dtype == kUInt16 || dtype == kUInt32 ||
         dtype == kUInt64 || dtype == kUInt4;
}

bool qopt::onnx_import::isIntDType(int32_t dtype) {
  switch (dtype) {
  case kUInt8:
  case kInt8:
  case kUInt16:
  case kInt16:
  case kInt32:
  case kInt64:
  case kUInt32:
  case kUInt64:
  case kUInt4:
  case kInt4:
    return true;
  default:
    return false;
  }
}

unsigned qopt::onnx_import::dtypeBits(int32_t dtype) {
  switch (dtype) {
  case kBool:
    return 1;
  case kUInt4:
  case kInt4:
    return 4;
  case kUInt8:
  case kInt8:
    return 8;
  case kUInt16:
  case kInt16:
  case kFloat16:
  case kBFloat16:
    return 16;
  case kFloat:
  case kInt32:
  case kUInt32:
    return 32;
  case kInt64:
  case kUInt64:
  case kDouble:
    return 64;
  default:
    return 0;
  }
}

unsigned qopt::onnx_import::dtypeStorageBytes(int32_t dtype) {
  unsigned bits = dtypeBits(dtype);
  return bits <= 8 ? (bits ? 1 : 0) : bits / 8;
}

Type qopt::onnx_import::dtypeToType(MLIRContext *ctx, int32_t dtype) {
  Builder b(ctx);
  switch (dtype) {
  case kFloat:
    return b.getF32Type();
  case kFloat16:
    return b.getF16Type();
  case kBFloat16:
    return b.getBF16Type();
  case kDouble:
    return b.getF64Type();
  case kBool:
    return b.getI1Type();
  case kUInt4:
  case kInt4:
  case kUInt8:
  case kInt8:
    return b.getIntegerType(8);
  case kUInt16:
  case kInt16:
    return b.getIntegerType(16);
  case kUInt32:
  case kInt32:
    return b.getIntegerType(32);
  case kUInt64:
  case kInt64:
    return b.getIntegerType(64);
  default:
    return {};
  }
}

int32_t qopt::onnx_import::typeToDType(Type type) {
  if (type.isF32())
    return kFloat;
  if (type.isF16())
    return kFloat16;
  if (type.isBF16())
    return kBFloat16;
  if (type.isF64())
    return kDouble;
  if (type.isInteger(1))
    return kBool;
  if (type.isInteger(8))
    return kInt8;
  if (type.isInteger(16))
    return kInt16;
  if (type.isInteger(32))
    return kInt32;
  if (type.isInteger(64) || type.isIndex())
    return kInt64;
  return kUndefined;
}

//===----------------------------------------------------------------------===//
// Model context
//===----------------------------------------------------------------------===//

Location ModelContext::fileLoc() const {
  return FileLineColLoc::get(context, path, 0, 0);
}

llvm::StringRef qopt::onnx_import::canonicalDomain(llvm::StringRef domain) {
  if (domain == "ai.onnx")
    return "";
  if (domain == "finn.custom_op.general" || domain == "onnx.brevitas" ||
      domain == "qonnx.custom_op.general")
    return "qonnx.custom_op.general";
  return domain;
}

std::optional<int64_t> ModelContext::opsetFor(llvm::StringRef domain) const {
  auto it = opsets.find(canonicalDomain(domain));
  if (it == opsets.end())
    return std::nullopt;
  return it->second;
}

//===----------------------------------------------------------------------===//
// Tensor decoding
//===----------------------------------------------------------------------===//

// Far more elements than any model this machine could hold: a larger count is
// a corrupt or hostile file, not a model.
static constexpr int64_t kMaxElements = int64_t(1) << 40;

FailureOr<int64_t> qopt::onnx_import::checkedElementCount(ArrayRef<int64_t> dims,
                                                          ErrorFn emitError) {
  int64_t count = 1;
  for (int64_t d : dims) {
    if (d < 0)
      return emitError() << "negative dimension " << d;
    if (d != 0 && count > kMaxElements / d)
      return emitError() << "absurd tensor size: more than 2^40 elements";
    count *= d;
  }
  return count;
}

std::vector<int64_t> DecodedTensor::toInts() const {
  if (isFloatDType(dtype)) {
    std::vector<double> doubles = toDoubles();
    return std::vector<int64_t>(doubles.begin(), doubles.end());
  }
  std::vector<int64_t> out(numElements);
  for (int64_t i = 0; i < numElements; ++i) {
    const char *p = blob.getData().data() + i * dtypeStorageBytes(dtype);
    switch (dtype) {
    case kBool:
    case kUInt8:
    case kUInt4:
      out[i] = *reinterpret_cast<const uint8_t *>(p);
      break;
    case kInt8:
    case kInt4:
      out[i] = *reinterpret_cast<const int8_t *>(p);
      break;
    case kUInt16:
      out[i] = *reinterpret_cast<const uint16_t *>(p);
      break;
    case kInt16:
      out[i] = *reinterpret_cast<const int16_t *>(p);
      break;
    case kInt32:
      out[i] = *reinterpret_cast<const int32_t *>(p);
      break;
    case kUInt32:
      out[i] = *reinterpret_cast<const uint32_t *>(p);
      break;
    case kInt64:
    case kUInt64:
      std::memcpy(&out[i], p, 8);
      break;
    }
  }
  return out;
}

static float halfToFloat(uint16_t h) {
  return llvm::APFloat(llvm::APFloat::IEEEhalf(), llvm::APInt(16, h))
      .convertToFloat();
}

static float bfloatToFloat(uint16_t h) {
  uint32_t bits = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

std::vector<double> DecodedTensor::toDoubles() const {
  if (!isFloatDType(dtype)) {
    std::vector<int64_t> ints = toInts();
    return std::vector<double>(ints.begin(), ints.end());
  }
  std::vector<double> out(numElements);
  const char *base = blob.getData().data();
  for (int64_t i = 0; i < numElements; ++i) {
    switch (dtype) {
    case kFloat:
      out[i] = reinterpret_cast<const float *>(base)[i];
      break;
    case kDouble:
      out[i] = reinterpret_cast<const double *>(base)[i];
      break;
    case kFloat16:
      out[i] = halfToFloat(reinterpret_cast<const uint16_t *>(base)[i]);
      break;
    case kBFloat16:
      out[i] = bfloatToFloat(reinterpret_cast<const uint16_t *>(base)[i]);
      break;
    }
  }
  return out;
}

FailureOr<ExternalData>
qopt::onnx_import::resolveExternalData(const onnx::TensorProto &tensor,
                                       const ModelContext &model,
                                       uint64_t expectedBytes,
                                       ErrorFn emitError) {
  std::string location;
  std::optional<uint64_t> offset, length;
  for (const auto &entry : tensor.external_data()) {
    const std::string &key = entry.key();
    if (key == "location") {
      location = entry.value();
      continue;
    }
    if (key != "offset" && key != "length")
      continue;
    uint64_t v;
    if (llvm::StringRef(entry.value()).getAsInteger(10, v))
      return emitError() << "external data " << key << " '" << entry.value()
                         << "' of tensor '" << tensor.name()
                         << "' is not a non-negative integer";
    (key == "offset" ? offset : length) = v;
  }
  if (location.empty())
    return emitError() << "external data of tensor '" << tensor.name()
                       << "' has no location";
  if (llvm::sys::path::is_absolute(location) ||
      llvm::StringRef(location).contains('\0'))
    return emitError() << "external data location '" << location
                       << "' of tensor '" << tensor.name()
                       << "' must be a path relative to the model's folder";
  for (auto it = llvm::sys::path::begin(location),
            end = llvm::sys::path::end(location);
       it != end; ++it)
    if (*it == "..")
      return emitError() << "external data location '" << location
                         << "' of tensor '" << tensor.name()
                         << "' escapes the model's folder";
  llvm::SmallString<256> fullPath(model.directory);
  llvm::sys::path::append(fullPath, location);
  // Symbolic links could still lead outside: compare real paths.
  llvm::SmallString<256> realDir, realFile;
  if (llvm::sys::fs::real_path(fullPath, realFile))
    return emitError() << "external data file '" << fullPath
                       << "' of tensor '" << tensor.name()
                       << "' cannot be opened";
  if (!llvm::sys::fs::real_path(model.directory.empty() ? "." : model.directory,
                                realDir)) {
    llvm::StringRef file(realFile), dir(realDir);
    if (!file.starts_with(dir) || file.size() <= dir.size() ||
        !llvm::sys::path::is_separator(file[dir.size()]))
      return emitError() << "external data location '" << location
                         << "' of tensor '" << tensor.name()
                         << "' resolves outside the model's folder";
  }
  uint64_t fileSize;
  if (llvm::sys::fs::file_size(realFile, fileSize))
    return emitError() << "external data file '" << fullPath
                       << "' cannot be read";
  uint64_t start = offset.value_or(0);
  if (start > fileSize)
    return emitError() << "external data offset " << start << " of tensor '"
                       << tensor.name() << "' is beyond the end of '"
                       << location << "' (" << fileSize << " bytes)";
  uint64_t size = length.value_or(expectedBytes);
  if (size != expectedBytes)
    return emitError() << "external data length " << size << " of tensor '"
                       << tensor.name() << "' does not match its shape ("
                       << expectedBytes << " bytes expected)";
  if (size > fileSize - start)
    return emitError() << "external data of tensor '" << tensor.name()
                       << "' (offset " << start << ", length " << size
                       << ") runs past the end of '" << location << "' ("
                       << fileSize << " bytes)";
  return ExternalData{std::string(realFile), start, size};
}

/// Reads the bytes of an external-data tensor (checked by
/// resolveExternalData).
static LogicalResult readExternalData(const onnx::TensorProto &tensor,
                                      const ModelContext &model,
                                      uint64_t expectedBytes,
                                      std::string &bytes, ErrorFn emitError) {
  FailureOr<ExternalData> ext =
      resolveExternalData(tensor, model, expectedBytes, emitError);
  if (failed(ext))
    return failure();
  auto buffer =
      llvm::MemoryBuffer::getFileSlice(ext->path, ext->length, ext->offset);
  if (!buffer)
    return emitError() << "external data file '" << ext->path
                       << "' cannot be read: " << buffer.getError().message();
  bytes.assign((*buffer)->getBufferStart(), (*buffer)->getBufferSize());
  return success();
}

/// Bytes of the stored (possibly packed) form of `count` elements.
uint64_t qopt::onnx_import::packedBytes(int32_t dtype, int64_t count) {
  if (dtype == kInt4 || dtype == kUInt4)
    return (static_cast<uint64_t>(count) + 1) / 2;
  return static_cast<uint64_t>(count) * dtypeStorageBytes(dtype);
}

/// Expands packed 4-bit pairs (low nibble first) to a byte per value.
static void unpackNibbles(const uint8_t *packed, int64_t count, bool isSigned,
                          char *out) {
  for (int64_t i = 0; i < count; ++i) {
    uint8_t nibble = (packed[i / 2] >> ((i % 2) * 4)) & 0xF;
    int v = nibble;
    if (isSigned && (nibble & 0x8))
      v -= 16;
    out[i] = static_cast<char>(v);
  }
}

FailureOr<DecodedTensor>
qopt::onnx_import::decodeTensor(const onnx::TensorProto &tensor,
                                const ModelContext &model, ErrorFn emitError) {
  DecodedTensor result;
  result.dtype = tensor.data_type();
  if (!dtypeToType(model.context, result.dtype))
    return emitError() << "tensor '" << tensor.name() << "' has data type "
                       << dtypeName(result.dtype) << " (" << result.dtype
                       << "), which qopt does not support";
  if (tensor.has_segment())
    return emitError() << "tensor '" << tensor.name()
                       << "' is segmented, which qopt does not support";
  result.shape.assign(tensor.dims().begin(), tensor.dims().end());
  FailureOr<int64_t> count = checkedElementCount(result.shape, [&] {
    return emitError() << "tensor '" << tensor.name() << "': ";
  });
  if (failed(count))
    return failure();
  result.numElements = *count;
  int32_t dtype = result.dtype;
  unsigned elemBytes = dtypeStorageBytes(dtype);
  result.blob = HeapAsmResourceBlob::allocate(
      std::max<uint64_t>(1, *count * elemBytes), std::max(elemBytes, 1u));
  char *out = result.blob.getMutableData().data();

  auto sizeError = [&](int64_t found) {
    return emitError() << "tensor '" << tensor.name() << "' holds " << found
                       << " values but its shape "
                       << "needs " << *count;
  };
  auto copyRaw = [&](llvm::StringRef raw) -> LogicalResult {
    uint64_t expected = packedBytes(dtype, *count);
    if (raw.size() != expected)
      return emitError() << "tensor '" << tensor.name() << "' has "
                         << raw.size() << " bytes of data but its shape and "
                         << "type need " << expected;
    if (dtype == kInt4 || dtype == kUInt4)
      unpackNibbles(reinterpret_cast<const uint8_t *>(raw.data()), *count,
                    dtype == kInt4, out);
    else if (!raw.empty())
      std::memcpy(out, raw.data(), raw.size());
    return success();
  };

  if (tensor.data_location() == onnx::TensorProto::EXTERNAL) {
    std::string bytes;
    if (failed(readExternalData(tensor, model, packedBytes(dtype, *count),
                                bytes, emitError)))
      return failure();
    if (failed(copyRaw(bytes)))
      return failure();
    return result;
  }
  if (tensor.has_raw_data()) {
    if (failed(copyRaw(tensor.raw_data())))
      return failure();
    return result;
  }

  switch (dtype) {
  case kFloat:
    if (tensor.float_data_size() != *count)
      return sizeError(tensor.float_data_size());
    std::memcpy(out, tensor.float_data().data(), *count * 4);
    break;
  case kDouble:
    if (tensor.double_data_size() != *count)
      return sizeError(tensor.double_data_size());
    std::memcpy(out, tensor.double_data().data(), *count * 8);
    break;
  case kInt64:
    if (tensor.int64_data_size() != *count)
      return sizeError(tensor.int64_data_size());
    std::memcpy(out, tensor.int64_data().data(), *count * 8);
    break;
  case kUInt32:
  case kUInt64:
    if (tensor.uint64_data_size() != *count)
      return sizeError(tensor.uint64_data_size());
    for (int64_t i = 0; i < *count; ++i) {
      uint64_t v = tensor.uint64_data(i);
      std::memcpy(out + i * elemBytes, &v, elemBytes);
    }
    break;
  case kInt4:
  case kUInt4: {
    // Each int32 holds one byte: two packed 4-bit values.
    int64_t words = (*count + 1) / 2;
    if (tensor.int32_data_size() != words)
      return sizeError(tensor.int32_data_size() * 2);
    std::vector<uint8_t> packed(words);
    for (int64_t i = 0; i < words; ++i)
      packed[i] = static_cast<uint8_t>(tensor.int32_data(i));
    unpackNibbles(packed.data(), *count, dtype == kInt4, out);
    break;
  }
  default:
    // int8/uint8/int16/uint16/int32/bool/float16/bfloat16: one int32 each,
    // half floats as their bit pattern.
    if (tensor.int32_data_size() != *count)
      return sizeError(tensor.int32_data_size());
    for (int64_t i = 0; i < *count; ++i) {
      int32_t v = tensor.int32_data(i);
      std::memcpy(out + i * elemBytes, &v, elemBytes); // little-endian
    }
    break;
  }
  return result;
}
