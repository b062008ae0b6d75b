//===- Npz.h - NumPy .npy / .npz arrays --------------------------*- C++
//-*-===//
//
// Reads and writes NumPy's array files, the format calibration inputs and
// calibration statistics travel in: users make them with np.savez, and read
// qcc's statistics back with np.load. Reading handles stored and deflated
// (np.savez_compressed) members and Zip64; writing stores members
// uncompressed.
//
//===----------------------------------------------------------------------===//

#ifndef QOPT_QUANT_NPZ_H
#define QOPT_QUANT_NPZ_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace qopt::npz {

/// Element types, named as NumPy's descr without the byte order.
enum class DType { F16, F32, F64, I8, I16, I32, I64, U8, U16, U32, U64, Bool };

/// The NumPy name of a dtype ("float32", ...).
const char *dtypeName(DType type);
/// Bytes per element.
size_t dtypeSize(DType type);

/// One array: C-order data of `shape` (little-endian), as raw bytes.
struct Array {
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::vector<char> data;

  int64_t numElements() const;
  /// The elements converted to float (any numeric dtype).
  std::vector<float> toFloat() const;
  /// The elements converted to double (any numeric dtype).
  std::vector<double> toDouble() const;

  static Array fromFloat(std::vector<int64_t> shape,
                         const std::vector<float> &values);
  static Array fromDouble(std::vector<int64_t> shape,
                          const std::vector<double> &values);
  static Array fromInt64(std::vector<int64_t> shape,
                         const std::vector<int64_t> &values);
  static Array fromInt32(std::vector<int64_t> shape,
                         const std::vector<int32_t> &values);
};

/// A named array, as in an .npz file (the name without ".npy").
struct NamedArray {
  std::string name;
  Array array;
};

/// Parses one .npy image.
llvm::Expected<Array> parseNpy(llvm::StringRef bytes);
/// Serializes one array as .npy (format 1.0, or 2.0 for long headers).
std::string writeNpy(const Array &array);

/// Reads every array of an .npz file, in file order.
llvm::Expected<std::vector<NamedArray>> readNpz(llvm::StringRef path);
/// Reads an .npz or a single .npy (named after the file's stem).
llvm::Expected<std::vector<NamedArray>> readArrays(llvm::StringRef path);
/// Writes an .npz (stored members) atomically: a temporary file renamed
/// into place, so a failure leaves no partial file.
llvm::Error writeNpz(llvm::StringRef path,
                     const std::vector<NamedArray> &arrays);

} // namespace qopt::npz

#endif // QOPT_QUANT_NPZ_H
